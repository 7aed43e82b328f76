"""The three generator jobs: write one logical day (or a range) of each source.

Cloud Run Jobs run these through `winterdays generate SOURCE`; a job with N tasks
splits the records by CLOUD_RUN_TASK_INDEX / CLOUD_RUN_TASK_COUNT (record k goes to
task k mod N), so the union over tasks equals one task's output, with no overlap.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from generators.catalog import Catalog
from generators.clickstream import click_events
from generators.population import Population
from generators.sales import sale_records
from generators.startups import startup_records
from lakehouse import bronze
from lakehouse.settings import Settings
from lakehouse.storage import ObjectStore

log = logging.getLogger(__name__)
FIRESTORE_BATCH = 500  # the maximum writes in one Firestore batch


@dataclass(frozen=True)
class Volumes:
    customers: int = 300
    events_per_day: int = 1000
    startups: int = 100


@dataclass(frozen=True)
class Shard:
    index: int = 0
    count: int = 1

    def __post_init__(self):
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"task index {self.index} is outside 0..{self.count - 1}")

    def take(self, records: Iterable[dict]) -> Iterable[dict]:
        return (r for k, r in enumerate(records) if k % self.count == self.index)


def date_range(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise ValueError(f"--to {end} is before --from {start}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def generate_sales(
    settings: Settings, start: dt.date, end: dt.date, volumes: Volumes, shard: Shard,
    firestore_client, progress: Callable[[dt.date, int], None] = lambda d, n: None,
) -> int:
    """Sales into Firestore and the oracle's churn probabilities beside bronze."""
    population = Population(settings.seed, volumes.customers)
    catalog = Catalog(settings.seed)
    oracle = ObjectStore(settings.oracle_uri)
    collection = firestore_client.collection(settings.sales_collection)
    total = 0
    for state in population.days(start, end):
        written = _write_documents(firestore_client, collection, shard.take(
            sale_records(state, settings.seed, catalog, settings.pii_key)))
        if shard.index == 0:
            _write_oracle(oracle, state, population.churn_probability(state))
        total += written
        progress(state.day, written)
    return total


def _write_documents(client, collection, records: Iterable[dict]) -> int:
    batch, pending, written = client.batch(), 0, 0
    for record in records:
        batch.set(collection.document(record["sale_id"]), record)
        pending += 1
        if pending == FIRESTORE_BATCH:
            batch.commit()
            written += pending
            batch, pending = client.batch(), 0
    if pending:
        batch.commit()
        written += pending
    return written


def _write_oracle(store: ObjectStore, state, probabilities) -> None:
    table = pa.table(
        {
            "customer_id": pa.array(state.customer_ids.tolist(), pa.string()),
            "snapshot_date": pa.array([state.day] * len(probabilities), pa.date32()),
            "is_active": pa.array(state.alive.tolist(), pa.bool_()),
            "churn_probability": pa.array(probabilities.tolist(), pa.float64()),
        }
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    store.replace_partition(f"churn/dt={state.day.isoformat()}", {"part-00000.parquet": buffer.getvalue()})


def generate_clickstream(
    settings: Settings, start: dt.date, end: dt.date, volumes: Volumes, shard: Shard,
    progress: Callable[[dt.date, int], None] = lambda d, n: None,
) -> int:
    population = Population(settings.seed, volumes.customers)
    store = ObjectStore(settings.bronze_uri)
    total = 0
    for state in population.days(start, end):
        events = list(shard.take(click_events(state, settings.seed, volumes.events_per_day)))
        _write_jsonl(store, "clickstream", state.day, shard, events)
        total += len(events)
        progress(state.day, len(events))
    return total


def generate_startups(
    settings: Settings, day: dt.date, volumes: Volumes, shard: Shard, full: bool | None = None,
) -> int:
    """A full snapshot when no earlier startups partition exists (or full=True), else the week's delta."""
    store = ObjectStore(settings.bronze_uri)
    if full is None:
        earlier = [p for p in store.list("startups") if (bronze.partition_date(p) or day) < day]
        full = not earlier
    records = list(shard.take(startup_records(settings.seed, day, full, settings.pii_key, volumes.startups)))
    _write_jsonl(store, "startups", day, shard, records)
    log.info("startups written", extra={"day": day.isoformat(), "rows": len(records), "full_load": full})
    return len(records)


def _write_jsonl(store: ObjectStore, source: str, day: dt.date, shard: Shard, records: list[dict]) -> None:
    partition = bronze.partition(source, day)
    body = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode()
    store.write_bytes(f"{partition}/{bronze.shard_file(source, shard.index, shard.count)}", body)
    stale = [p for p in store.list(partition) if bronze.is_stale_shard(p, shard.count)]
    store.delete(stale)


def generate(
    settings: Settings, sources: Iterable[str], start: dt.date, end: dt.date, volumes: Volumes, shard: Shard,
    full_startups: bool | None = None, progress: Callable[[str, dt.date, int], None] | None = None,
) -> dict[str, int]:
    """Generate each source over start..end; startups once a week (on start, start+7, ...)."""
    from lakehouse.documents import client, firestore_session

    report = progress or (lambda source, day, rows: None)
    days = date_range(start, end)
    counts: dict[str, int] = {}
    for source in sources:
        if source == "sales":
            with firestore_session(settings):
                counts[source] = generate_sales(settings, start, end, volumes, shard, client(settings),
                                                lambda d, n: report("sales", d, n))
        elif source == "clickstream":
            counts[source] = generate_clickstream(settings, start, end, volumes, shard,
                                                  lambda d, n: report("clickstream", d, n))
        elif source == "startups":
            counts[source] = 0
            for day in days[::7]:
                rows = generate_startups(settings, day, volumes, shard, full=full_startups)
                counts[source] += rows
                report("startups", day, rows)
        else:
            raise ValueError(f"unknown source {source!r}")
    return counts
