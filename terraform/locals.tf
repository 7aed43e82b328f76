data "google_project" "this" {
  project_id = var.project_id
}

locals {
  prefix = "${var.name_prefix}-${var.environment}"

  bronze_bucket = "${var.project_id}-${local.prefix}-bronze"
  # lakehouse.settings puts the generator's ground truth beside bronze, in "<bronze>-oracle".
  oracle_bucket = "${local.bronze_bucket}-oracle"
  mlops_prefix  = "mlops/"
  pipeline_root = "gs://${local.bronze_bucket}/${local.mlops_prefix}pipeline_root"

  # Dataset ids are fixed: the Dataform project and lakehouse.settings name them.
  datasets = {
    staging    = "winter_days_staging"
    warehouse  = "winter_days_warehouse"
    assertions = "winter_days_assertions"
    # One table, pii_key: the pseudonymisation key, loaded by the orchestrator from Secret Manager
    # before each invocation; only Dataform reads it (no reader of staging or gold can).
    secrets = "winter_days_secrets"
  }

  # The only image every workload runs: built by Cloud Build into this deployment's Artifact Registry.
  image = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}/winter-days:${var.image_tag}"

  service_name = "${local.prefix}-orchestrator"
  # Cloud Run's deterministic URL, known before the service exists: the service's own OIDC audience.
  service_url = "https://${local.service_name}-${data.google_project.this.number}.${var.region}.run.app"

  # The three generator jobs: the command each runs, its schedule, and its identity.
  generators = {
    sales = {
      schedule = "0 1 * * *" # daily
      tasks    = 1
      uses_pii = true
    }
    clickstream = {
      schedule = "0 1 * * *" # daily
      tasks    = var.generator_volumes.clickstream_tasks
      uses_pii = false
    }
    startups = {
      schedule = "0 1 * * 1" # weekly, Mondays
      tasks    = 1
      uses_pii = true
    }
  }
  orchestrator_schedule = "0 3 * * *" # daily, after the generators

  service_accounts = {
    scheduler    = "Cloud Scheduler: starts the generator jobs, calls the orchestrator"
    sales        = "Cloud Run job: sales generator (Firestore)"
    clickstream  = "Cloud Run job: clickstream generator (bronze)"
    startups     = "Cloud Run job: startups generator (bronze)"
    orchestrator = "Cloud Run service: the orchestrator"
    dataform     = "Dataform workflow invocations (BigQuery)"
    pipeline     = "Vertex AI Pipelines: the churn pipeline"
    pusher       = "Pub/Sub push subscriptions: the identity of their OIDC tokens"
  }

  # The least-privilege matrix: every role any of our service accounts holds, and where.
  # Keys are "kind:target"; each kind is granted by exactly one IAM resource in iam.tf.
  # tests/integration/test_infra_policy.py compares this to the expected matrix, and checks that no
  # IAM binding exists outside it.
  iam_matrix = {
    scheduler = {
      "run_job:sales"            = ["roles/run.invoker"]
      "run_job:clickstream"      = ["roles/run.invoker"]
      "run_job:startups"         = ["roles/run.invoker"]
      "run_service:orchestrator" = ["roles/run.invoker"]
    }
    sales = {
      "project:this" = ["roles/datastore.user"]
      # The generator writes its ground truth (churn probabilities) to the oracle bucket.
      "bucket:oracle"  = ["roles/storage.objectUser"]
      "secret:pii_key" = ["roles/secretmanager.secretAccessor"]
    }
    clickstream = {
      # objectCreator cannot overwrite or list: a re-run replaces its partition (create, list, delete).
      "bucket_prefix:clickstream" = ["roles/storage.objectUser"]
      # `generate clickstream --sink pubsub` publishes the events instead
      "topic:clickstream" = ["roles/pubsub.publisher"]
    }
    startups = {
      "bucket_prefix:startups" = ["roles/storage.objectUser"]
      "secret:pii_key"         = ["roles/secretmanager.secretAccessor"]
    }
    orchestrator = {
      "project:this" = ["roles/datastore.user", "roles/dataform.editor", "roles/aiplatform.user",
      "roles/bigquery.jobUser"]
      # Exports sales partitions and quarantine files, reads the pipeline spec under mlops/;
      # legacyBucketReader adds storage.buckets.get, which the Vertex SDK checks on the pipeline root.
      "bucket:bronze" = ["roles/storage.objectUser", "roles/storage.legacyBucketReader"]
      # Act as exactly the two identities it starts work as: Dataform invocations and Vertex pipelines.
      "service_account:dataform" = ["roles/iam.serviceAccountUser"]
      "service_account:pipeline" = ["roles/iam.serviceAccountUser"]
      # Loaded into the key table dataset:secrets (a load job: the key is in no SQL text).
      "secret:pii_key"  = ["roles/secretmanager.secretAccessor"]
      "dataset:secrets" = ["roles/bigquery.dataEditor"]
      # The clickstream subscriber (POST /events/clickstream) publishes what it refuses.
      "topic:clickstream_dead_letter" = ["roles/pubsub.publisher"]
    }
    dataform = {
      "project:this"       = ["roles/bigquery.jobUser"]
      "dataset:staging"    = ["roles/bigquery.dataEditor"]
      "dataset:warehouse"  = ["roles/bigquery.dataEditor"]
      "dataset:assertions" = ["roles/bigquery.dataEditor"]
      "dataset:secrets"    = ["roles/bigquery.dataViewer"]
      # External tables over bronze are read with the caller's credentials.
      "bucket:bronze" = ["roles/storage.objectViewer"]
    }
    pipeline = {
      # jobUser to run queries; aiplatform.user for the pipeline's ML Metadata records.
      "project:this"        = ["roles/bigquery.jobUser", "roles/aiplatform.user"]
      "dataset:warehouse"   = ["roles/bigquery.dataEditor"]
      "bucket_prefix:mlops" = ["roles/storage.objectAdmin"]
    }
    pusher = {
      # the push subscriptions call POST /events/clickstream and /events/gcs with its token
      "run_service:orchestrator" = ["roles/run.invoker"]
    }
  }

  # The matrix flattened: one element per (account, kind, target, role).
  iam_grants = flatten([
    for account, places in local.iam_matrix : [
      for place, roles in places : [
        for role in roles : {
          account = account
          kind    = split(":", place)[0]
          target  = split(":", place)[1]
          role    = role
        }
      ]
    ]
  ])

  # Object prefixes of the bronze bucket that "bucket_prefix" grants are limited to.
  bucket_prefixes = {
    clickstream = "clickstream"
    startups    = "startups"
    mlops       = trimsuffix(local.mlops_prefix, "/")
  }
}
