"""Bronze layout: immutable, partitioned by logical date, one format per source.

    sales/dt=YYYY-MM-DD/part-00000.parquet          (the export of Firestore)
    clickstream/dt=YYYY-MM-DD/part-00000-of-00001.jsonl
    startups/dt=YYYY-MM-DD/part-00000-of-00001.jsonl
    mlops/...                                         (pipeline spec and artifacts)

The same layout holds under quarantine/, one JSONL line per rejected record with its reason.
Markers outside every source prefix (no reader's glob meets them) say a source is complete:
    _control/clickstream/dt=YYYY-MM-DD/closed.json    (the stream subscriber's watermark)
"""

from __future__ import annotations

import datetime as dt
import re

from lakehouse.storage import ObjectStore

SOURCES = {"sales": "parquet", "clickstream": "jsonl", "startups": "jsonl"}
_SHARD_FILE = re.compile(r"part-(\d{5})-of-(\d{5})\.\w+$")


def partition(source: str, day: dt.date) -> str:
    if source not in SOURCES and source != "quarantine":
        raise ValueError(f"unknown bronze source {source!r}; expected one of {sorted(SOURCES)}")
    return f"{source}/dt={day.isoformat()}"


def shard_file(source: str, task_index: int, task_count: int) -> str:
    """Deterministic object name: a retried task overwrites its own file, never appends."""
    return f"part-{task_index:05d}-of-{task_count:05d}.{SOURCES[source]}"


def is_stale_shard(name: str, task_count: int) -> bool:
    """A shard file written by an earlier run with another task count."""
    match = _SHARD_FILE.search(name)
    return match is not None and int(match.group(2)) != task_count


CONTROL_PREFIX = "_control"
STARTUPS_EVERY_DAYS = 7  # the startups job lands a delta once a week


def closed_marker(source: str, day: dt.date) -> str:
    return f"{CONTROL_PREFIX}/{partition(source, day)}/closed.json"


def missing_sources(store: ObjectStore, day: dt.date) -> list[str]:
    """The sources a run of `day` still waits for: sales exported, the clickstream closed, startups this week."""
    missing = []
    if not store.list(partition("sales", day)):
        missing.append("sales")
    batch_files = [p for p in store.list(partition("clickstream", day)) if _SHARD_FILE.search(p)]
    if not batch_files and not store.exists(closed_marker("clickstream", day)):  # streamed: wait for the close
        missing.append("clickstream")
    weekly = [day - dt.timedelta(days=d) for d in range(STARTUPS_EVERY_DAYS)]
    if not any(store.list(partition("startups", d)) for d in weekly):
        missing.append("startups")
    return missing


def partition_date(path: str) -> dt.date | None:
    match = re.search(r"dt=(\d{4}-\d{2}-\d{2})", path)
    return dt.date.fromisoformat(match.group(1)) if match else None
