# Log-based metrics on the orchestrator's structured logs (lakehouse/logs.py: JSON lines,
# extra fields land in jsonPayload) to chart them, and an alert on each. The alerts match the log
# entries themselves (log-match conditions), not the metrics: an alert policy on a log-based metric
# created in the same apply fails with 404 until the metric has propagated.
locals {
  log_filter = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${local.service_name}\" AND severity=ERROR"
  log_alerts = {
    run_failed = {
      description = "A run of the daily pipeline failed"
      action      = "Run `winterdays status RUN_ID` (the run id is in the log line) to see which step failed and why, fix the cause, then run the same date again."
    }
    reject_ratio_exceeded = {
      description = "The sales export rejected more documents than WINTERDAYS_REJECT_THRESHOLD allows"
      action      = "Read the reasons in gs://BRONZE/_quarantine/sales/dt=DATE/rejects.jsonl, fix the source or the contract, then run the same date again."
    }
  }
}

resource "google_logging_metric" "events" {
  for_each    = local.log_alerts
  name        = "${local.prefix}-${replace(each.key, "_", "-")}"
  description = each.value.description
  filter      = "${local.log_filter} AND jsonPayload.event=\"${each.key}\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }

  depends_on = [google_project_service.enabled]
}

resource "google_monitoring_notification_channel" "email" {
  count        = var.alert_email == "" ? 0 : 1
  display_name = "${local.prefix} alerts"
  type         = "email"
  labels = {
    email_address = var.alert_email
  }
}

resource "google_monitoring_alert_policy" "events" {
  for_each              = local.log_alerts
  display_name          = "${local.prefix}: ${each.value.description}"
  combiner              = "OR"
  notification_channels = google_monitoring_notification_channel.email[*].id

  conditions {
    display_name = each.value.description

    condition_matched_log {
      filter = "${local.log_filter} AND jsonPayload.event=\"${each.key}\""
    }
  }

  alert_strategy {
    auto_close = "86400s"
    # log-match alerts notify at most once per period
    notification_rate_limit {
      period = "300s"
    }
  }

  documentation {
    content   = each.value.action
    mime_type = "text/markdown"
  }
}
