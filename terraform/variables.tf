variable "project_id" {
  description = "The Google Cloud project to deploy into."
  type        = string
}

variable "region" {
  description = "Region of every regional resource: Cloud Run, the bucket, BigQuery, Firestore, Dataform, Vertex AI."
  type        = string
  default     = "europe-west1"
}

variable "environment" {
  description = "Environment name (dev, prod, ...): part of every resource name."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,5}$", var.environment))
    error_message = "environment: 1-6 lowercase letters or digits, starting with a letter (it is part of service account ids, which have at most 30 characters)."
  }

  # Service account ids are "<name_prefix>-<environment>-<role>", at most 30 characters; the longest
  # role is "orchestrator" (locals.tf).
  validation {
    condition     = length("${var.name_prefix}-${var.environment}-orchestrator") <= 30
    error_message = "name_prefix and environment together: at most 16 characters, since the service account id \"<name_prefix>-<environment>-orchestrator\" may have 30."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name."
  type        = string
  default     = "winter-days"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,9}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix: 2-11 lowercase letters, digits or hyphens (service account ids have at most 30 characters)."
  }
}

variable "image_tag" {
  description = "Tag of the winter-days image in this deployment's Artifact Registry repository (make deploy uses the git commit)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag)) && var.image_tag != "latest"
    error_message = "image_tag: a Docker tag other than \"latest\", so that every deployment names the exact image it runs."
  }
}

variable "timezone" {
  description = "Time zone of the schedules and of \"yesterday\" (WINTERDAYS_TIMEZONE)."
  type        = string
  default     = "UTC"
}

variable "reject_threshold" {
  description = "The export fails above this share of rejected sales documents (WINTERDAYS_REJECT_THRESHOLD)."
  type        = number
  default     = 0.05
}

variable "generator_volumes" {
  description = "Generator volumes: customers, clickstream events a day, startups in the first full load, parallel clickstream tasks, and the share of malformed records (WINTERDAYS_BAD_RATIO)."
  type = object({
    customers         = number
    events_per_day    = number
    startups          = number
    clickstream_tasks = number
    bad_ratio         = optional(number, 0.01)
  })
  default = {
    customers         = 300
    events_per_day    = 1000
    startups          = 100
    clickstream_tasks = 1
    bad_ratio         = 0.01
  }

  validation {
    condition     = var.generator_volumes.bad_ratio >= 0 && var.generator_volumes.bad_ratio <= 1
    error_message = "generator_volumes.bad_ratio is a share between 0 and 1."
  }
}

variable "churn_gate" {
  description = "The churn model's quality gate: the least AUC a candidate needs, and how much below the champion's it may fall (WINTERDAYS_CHURN_MIN_AUC / _MAX_AUC_DROP)."
  type = object({
    min_auc      = optional(number, 0.7)
    max_auc_drop = optional(number, 0.02)
  })
  default = {}
}

variable "seed" {
  description = "The generators' random seed (WINTERDAYS_SEED)."
  type        = number
  default     = 42
}

variable "pii_key_version" {
  description = "Bump to write a new pseudonymisation key (every pseudonym changes: rebuild silver with --full-refresh)."
  type        = number
  default     = 1
}

variable "alert_email" {
  description = "Where alerts are sent; empty keeps them in the console only."
  type        = string
  default     = ""
}

variable "deletion_protection" {
  description = "Protect the Firestore database, the Cloud Run service and jobs from terraform destroy."
  type        = bool
  default     = true
}

variable "bigquery_location" {
  description = "BigQuery location of the datasets: dataform/workflow_settings.yaml's defaultLocation, and one that holds the bucket's region."
  type        = string
  default     = "EU"
}
