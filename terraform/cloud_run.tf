locals {
  # Settings every workload reads (lakehouse/settings.py).
  common_env = {
    WINTERDAYS_MODE              = "gcp"
    GOOGLE_CLOUD_PROJECT         = var.project_id
    WINTERDAYS_REGION            = var.region
    WINTERDAYS_TIMEZONE          = var.timezone
    WINTERDAYS_BRONZE_URI        = "gs://${google_storage_bucket.bronze.name}"
    WINTERDAYS_QUARANTINE_URI    = "gs://${google_storage_bucket.bronze.name}/_quarantine"
    WINTERDAYS_MLOPS_URI         = "gs://${google_storage_bucket.mlops.name}"
    WINTERDAYS_SALES_COLLECTION  = "winter_sales"
    WINTERDAYS_RUNS_COLLECTION   = "winter_runs"
    WINTERDAYS_STAGING_DATASET   = google_bigquery_dataset.layers["staging"].dataset_id
    WINTERDAYS_WAREHOUSE_DATASET = google_bigquery_dataset.layers["warehouse"].dataset_id
    WINTERDAYS_BIGQUERY_LOCATION = var.bigquery_location # Dataform compiles for the datasets' location
    WINTERDAYS_SEED              = tostring(var.seed)
  }

  generator_env = {
    WINTERDAYS_CUSTOMERS      = tostring(var.generator_volumes.customers)
    WINTERDAYS_EVENTS_PER_DAY = tostring(var.generator_volumes.events_per_day)
    WINTERDAYS_STARTUPS       = tostring(var.generator_volumes.startups)
    # A share of malformed sales and events, so the export's quarantine and silver's filters
    # have work in the cloud too (0 turns it off).
    WINTERDAYS_BAD_RATIO = tostring(var.generator_volumes.bad_ratio)
  }

  orchestrator_env = {
    WINTERDAYS_REJECT_THRESHOLD         = tostring(var.reject_threshold)
    WINTERDAYS_DATAFORM_REPOSITORY      = google_dataform_repository.transform.id
    WINTERDAYS_DATAFORM_WORKSPACE       = "default"
    WINTERDAYS_DATAFORM_SERVICE_ACCOUNT = google_service_account.this["dataform"].email
    WINTERDAYS_PIPELINE_ROOT            = local.pipeline_root
    WINTERDAYS_PIPELINE_SERVICE_ACCOUNT = google_service_account.this["pipeline"].email
    WINTERDAYS_IMAGE                    = local.image
    WINTERDAYS_OIDC_AUDIENCE            = local.service_url
    WINTERDAYS_ALLOWED_INVOKERS         = google_service_account.this["scheduler"].email
    # The service requires run.invoker (no allUsers binding): Cloud Run IAM verifies each token's
    # signature and replaces it with SIGNATURE_REMOVED_BY_GOOGLE; the service checks the claims.
    WINTERDAYS_OIDC_VERIFY       = "iam"
    WINTERDAYS_LEASES_COLLECTION = "winter_leases"
    WINTERDAYS_LEASE_TTL_S       = tostring(local.lease_ttl_s)
    # sync: the scheduler gets the run's real 200/500 when it ends within the deadline, which
    # stays under the scheduler's 1800 s attempt deadline so a long run answers 202 first.
    WINTERDAYS_RUN_MODE           = "sync"
    WINTERDAYS_REQUEST_DEADLINE_S = "1500"
    WINTERDAYS_CHURN_MIN_AUC      = tostring(var.churn_gate.min_auc)
    WINTERDAYS_CHURN_MAX_AUC_DROP = tostring(var.churn_gate.max_auc_drop)
  }

  # A dead run's lease expires after this; the scheduler's retry waits longer (scheduler.tf).
  lease_ttl_s = 60
}

# The orchestrator: gunicorn serving orchestrator.app (the image's default command).
resource "google_cloud_run_v2_service" "orchestrator" {
  name                = local.service_name
  location            = var.region
  ingress             = "INGRESS_TRAFFIC_ALL" # Cloud Scheduler calls from outside any VPC; IAM guards it
  deletion_protection = var.deletion_protection

  template {
    service_account                  = google_service_account.this["orchestrator"].email
    timeout                          = "3600s" # a run is one request: export, Dataform, Vertex submit
    max_instance_request_concurrency = 4       # gunicorn: 1 worker, 4 threads

    scaling {
      min_instance_count = 0
      max_instance_count = 2
    }

    containers {
      image = local.image

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = "1"
          memory = "2Gi"
        }
        # Instance-based billing: a run that answered 202 at the deadline goes on in its
        # thread, which request-based billing would throttle once the response is sent.
        cpu_idle = false
      }

      dynamic "env" {
        for_each = merge(local.common_env, local.orchestrator_env)
        content {
          name  = env.key
          value = env.value
        }
      }

      env {
        name = "WINTERDAYS_PII_KEY"
        value_source {
          secret_key_ref {
            secret  = google_secret_manager_secret.pii_key.secret_id
            version = "latest"
          }
        }
      }
    }
  }

  depends_on = [google_secret_manager_secret_version.pii_key, google_secret_manager_secret_iam_member.grants]
}

# The generators: `winterdays generate SOURCE` for yesterday (WINTERDAYS_DATE overrides),
# sharded over CLOUD_RUN_TASK_INDEX/COUNT.
resource "google_cloud_run_v2_job" "generator" {
  for_each            = local.generators
  name                = "${local.prefix}-generate-${each.key}"
  location            = var.region
  deletion_protection = var.deletion_protection

  template {
    task_count  = each.value.tasks
    parallelism = each.value.tasks

    template {
      service_account = google_service_account.this[each.key].email
      timeout         = "3600s"
      max_retries     = 1 # safe: a generator replaces its partition

      containers {
        image   = local.image
        command = ["winterdays"]
        args    = ["generate", each.key]

        resources {
          limits = {
            cpu    = "1"
            memory = "2Gi"
          }
        }

        dynamic "env" {
          for_each = merge(local.common_env, local.generator_env)
          content {
            name  = env.key
            value = env.value
          }
        }

        dynamic "env" {
          for_each = each.value.uses_pii ? ["WINTERDAYS_PII_KEY"] : []
          content {
            name = env.value
            value_source {
              secret_key_ref {
                secret  = google_secret_manager_secret.pii_key.secret_id
                version = "latest"
              }
            }
          }
        }
      }
    }
  }

  depends_on = [google_secret_manager_secret_version.pii_key, google_secret_manager_secret_iam_member.grants]
}
