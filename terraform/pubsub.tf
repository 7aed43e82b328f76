# Streaming ingestion and event-driven runs (docs/streaming.md). Topic names are the code's
# (lakehouse/stream/__init__.py). Both push subscriptions call our service with an OIDC token
# of the `pusher` account (audience: the service URL), retry with backoff, and after
# max_delivery_attempts move a message to a dead-letter topic, which a pull subscription keeps.

locals {
  topics = {
    clickstream             = "winter-clickstream"
    clickstream_dead_letter = "winter-clickstream-dead-letter"
    landing                 = "winter-bronze-landing"
    landing_dead_letter     = "winter-bronze-landing-dead-letter"
  }
  push_subscriptions = {
    # the clickstream subscriber: one event per request, landed in bronze exactly once
    clickstream = { name = "winter-clickstream-push", topic = "clickstream", path = "/events/clickstream", dead_letter = "clickstream_dead_letter" }
    # bronze object-finalize notifications: start a date's run once every source has landed
    landing = { name = "winter-bronze-landing-runs", topic = "landing", path = "/events/gcs", dead_letter = "landing_dead_letter" }
  }
  # The prefixes whose objects complete a date: sales exported, startups, the clickstream's close marker.
  landing_prefixes = toset(["sales/", "startups/", "_control/"])
}

resource "google_pubsub_topic" "this" {
  for_each                   = local.topics
  name                       = each.value
  message_retention_duration = "604800s"
  depends_on                 = [google_project_service.enabled]
}

resource "google_pubsub_subscription" "push" {
  for_each                   = local.push_subscriptions
  name                       = each.value.name
  topic                      = google_pubsub_topic.this[each.value.topic].id
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"

  push_config {
    push_endpoint = "${local.service_url}${each.value.path}"
    oidc_token {
      service_account_email = google_service_account.this["pusher"].email
      audience              = local.service_url
    }
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.this[each.value.dead_letter].id
    max_delivery_attempts = 10
  }

  retry_policy {
    minimum_backoff = "10s"
    maximum_backoff = "600s"
  }

  depends_on = [google_cloud_run_v2_service_iam_member.grants]
}

# A topic keeps nothing without a subscription: each dead-letter topic gets one to read from.
resource "google_pubsub_subscription" "dead_letters" {
  for_each                   = toset(["clickstream_dead_letter", "landing_dead_letter"])
  name                       = "${google_pubsub_topic.this[each.key].name}-hold"
  topic                      = google_pubsub_topic.this[each.key].id
  ack_deadline_seconds       = 60
  message_retention_duration = "604800s"
  expiration_policy {
    ttl = "" # never expires, even when nobody reads it for a month
  }
}

# Cloud Storage publishes a notification for each object finalized under the watched prefixes.
data "google_storage_project_service_account" "gcs" {
  project = var.project_id
}

resource "google_pubsub_topic_iam_member" "gcs_notifications" {
  topic  = google_pubsub_topic.this["landing"].id
  role   = "roles/pubsub.publisher"
  member = "serviceAccount:${data.google_storage_project_service_account.gcs.email_address}"
}

resource "google_storage_notification" "landing" {
  for_each           = local.landing_prefixes
  bucket             = google_storage_bucket.bronze.name
  payload_format     = "JSON_API_V1"
  topic              = google_pubsub_topic.this["landing"].id
  event_types        = ["OBJECT_FINALIZE"]
  object_name_prefix = each.value
  depends_on         = [google_pubsub_topic_iam_member.gcs_notifications]
}

# Pub/Sub's service agent moves undeliverable messages: it publishes to the dead-letter topics
# and acknowledges on the source subscriptions.
resource "google_project_service_identity" "pubsub" {
  provider = google-beta
  project  = var.project_id
  service  = "pubsub.googleapis.com"

  depends_on = [google_project_service.enabled] # the identity exists once the API is enabled
}

resource "google_pubsub_topic_iam_member" "pubsub_agent_dead_letters" {
  for_each = toset(["clickstream_dead_letter", "landing_dead_letter"])
  topic    = google_pubsub_topic.this[each.key].id
  role     = "roles/pubsub.publisher"
  member   = "serviceAccount:${google_project_service_identity.pubsub.email}"
}

resource "google_pubsub_subscription_iam_member" "pubsub_agent_subscriber" {
  for_each     = local.push_subscriptions
  subscription = google_pubsub_subscription.push[each.key].id
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${google_project_service_identity.pubsub.email}"
}
