"""The message port: publish to a topic, pull from a subscription, acknowledge.

Both adapters are the Pub/Sub client: PubSubBus talks to Pub/Sub (gcp, where Terraform made
the topics and subscriptions), EmulatedPubSubBus to the Pub/Sub emulator that the Google Cloud
CLI ships (the client follows PUBSUB_EMULATOR_HOST), which its session() starts and on which it
declares what Terraform creates in gcp, as the document source does with Firestore.
orchestrator/resources.py chooses. A push subscription delivers the same messages inside an
HTTP envelope: `from_push` reads one.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lakehouse.emulator import EmulatorError, PubSubEmulator, local_session
from lakehouse.errors import LakehouseError

if TYPE_CHECKING:
    from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient

# A pulled micro-batch must be landed and acknowledged within this; messages a killed worker held
# come again once it has passed.
ACK_DEADLINE_S = 20
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)")


class BadEnvelope(LakehouseError, ValueError):
    """A push request that is not a Pub/Sub envelope."""


@dataclass(frozen=True)
class Message:
    message_id: str
    data: bytes
    attributes: dict[str, str] = field(default_factory=dict)
    publish_time: dt.datetime | None = None
    ack_id: str = ""  # pulled messages only


class MessageBus(Protocol):
    def publish(self, topic: str, items: Iterable[tuple[bytes, dict[str, str]]]) -> list[str]: ...

    def pull(self, subscription: str, max_messages: int, timeout_s: float) -> list[Message]: ...

    def ack(self, subscription: str, ack_ids: list[str]) -> None: ...

    def nack(self, subscription: str, ack_ids: list[str]) -> None: ...

    def ensure_topic(self, topic: str) -> None: ...

    def ensure_subscription(self, subscription: str, topic: str, push_endpoint: str = "") -> None: ...

    def session(self, start: bool = True) -> contextlib.AbstractContextManager[str | None]: ...


class PubSubBus:
    """Pub/Sub for one project (its emulator when PUBSUB_EMULATOR_HOST is set)."""

    def __init__(self, project: str):
        self.project = project
        # made on first use, once the emulator's address is known
        self._clients: tuple[PublisherClient, SubscriberClient] | None = None

    @property
    def _publisher(self) -> PublisherClient:
        return self._made()[0]

    @property
    def _subscriber(self) -> SubscriberClient:
        return self._made()[1]

    def _made(self) -> tuple[PublisherClient, SubscriberClient]:
        if self._clients is None:
            from google.cloud.pubsub_v1 import PublisherClient, SubscriberClient, types

            publisher = PublisherClient(batch_settings=types.BatchSettings(max_messages=1000, max_latency=0.01))
            self._clients = (publisher, SubscriberClient())
        return self._clients

    @contextlib.contextmanager
    def session(self, start: bool = True) -> Iterator[str | None]:
        """Reachable for a command: Pub/Sub always is."""
        yield os.environ.get("PUBSUB_EMULATOR_HOST")

    def topic_path(self, topic: str) -> str:
        return f"projects/{self.project}/topics/{topic}"

    def subscription_path(self, subscription: str) -> str:
        return f"projects/{self.project}/subscriptions/{subscription}"

    def publish(self, topic: str, items: Iterable[tuple[bytes, dict[str, str]]]) -> list[str]:
        """Publish every (data, attributes) and return their message ids once all are accepted."""
        path = self.topic_path(topic)
        futures = [self._publisher.publish(path, data, **attributes) for data, attributes in items]
        return [future.result(timeout=60) for future in futures]

    def pull(self, subscription: str, max_messages: int, timeout_s: float) -> list[Message]:
        from google.api_core import exceptions

        try:
            response = self._subscriber.pull(
                request={"subscription": self.subscription_path(subscription), "max_messages": max_messages},
                timeout=timeout_s)
        except exceptions.DeadlineExceeded:  # nothing arrived in time
            return []
        return [Message(r.message.message_id, r.message.data, dict(r.message.attributes),
                        r.message.publish_time, r.ack_id) for r in response.received_messages]

    def ack(self, subscription: str, ack_ids: list[str]) -> None:
        path = self.subscription_path(subscription)
        for start in range(0, len(ack_ids), 1000):  # the API takes at most a few thousand at once
            self._subscriber.acknowledge(request={"subscription": path, "ack_ids": ack_ids[start:start + 1000]})

    def nack(self, subscription: str, ack_ids: list[str]) -> None:
        """Give the messages back at once (an ack deadline of 0), to be delivered again."""
        path = self.subscription_path(subscription)
        for start in range(0, len(ack_ids), 1000):
            self._subscriber.modify_ack_deadline(
                request={"subscription": path, "ack_ids": ack_ids[start:start + 1000], "ack_deadline_seconds": 0})

    def ensure_topic(self, topic: str) -> None:
        from google.api_core import exceptions

        try:
            self._publisher.create_topic(request={"name": self.topic_path(topic)})
        except exceptions.AlreadyExists:
            pass

    def ensure_subscription(self, subscription: str, topic: str, push_endpoint: str = "") -> None:
        """Locally: what Terraform creates in gcp (terraform/pubsub.tf)."""
        from google.api_core import exceptions

        request = {"name": self.subscription_path(subscription), "topic": self.topic_path(topic),
                   "ack_deadline_seconds": ACK_DEADLINE_S}
        if push_endpoint:
            request["push_config"] = {"push_endpoint": push_endpoint}
        try:
            self._subscriber.create_subscription(request=request)
        except exceptions.AlreadyExists:
            pass


class EmulatedPubSubBus(PubSubBus):
    """The emulator (local), started for a session under `data_dir`, with `topology` declared on it."""

    def __init__(self, project: str, data_dir: Path, start_script: str = "",
                 topology: Callable[[MessageBus], None] = lambda bus: None):
        super().__init__(project)
        self.data_dir, self.start_script, self.topology = data_dir, start_script, topology

    @contextlib.contextmanager
    def session(self, start: bool = True) -> Iterator[str | None]:
        """start=False: only join a running emulator. It keeps no message once stopped, so a
        publisher must not start one of its own that would end with it."""
        emulator = PubSubEmulator(self.project, data_dir=self.data_dir, start_script=self.start_script)
        if not start and not os.environ.get(emulator.host_variable) and not emulator.running():
            raise EmulatorError("no Pub/Sub emulator is running: start the subscriber first (`winterdays ingest`), "
                                "which runs it under WINTERDAYS_HOME")
        with local_session(emulator) as host:
            self._clients = None
            self.topology(self)
            yield host


def from_push(envelope: object) -> Message:
    """The message inside a push request's JSON body ({"message": {...}, "subscription": ...})."""
    message = envelope.get("message") if isinstance(envelope, dict) else None
    if not isinstance(message, dict) or not (message.get("messageId") or message.get("message_id")):
        raise BadEnvelope("expected a Pub/Sub push envelope: {\"message\": {\"messageId\", \"data\", ...}}")
    try:
        data = base64.b64decode(message.get("data") or "", validate=True)
    except ValueError:
        raise BadEnvelope("the message's data is not base64") from None
    attributes = message.get("attributes") or {}
    if not isinstance(attributes, dict):
        raise BadEnvelope("the message's attributes must be an object")
    return Message(str(message.get("messageId") or message.get("message_id")), data,
                   {str(k): str(v) for k, v in attributes.items()}, _timestamp(message.get("publishTime")))


def _timestamp(text: object) -> dt.datetime | None:
    """RFC 3339 as Pub/Sub writes it (nanoseconds, Z); None when absent or unreadable."""
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if not match:
        return None
    fraction = (match.group(2) or ".0")[:7]  # Python keeps microseconds
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    try:
        return dt.datetime.fromisoformat(f"{match.group(1)}{fraction}{zone}")
    except ValueError:
        return None
