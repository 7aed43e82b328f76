"""Streaming ingestion of the clickstream: Pub/Sub messages into bronze, exactly once.

  events.py    one message -> a valid event (with its date) or a dead letter (with its reason),
               checked against the contract registry (lakehouse/contracts.py)
  landing.py   micro-batches into `clickstream/dt=…/stream-<hash>.jsonl`, each file published
               whole; event ids already in bronze are skipped, so a redelivery writes nothing
  worker.py    the pull loop (`winterdays ingest`): batches by count or seconds, acks after publish
"""

from __future__ import annotations

from lakehouse.messaging import MessageBus

# The names Terraform gives them (terraform/pubsub.tf); locally the CLI creates them on the emulator.
CLICK_TOPIC = "winter-clickstream"
CLICK_SUBSCRIPTION = "winter-clickstream-ingest"
DEAD_LETTER_TOPIC = "winter-clickstream-dead-letter"
LANDING_TOPIC = "winter-bronze-landing"  # object-finalize notifications of the bronze bucket
LANDING_SUBSCRIPTION = "winter-bronze-landing-runs"  # pushes them to POST /events/gcs


def declare(bus: MessageBus, landing_push_endpoint: str = "") -> None:
    """Locally, what Terraform creates in gcp (on the emulator): the topics, the clickstream's pull
    subscription, and the push subscription that delivers landing notifications to the service."""
    for topic in (CLICK_TOPIC, DEAD_LETTER_TOPIC, LANDING_TOPIC):
        bus.ensure_topic(topic)
    bus.ensure_subscription(CLICK_SUBSCRIPTION, CLICK_TOPIC)
    if landing_push_endpoint:
        bus.ensure_subscription(LANDING_SUBSCRIPTION, LANDING_TOPIC, push_endpoint=landing_push_endpoint)
