output "service_url" {
  description = "The orchestrator's URL (POST /runs, GET /runs/<id>, GET /healthz)."
  value       = google_cloud_run_v2_service.orchestrator.uri
}

output "bronze_bucket" {
  description = "The bronze bucket (WINTERDAYS_BRONZE_URI without gs://)."
  value       = google_storage_bucket.bronze.name
}

output "mlops_bucket" {
  description = "The pipelines' bucket: spec, pipeline root, model files (WINTERDAYS_MLOPS_URI without gs://)."
  value       = google_storage_bucket.mlops.name
}

output "build_bucket" {
  description = "Cloud Build's source uploads and logs (terraform/deploy.sh)."
  value       = google_storage_bucket.build.name
}

output "service_accounts" {
  description = "Email of each service account, by role in the platform."
  value       = { for key, account in google_service_account.this : key => account.email }
}

output "dataform_repository" {
  description = "Full name of the Dataform repository (WINTERDAYS_DATAFORM_REPOSITORY)."
  value       = google_dataform_repository.transform.id
}

output "image_repository" {
  description = "Where Cloud Build pushes the image: IMAGE_REPOSITORY/winter-days:TAG."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "generator_jobs" {
  description = "Cloud Run job name of each generator (gcloud run jobs execute NAME)."
  value       = { for key, job in google_cloud_run_v2_job.generator : key => job.name }
}

output "cli_environment" {
  description = "What `winterdays dataform push` and `winterdays mlops compile` need on an operator's machine."
  value = merge(local.common_env, {
    WINTERDAYS_DATAFORM_REPOSITORY      = google_dataform_repository.transform.id
    WINTERDAYS_DATAFORM_SERVICE_ACCOUNT = google_service_account.this["dataform"].email
    WINTERDAYS_PIPELINE_ROOT            = local.pipeline_root
    WINTERDAYS_PIPELINE_SERVICE_ACCOUNT = google_service_account.this["pipeline"].email
    WINTERDAYS_IMAGE                    = local.image
  })
}
