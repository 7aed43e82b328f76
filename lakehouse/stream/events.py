"""One clickstream message -> a valid event or a dead letter with its reason.

The checks are the contract registry's (lakehouse/contracts.py): the subscriber refuses
what silver would reject, before it reaches bronze, and it never stops on one bad event.
A field the event's major version does not declare is kept as it came (a newer minor
version may carry it; silver exposes it once the registry declares it).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pyarrow as pa

from lakehouse.contracts import EVENT_TYPES, UTC_TS, clickstream_fields, major

MAX_EVENT_BYTES = 16 * 1024  # a click is a few hundred bytes: past this it is a pasted payload
MAX_STRING = 1024  # as silver's oversized_string rule (dataform/includes/lake.js)
_JSON_TYPES = {pa.string(): str, pa.bool_(): bool, pa.int64(): int, UTC_TS: str}


@dataclass(frozen=True)
class Event:
    event_id: str
    day: dt.date  # the bronze partition: the UTC date of event_timestamp
    line: bytes  # the JSON object as one line, as published


@dataclass(frozen=True)
class Rejected:
    reason: str


def check(data: bytes) -> Event | Rejected:
    if len(data) > MAX_EVENT_BYTES:
        return Rejected("oversized")
    try:
        record = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return Rejected("invalid_json")
    if not isinstance(record, dict):
        return Rejected("invalid_json")
    reason = _breach(record)
    if reason:
        return Rejected(reason)
    moment = _timestamp(record["event_timestamp"])
    if moment is None:
        return Rejected("bad_event_timestamp")
    line = data.strip() if b"\n" not in data.strip() else json.dumps(record, separators=(",", ":")).encode()
    return Event(record["event_id"], moment.date(), line)


def _breach(record: dict[str, object]) -> str | None:
    for name in ("event_id", "session_id"):
        if not isinstance(record.get(name), str) or not record[name]:
            return f"missing_{name}"
    version = record.get("schema_version")
    schema = clickstream_fields(major(version)) if isinstance(version, str) else None
    if schema is None:
        return "unknown_schema_version"
    for field in schema:
        value = record.get(field.name)
        if value is None:
            if not field.nullable:
                return f"missing_{field.name}"
            continue
        expected = _JSON_TYPES.get(field.type, str)
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            return f"type_changed:{field.name}"
        if isinstance(value, str) and len(value) > MAX_STRING:
            return "oversized_string"
    if record["event_type"] not in EVENT_TYPES:
        return "unknown_event_type"
    return None


def _timestamp(text: object) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
