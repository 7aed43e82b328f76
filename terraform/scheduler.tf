# Generators: Cloud Scheduler runs each job through the Cloud Run Admin API. Google APIs take
# OAuth access tokens, so these calls carry oauth_token (the scheduler account holds
# run.invoker on each job, nothing more).
resource "google_cloud_scheduler_job" "generator" {
  for_each         = local.generators
  name             = "${local.prefix}-generate-${each.key}"
  region           = var.region
  schedule         = each.value.schedule
  time_zone        = var.timezone
  attempt_deadline = "60s" # the API call returns once the execution has started

  retry_config {
    retry_count = 1
  }

  http_target {
    http_method = "POST"
    uri         = "https://run.googleapis.com/v2/projects/${var.project_id}/locations/${var.region}/jobs/${google_cloud_run_v2_job.generator[each.key].name}:run"

    oauth_token {
      service_account_email = google_service_account.this["scheduler"].email
      scope                 = "https://www.googleapis.com/auth/cloud-platform"
    }
  }
}

# The daily run: POST /runs without a date means yesterday in WINTERDAYS_TIMEZONE. Our own
# service takes an OIDC identity token whose audience is the service URL.
resource "google_cloud_scheduler_job" "orchestrator" {
  name      = "${local.prefix}-daily-run"
  region    = var.region
  schedule  = local.orchestrator_schedule
  time_zone = var.timezone
  # Scheduler's longest deadline; the service answers 202 before it (WINTERDAYS_REQUEST_DEADLINE_S)
  # and a longer run goes on, recorded in the run ledger.
  attempt_deadline = "1800s"

  # Retries are safe: a retry after a success gets that run back, after a failure resumes it
  # from the failed step, during a run gets 409. The first backoff outlasts the lease TTL, so a
  # run whose instance died is taken over rather than answered with 409.
  retry_config {
    retry_count          = 2
    min_backoff_duration = "${local.lease_ttl_s * 2}s"
    max_backoff_duration = "900s"
  }

  http_target {
    http_method = "POST"
    uri         = "${local.service_url}/runs"
    body        = base64encode("{}")
    headers = {
      "Content-Type" = "application/json"
    }

    oidc_token {
      service_account_email = google_service_account.this["scheduler"].email
      audience              = local.service_url
    }
  }

  depends_on = [google_cloud_run_v2_service_iam_member.grants]
}
