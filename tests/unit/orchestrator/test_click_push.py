"""POST /events/clickstream: the push subscription's subscriber, one event a request, exactly once
in bronze, dead letters in quarantine and on their topic (the Pub/Sub and Firestore emulators)."""

import base64
import datetime as dt
import json
import uuid

import pytest

from lakehouse import bronze
from lakehouse.messaging import BadEnvelope, from_push
from lakehouse.stream import DEAD_LETTER_TOPIC
from orchestrator.app import create_app
from orchestrator.resources import Resources

pytestmark = pytest.mark.firestore
DAY = dt.date(2026, 3, 1)
EVENT = {"event_id": "E1", "session_id": "W1", "event_type": "purchase", "event_timestamp": f"{DAY}T08:00:00Z",
         "schema_version": "2.1.0", "campaign_id": "spring"}


def envelope(data: bytes, message_id: str) -> dict:
    return {"message": {"messageId": message_id, "data": base64.b64encode(data).decode(),
                        "publishTime": "2026-03-02T07:00:00.123456789Z"},
            "subscription": "projects/p/subscriptions/winter-clickstream-push"}


@pytest.fixture
def pushed(settings, firestore, pubsub_emulator):
    settings = settings.with_overrides(gcp={"project": f"push-{uuid.uuid4().hex[:8]}"})
    resources = Resources.from_settings(settings)
    with resources.messages.session():
        resources.messages.ensure_subscription("dead-letters-seen", DEAD_LETTER_TOPIC)
        yield create_app(settings, resources).test_client(), resources


def test_an_event_pushed_twice_lands_once_and_a_bad_one_is_a_dead_letter(pushed):
    client, resources = pushed
    line = json.dumps(EVENT).encode()
    answers = [client.post("/events/clickstream", json=envelope(line, m)).get_json() for m in ("1", "2")]
    assert answers == [{"events": 1, "duplicates": 0, "dead_letters": 0},
                       {"events": 0, "duplicates": 1, "dead_letters": 0}]
    bad = client.post("/events/clickstream", json=envelope(b"{not json", "3"))
    assert bad.status_code == 200 and bad.get_json()["dead_letters"] == 1  # acknowledged: never retried
    files = resources.bronze.list(bronze.partition("clickstream", DAY))
    assert [resources.bronze.read_bytes(f) for f in files] == [line + b"\n"]
    quarantined = resources.quarantine.list(bronze.partition("clickstream", dt.date(2026, 3, 2)))  # its publish day
    assert [json.loads(resources.quarantine.read_bytes(f))["reason"] for f in quarantined] == ["invalid_json"]
    letters = resources.messages.pull("dead-letters-seen", 10, 5.0)
    assert [(m.data, m.attributes["reason"]) for m in letters] == [(b"{not json", "invalid_json")]


def test_a_push_envelope_is_read_with_its_publish_time_and_a_broken_one_refused():
    message = from_push(envelope(b"x", "7"))
    assert (message.message_id, message.data) == ("7", b"x")
    assert message.publish_time == dt.datetime(2026, 3, 2, 7, 0, 0, 123456, tzinfo=dt.UTC)
    for broken in ({}, {"message": {"data": "eA=="}}, {"message": {"messageId": "1", "data": "%%%"}}):
        with pytest.raises(BadEnvelope):
            from_push(broken)
