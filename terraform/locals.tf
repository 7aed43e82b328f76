data "google_project" "this" {
  project_id = var.project_id
}

locals {
  prefix = "${var.name_prefix}-${var.environment}"

  bronze_bucket = "${var.project_id}-${local.prefix}-bronze"
  # lakehouse.settings puts the generator's ground truth beside bronze, in "<bronze>-oracle", and the
  # pipelines (spec, pipeline root, model files) in "<bronze>-mlops": a bucket of their own, because
  # Vertex AI checks storage.objects.get/create on the pipeline root's whole bucket.
  oracle_bucket = "${local.bronze_bucket}-oracle"
  mlops_bucket  = "${local.bronze_bucket}-mlops"
  pipeline_root = "gs://${google_storage_bucket.mlops.name}/pipeline_root"
  # Cloud Build's source uploads and logs (a build run as our own service account logs to a bucket we own).
  build_bucket = "${var.project_id}-${local.prefix}-build"

  # The buckets "bucket:NAME" grants refer to.
  buckets = {
    bronze = google_storage_bucket.bronze.name
    oracle = google_storage_bucket.oracle.name
    mlops  = google_storage_bucket.mlops.name
    build  = google_storage_bucket.build.name
  }

  # What the orchestrator does on Vertex AI: submit the churn pipeline and poll it (Vertex AI's access
  # control page lists metadataStores.get as needed to create a pipeline job), nothing more.
  pipeline_submitter_role_id = "${replace(local.prefix, "-", "_")}_pipeline_submitter"
  pipeline_submitter_permissions = [
    "aiplatform.pipelineJobs.create",
    "aiplatform.pipelineJobs.get",
    "aiplatform.metadataStores.get",
  ]

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
    build        = "Cloud Build: builds the image and pushes it to Artifact Registry"
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
    }
    startups = {
      "bucket_prefix:startups" = ["roles/storage.objectUser"]
      "secret:pii_key"         = ["roles/secretmanager.secretAccessor"]
    }
    orchestrator = {
      # jobUser: the load job that writes the pseudonymisation key into its table (dataset:secrets).
      "project:this" = ["roles/datastore.user", "projects/${var.project_id}/roles/${local.pipeline_submitter_role_id}",
      "roles/bigquery.jobUser"]
      # Compiles and invokes in its own repository only (workspaces and results are its children).
      "dataform_repository:transform" = ["roles/dataform.editor"]
      # Exports sales partitions and quarantine files.
      "bucket:bronze" = ["roles/storage.objectUser"]
      # Reads the pipeline spec; legacyBucketReader adds storage.buckets.get, which the Vertex SDK
      # checks on the pipeline root's bucket before it submits.
      "bucket:mlops" = ["roles/storage.objectViewer", "roles/storage.legacyBucketReader"]
      # Act as exactly the two identities it starts work as: Dataform invocations and Vertex pipelines.
      "service_account:dataform" = ["roles/iam.serviceAccountUser"]
      "service_account:pipeline" = ["roles/iam.serviceAccountUser"]
      # Loaded into the key table dataset:secrets (a load job: the key is in no SQL text).
      "secret:pii_key"  = ["roles/secretmanager.secretAccessor"]
      "dataset:secrets" = ["roles/bigquery.dataEditor"]
    }
    dataform = {
      "project:this"       = ["roles/bigquery.jobUser"]
      "dataset:staging"    = ["roles/bigquery.dataEditor"]
      "dataset:warehouse"  = ["roles/bigquery.dataEditor"]
      "dataset:assertions" = ["roles/bigquery.dataEditor"]
      "dataset:secrets"    = ["roles/bigquery.dataViewer"]
      # External tables over the three sources are read with the caller's credentials; the
      # quarantine (_quarantine/, raw documents that broke the contract) is not among them.
      "bucket_prefix:sales"       = ["roles/storage.objectViewer"]
      "bucket_prefix:clickstream" = ["roles/storage.objectViewer"]
      "bucket_prefix:startups"    = ["roles/storage.objectViewer"]
    }
    pipeline = {
      # jobUser to run queries; aiplatform.user for the pipeline's ML Metadata and the Model Registry.
      "project:this"      = ["roles/bigquery.jobUser", "roles/aiplatform.user"]
      "dataset:warehouse" = ["roles/bigquery.dataEditor"]
      # Unconditional on its own bucket: Vertex checks storage.objects.get/create at bucket level.
      "bucket:mlops" = ["roles/storage.objectAdmin"]
    }
    build = {
      "artifact_registry:images" = ["roles/artifactregistry.writer"]
      # reads the uploaded source, writes the build's logs (terraform/deploy.sh: --gcs-log-dir)
      "bucket:build" = ["roles/storage.objectUser"]
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
    sales       = "sales"
    clickstream = "clickstream"
    startups    = "startups"
  }
}
