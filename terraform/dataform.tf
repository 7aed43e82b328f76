# The Dataform repository. It has no Git remote: `winterdays dataform push` creates the
# workspace (Terraform has no workspace resource) and writes dataform/ into it through the API;
# the orchestrator compiles that workspace and invokes the result for each run. No release or
# workflow config: they compile a Git commitish, which a repository without a remote has not, and
# without the run's vars (pii_key stays out of Terraform); a full refresh is a run with
# full_refresh (POST /runs, or `winterdays dataform run --full-refresh`).
resource "google_dataform_repository" "transform" {
  provider        = google-beta
  name            = local.prefix
  region          = var.region
  service_account = google_service_account.this["dataform"].email
  depends_on      = [google_project_service.enabled, google_service_account_iam_member.dataform_agent_token_creator]
}
