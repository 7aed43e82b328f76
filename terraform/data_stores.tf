# Sales documents and the run ledger (collections winter_sales, winter_runs).
resource "google_firestore_database" "default" {
  project                           = var.project_id
  name                              = "(default)"
  location_id                       = var.region
  type                              = "FIRESTORE_NATIVE"
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.deletion_protection ? "ABANDON" : "DELETE"
  depends_on                        = [google_project_service.enabled]
}

# Silver, gold and the Dataform assertions.
resource "google_bigquery_dataset" "layers" {
  for_each    = local.datasets
  dataset_id  = each.value
  location    = var.bigquery_location
  description = "winter-days ${each.key} layer"
  labels = {
    app         = var.name_prefix
    environment = var.environment
  }
  depends_on = [google_project_service.enabled]
}

# The pseudonymisation key. Terraform writes a random value once (write-only: never in the
# state or a plan); bump var.pii_key_version to write a new one.
resource "google_secret_manager_secret" "pii_key" {
  secret_id = "${local.prefix}-pii-key"

  replication {
    auto {}
  }

  depends_on = [google_project_service.enabled]
}

ephemeral "random_password" "pii_key" {
  length  = 48
  special = false
}

resource "google_secret_manager_secret_version" "pii_key" {
  secret                 = google_secret_manager_secret.pii_key.id
  secret_data_wo         = ephemeral.random_password.pii_key.result
  secret_data_wo_version = var.pii_key_version
}

# The one image repository; tags are immutable so a tag always names the same image.
resource "google_artifact_registry_repository" "images" {
  repository_id = local.prefix
  location      = var.region
  format        = "DOCKER"
  description   = "winter-days images"

  docker_config {
    immutable_tags = true
  }

  depends_on = [google_project_service.enabled]
}
