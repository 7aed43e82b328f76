# Bronze: immutable, date-partitioned raw data and the pipeline artifacts under mlops/.
resource "google_storage_bucket" "bronze" {
  name                        = local.bronze_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 90
    }
    action {
      type          = "SetStorageClass"
      storage_class = "COLDLINE"
    }
  }

  lifecycle_rule {
    condition {
      age = 365
    }
    action {
      type = "Delete"
    }
  }

  # Versioning keeps replaced partitions; keep those noncurrent versions for 30 days only.
  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# The generator's ground truth (what a real source never has), kept apart from bronze.
resource "google_storage_bucket" "oracle" {
  name                        = local.oracle_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 365
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# The pipelines' bucket: the compiled spec, Vertex AI's pipeline root and the model files. Its own
# bucket, so the pipeline identity holds storage.objectAdmin on all of it, without an IAM condition:
# Vertex AI checks storage.objects.get/create on the pipeline root's bucket.
resource "google_storage_bucket" "mlops" {
  name                        = local.mlops_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  # Each pipeline run's intermediate artifacts; the registered models (models/) are kept.
  lifecycle_rule {
    condition {
      age            = 30
      matches_prefix = ["pipeline_root/"]
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 30
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}

# Cloud Build's source uploads and build logs: a build run as a user-specified service account must
# log to Cloud Logging or to a bucket of ours (Cloud Build docs, "user-specified service accounts").
resource "google_storage_bucket" "build" {
  name                        = local.build_bucket
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      age = 30
    }
    action {
      type = "Delete"
    }
  }

  lifecycle_rule {
    condition {
      days_since_noncurrent_time = 7
      with_state                 = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }

  depends_on = [google_project_service.enabled]
}
