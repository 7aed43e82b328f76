# The Dataform repository. It has no Git remote: `winterdays dataform push` creates the
# workspace (Terraform has no workspace resource) and writes dataform/ into it through the API;
# the orchestrator compiles that workspace and invokes the result for each run.
resource "google_dataform_repository" "transform" {
  provider        = google-beta
  name            = local.prefix
  region          = var.region
  service_account = google_service_account.this["dataform"].email
  depends_on      = [google_project_service.enabled, google_service_account_iam_member.dataform_agent_token_creator]
}

# A release compiles `git_commitish` of the repository's Git remote, for teams that connect
# one (git_remote_settings); the orchestrator does not use it: it compiles the workspace
# with the run's vars. The pseudonymisation key is no var: the hashing SQL reads it from
# winter_days_secrets.pii_key, which the orchestrator loads from Secret Manager before each
# invocation (lakehouse/pii.py), so no compilation result or job text holds it.
resource "google_dataform_repository_release_config" "main" {
  provider   = google-beta
  project    = var.project_id
  region     = var.region
  repository = google_dataform_repository.transform.name

  name          = "main"
  git_commitish = "default"
  time_zone     = var.timezone

  code_compilation_config {
    default_database = var.project_id
    default_schema   = local.datasets.staging
    default_location = var.bigquery_location
    assertion_schema = local.datasets.assertions
    vars = {
      bronze_uri = "gs://${google_storage_bucket.bronze.name}"
    }
  }
}

# A full refresh on demand (console or API), as the same identity as the orchestrator's
# invocations. Unscheduled by default: the orchestrator is the scheduler, because a run
# must export Firestore first and train after; a second schedule would race with it.
resource "google_dataform_repository_workflow_config" "full_refresh" {
  provider       = google-beta
  project        = var.project_id
  region         = var.region
  repository     = google_dataform_repository.transform.name
  name           = "full-refresh"
  release_config = google_dataform_repository_release_config.main.id
  cron_schedule  = var.dataform_schedule == "" ? null : var.dataform_schedule
  time_zone      = var.timezone

  invocation_config {
    transitive_dependencies_included         = true
    fully_refresh_incremental_tables_enabled = true
    service_account                          = google_service_account.this["dataform"].email
  }
}
