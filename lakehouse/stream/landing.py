"""Micro-batches of clickstream messages into bronze, each event exactly once.

A batch's new events of one day become one file, `clickstream/dt=D/stream-<hash>.jsonl`,
staged under `_staging/` and published whole; the name hashes the batch's event ids, so a
batch landed twice lands on the same name. The dedupe record is bronze itself: the event
ids in a day's stream files, read when the day is first met, then kept in memory. An event
whose id is already there (a redelivery after a crash between publish and acknowledge, a
duplicate publish) is acknowledged and written nowhere. Messages are acknowledged by the
caller only after land() returns, so a crash before that loses nothing: they come again.

Dead letters follow the same rule, keyed by message id, in `quarantine/clickstream/dt=D/`
(D: the day the message was published), one JSON line each with its reason and the raw
message; they are also published to the dead-letter topic for whoever watches it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from lakehouse import bronze
from lakehouse.messaging import Message
from lakehouse.storage import ObjectStore
from lakehouse.stream.events import Event, check

log = logging.getLogger(__name__)
SOURCE = "clickstream"
STREAM_FILE = "stream-"
WATERMARK = "watermark"  # a control message's attribute: every event of that date has been published


class DedupedFiles:
    """Lines in `<source>/dt=D/stream-<hash>.jsonl` of one store, each key written once."""

    def __init__(self, store: ObjectStore, key_of: Callable[[bytes], str]):
        self.store = store
        self.key_of = key_of
        self._seen: dict[dt.date, set[str]] = {}

    def known(self, day: dt.date) -> set[str]:
        if day not in self._seen:
            keys: set[str] = set()
            for rel in self.store.list(bronze.partition(SOURCE, day)):
                if posixpath.basename(rel).startswith(STREAM_FILE):
                    keys.update(self.key_of(line) for line in self.store.read_bytes(rel).splitlines() if line)
            self._seen[day] = keys
        return self._seen[day]

    def write(self, day: dt.date, items: Iterable[tuple[str, bytes]]) -> int:
        """Write the items whose key is new for `day` as one file; returns how many were new."""
        seen = self.known(day)
        new: dict[str, bytes] = {}
        for key, line in items:
            if key not in seen and key not in new:
                new[key] = line
        if not new:
            return 0
        digest = hashlib.sha256("\n".join(sorted(new)).encode()).hexdigest()[:24]
        rel = posixpath.join(bronze.partition(SOURCE, day), f"{STREAM_FILE}{digest}.jsonl")
        with self.store.open_staged(rel) as handle:
            handle.write(b"\n".join(new.values()) + b"\n")
        self.store.publish(rel, rel)
        seen.update(new)
        return len(new)

    def forget(self, day: dt.date) -> None:
        """Drop a closed day's keys from memory (a late event reads them back from the store)."""
        self._seen.pop(day, None)

    def count(self, day: dt.date) -> int:
        return len(self.known(day))


@dataclass
class Landed:
    events: int = 0
    duplicates: int = 0
    dead_letters: int = 0
    closed: list[str] = field(default_factory=list)  # the close markers written

    def add(self, other: Landed) -> None:
        self.events += other.events
        self.duplicates += other.duplicates
        self.dead_letters += other.dead_letters
        self.closed += other.closed


class ClickLanding:
    def __init__(self, bronze_store: ObjectStore, quarantine: ObjectStore,
                 dead_letter: Callable[[list[tuple[bytes, dict[str, str]]]], object] = lambda items: None,
                 on_closed: Callable[[str], object] = lambda rel: None):
        self.bronze = bronze_store
        self.events = DedupedFiles(bronze_store, lambda line: json.loads(line)["event_id"])
        self.dead = DedupedFiles(quarantine, lambda line: json.loads(line)["message_id"])
        self.dead_letter = dead_letter
        self.on_closed = on_closed

    def land(self, messages: list[Message]) -> Landed:
        """Land a micro-batch: events into bronze, the bad ones into quarantine, then close watermarked days."""
        by_day: dict[dt.date, list[Event]] = {}
        dead: dict[dt.date, list[tuple[Message, str]]] = {}
        watermarks: set[dt.date] = set()
        for message in messages:
            if WATERMARK in message.attributes:
                watermarks.add(dt.date.fromisoformat(message.attributes[WATERMARK]))
                continue
            outcome = check(message.data)
            if isinstance(outcome, Event):
                by_day.setdefault(outcome.day, []).append(outcome)
            else:
                dead.setdefault(_published_day(message), []).append((message, outcome.reason))
        landed = Landed()
        for day, events in sorted(by_day.items()):
            written = self.events.write(day, ((e.event_id, e.line) for e in events))
            landed.events += written
            landed.duplicates += len(events) - written
        for day, letters in sorted(dead.items()):
            landed.dead_letters += self.dead.write(day, ((m.message_id, _dead_line(m, r)) for m, r in letters))
            self.dead_letter([(m.data, {**m.attributes, "reason": r, "message_id": m.message_id}) for m, r in letters])
        for day in sorted(watermarks):
            landed.closed.append(self.close(day))
        return landed

    def close(self, day: dt.date) -> str:
        """Mark the day's clickstream complete in bronze; a date's run waits for this marker."""
        rel = bronze.closed_marker(SOURCE, day)
        body = {"source": SOURCE, "date": day.isoformat(), "events": self.events.count(day),
                "closed_at": dt.datetime.now(dt.UTC).isoformat()}
        self.bronze.write_bytes(rel, json.dumps(body).encode())
        self.events.forget(day)
        self.dead.forget(day)
        log.info("clickstream day closed", extra={"event": "stream_day_closed", **body})
        self.on_closed(rel)
        return rel


def _published_day(message: Message) -> dt.date:
    return (message.publish_time or dt.datetime.now(dt.UTC)).date()


def _dead_line(message: Message, reason: str) -> bytes:
    return json.dumps({"reason": reason, "message_id": message.message_id, "attributes": message.attributes,
                       "raw": message.data.decode("utf-8", errors="replace")}, separators=(",", ":")).encode()
