# Service accounts and every role they hold. Roles come only from local.iam_matrix (locals.tf):
# each resource below grants one kind of place, so a grant cannot exist outside the matrix.

resource "google_service_account" "this" {
  for_each     = local.service_accounts
  account_id   = "${local.prefix}-${each.key}"
  display_name = "${local.prefix} ${each.key}"
  description  = each.value
  depends_on   = [google_project_service.enabled]
}

resource "google_project_iam_member" "grants" {
  for_each   = { for g in local.iam_grants : "${g.account} ${g.role}" => g if g.kind == "project" }
  project    = var.project_id
  role       = each.value.role
  member     = "serviceAccount:${google_service_account.this[each.value.account].email}"
  depends_on = [google_project_iam_custom_role.pipeline_submitter]
}

resource "google_project_iam_custom_role" "pipeline_submitter" {
  project     = var.project_id
  role_id     = local.pipeline_submitter_role_id
  title       = "${local.prefix} pipeline submitter"
  description = "Submit and poll Vertex AI pipeline jobs (the orchestrator's churn step)"
  permissions = local.pipeline_submitter_permissions
  depends_on  = [google_project_service.enabled]
}

resource "google_storage_bucket_iam_member" "grants" {
  for_each = { for g in local.iam_grants : "${g.account} ${g.target} ${g.role}" => g if g.kind == "bucket" }
  bucket   = local.buckets[each.value.target]
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

# Grants on one prefix of the bronze bucket (uniform access makes IAM conditions possible).
# Listing is authorised on the bucket, so the condition also admits lists of that prefix.
resource "google_storage_bucket_iam_member" "prefix_grants" {
  for_each = { for g in local.iam_grants : "${g.account} ${g.target} ${g.role}" => g if g.kind == "bucket_prefix" }
  bucket   = google_storage_bucket.bronze.name
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.this[each.value.account].email}"

  condition {
    title       = "only ${local.bucket_prefixes[each.value.target]}"
    description = "Objects under ${local.bucket_prefixes[each.value.target]}/ only"
    expression  = "resource.name.startsWith(\"projects/_/buckets/${google_storage_bucket.bronze.name}/objects/${local.bucket_prefixes[each.value.target]}\") || api.getAttribute(\"storage.googleapis.com/objectListPrefix\", \"\").startsWith(\"${local.bucket_prefixes[each.value.target]}\")"
  }
}

resource "google_bigquery_dataset_iam_member" "grants" {
  for_each   = { for g in local.iam_grants : "${g.account} ${g.target} ${g.role}" => g if g.kind == "dataset" }
  dataset_id = google_bigquery_dataset.layers[each.value.target].dataset_id
  role       = each.value.role
  member     = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

resource "google_secret_manager_secret_iam_member" "grants" {
  for_each  = { for g in local.iam_grants : "${g.account} ${g.role}" => g if g.kind == "secret" }
  secret_id = google_secret_manager_secret.pii_key.id
  role      = each.value.role
  member    = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

# Binding on the target service account itself: the orchestrator may act as exactly these
# accounts (the resource is the condition), not as every account in the project.
resource "google_service_account_iam_member" "grants" {
  for_each           = { for g in local.iam_grants : "${g.account} ${g.target} ${g.role}" => g if g.kind == "service_account" }
  service_account_id = google_service_account.this[each.value.target].name
  role               = each.value.role
  member             = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

resource "google_dataform_repository_iam_member" "grants" {
  provider   = google-beta
  for_each   = { for g in local.iam_grants : "${g.account} ${g.target} ${g.role}" => g if g.kind == "dataform_repository" }
  project    = var.project_id
  region     = var.region
  repository = google_dataform_repository.transform.name
  role       = each.value.role
  member     = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

resource "google_artifact_registry_repository_iam_member" "grants" {
  for_each   = { for g in local.iam_grants : "${g.account} ${g.target} ${g.role}" => g if g.kind == "artifact_registry" }
  project    = var.project_id
  location   = var.region
  repository = google_artifact_registry_repository.images.name
  role       = each.value.role
  member     = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

resource "google_cloud_run_v2_job_iam_member" "grants" {
  for_each = { for g in local.iam_grants : "${g.account} ${g.target} ${g.role}" => g if g.kind == "run_job" }
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_job.generator[each.value.target].name
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

resource "google_cloud_run_v2_service_iam_member" "grants" {
  for_each = { for g in local.iam_grants : "${g.account} ${g.role}" => g if g.kind == "run_service" }
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.orchestrator.name
  role     = each.value.role
  member   = "serviceAccount:${google_service_account.this[each.value.account].email}"
}

# Not one of our accounts: Dataform's service agent mints tokens for the custom Dataform
# account it runs workflows as (required by Dataform for custom service accounts).
resource "google_project_service_identity" "dataform" {
  provider   = google-beta
  project    = var.project_id
  service    = "dataform.googleapis.com"
  depends_on = [google_project_service.enabled] # the identity exists once the API is enabled
}

resource "google_service_account_iam_member" "dataform_agent_token_creator" {
  service_account_id = google_service_account.this["dataform"].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_project_service_identity.dataform.email}"
}
