"""Object-finalize notifications of the bronze store, in the shape Cloud Storage publishes them.

In gcp the bucket's notification (terraform/pubsub.tf) publishes one for every object that
lands under a source prefix; locally the writers that complete a source publish the same
message to the emulator (LocalLandingNotifier), so both reach the same handler.
"""

from __future__ import annotations

import json

from lakehouse.messaging import Message, MessageBus

OBJECT_FINALIZE = "OBJECT_FINALIZE"


def object_finalized(bucket: str, name: str) -> tuple[bytes, dict[str, str]]:
    """(data, attributes) as Cloud Storage's Pub/Sub notifications carry them (JSON_API_V1 payload)."""
    data = json.dumps({"kind": "storage#object", "bucket": bucket, "name": name}).encode()
    return data, {"eventType": OBJECT_FINALIZE, "bucketId": bucket, "objectId": name,
                  "payloadFormat": "JSON_API_V1"}


def finalized_object(message: Message) -> str | None:
    """The object name a finalize notification is about; None for other events (deletes, metadata)."""
    if message.attributes.get("eventType") != OBJECT_FINALIZE:
        return None
    return message.attributes.get("objectId") or None


class LocalLandingNotifier:
    """Locally, the bronze folder has no notifications: publish what GCS would."""

    def __init__(self, bus: MessageBus, topic: str, bucket: str):
        self.bus, self.topic, self.bucket = bus, topic, bucket

    def __call__(self, name: str) -> None:
        self.bus.publish(self.topic, [object_finalized(self.bucket, name)])
