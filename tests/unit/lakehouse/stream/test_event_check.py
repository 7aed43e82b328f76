"""The subscriber's check of one message against the contract registry, and the registry's Dataform include."""

import datetime as dt
import json

import pytest

from lakehouse import contracts
from lakehouse.stream.events import Event, Rejected, check


def event(**changes) -> dict:
    record = {"event_id": "E1", "session_id": "W1", "customer_id": None, "event_type": "search",
              "page_url": "https://shop.example.com/", "referrer_domain": None, "device_type_category": "tablet",
              "is_bounce": True, "event_timestamp": "2026-03-01T23:59:59.500+01:00",
              "load_timestamp": None, "schema_version": "2.0.0"}
    return record | changes


def data(record: dict) -> bytes:
    return json.dumps(record).encode()


def test_a_valid_event_keeps_its_line_and_goes_to_the_utc_day_of_its_timestamp():
    outcome = check(data(event()))
    assert outcome == Event("E1", dt.date(2026, 3, 1), data(event()))


def test_a_new_minor_version_keeps_fields_the_registry_does_not_declare_yet():
    line = data(event(schema_version="2.9.0", campaign_id="c", experiment={"arm": "b"}))
    assert check(line) == Event("E1", dt.date(2026, 3, 1), line)


def test_a_pretty_printed_event_is_stored_as_one_line():
    outcome = check(json.dumps(event(), indent=2).encode())
    assert isinstance(outcome, Event) and b"\n" not in outcome.line and json.loads(outcome.line) == event()


@pytest.mark.parametrize("payload, reason", [
    (b"\xff\xfe", "invalid_json"),
    (b"[1, 2]", "invalid_json"),
    (data(event(event_id="")), "missing_event_id"),
    (data(event(session_id=None)), "missing_session_id"),
    (data(event(schema_version="3.0.0")), "unknown_schema_version"),
    (data(event(schema_version=2)), "unknown_schema_version"),
    (data(event(is_bounce="yes")), "type_changed:is_bounce"),
    (data(event(campaign_id=7)), "type_changed:campaign_id"),  # declared by 2.1.0 as a string
    (data(event(event_type="teleport")), "unknown_event_type"),
    (data(event(event_timestamp="yesterday")), "bad_event_timestamp"),
    (data(event(page_url="x" * 1025)), "oversized_string"),
    (data(event(page_url="x" * 20_000)), "oversized"),
])
def test_each_breach_is_a_dead_letter_with_its_reason(payload, reason):
    assert check(payload) == Rejected(reason)


def test_the_dataform_include_is_generated_from_the_registry():
    assert contracts.DATAFORM_INCLUDE.read_text() == contracts.dataform_include(), (
        "dataform/includes/contracts.js is stale: run `.venv/bin/python -m lakehouse.contracts`")
    assert '"optional": [{"name": "campaign_id", "type": "STRING"}]' in contracts.dataform_include()


def test_a_minor_version_adds_fields_and_never_changes_one():
    by_major: dict[str, dict] = {}
    for version, schema in contracts.CLICKSTREAM_VERSIONS.items():
        fields = by_major.setdefault(contracts.major(version), {})
        for field in schema:
            assert fields.setdefault(field.name, field.type) == field.type, f"{version} changes {field.name}"
    added = contracts.added_fields(contracts.CLICKSTREAM_VERSIONS, contracts.CLICKSTREAM)
    assert all(f.nullable for f in added)
