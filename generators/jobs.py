"""The three generator jobs: write one logical day (or a range) of each source.

Cloud Run Jobs run these through `winterdays generate SOURCE`; a job with N tasks
splits the records by CLOUD_RUN_TASK_INDEX / CLOUD_RUN_TASK_COUNT (record k goes to
task k mod N, with whatever defect it gets, a duplicate included; every version of a
sale goes to the task of its first version), so the union over tasks equals one task's
output, with no overlap. Records are streamed: memory grows with the customer
population, never with the number of records.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from generators.catalog import Catalog
from generators.clickstream import click_blocks
from generators.defects import Defects
from generators.errors import GeneratorInputError
from generators.population import EPOCH, Population
from generators.sales import LATE_REFUND_MAX_DAYS, daily_sales
from generators.startups import startup_records
from lakehouse import bronze
from lakehouse.settings import GeneratorSettings, Settings
from lakehouse.storage import ObjectStore

if TYPE_CHECKING:
    from lakehouse.documents import FirestoreSource

log = logging.getLogger(__name__)
FIRESTORE_BATCH = 500  # the maximum writes in one Firestore batch
COMMITS_IN_FLIGHT = 2  # a batch is committed while the next one is drawn
JSONL_CHUNK = 4096  # lines encoded and written together


@dataclass(frozen=True)
class Volumes:
    customers: int
    events_per_day: int
    startups: int
    bad_ratio: float  # share of records with a realistic defect (see generators/defects.py)
    oracle: bool = True  # write the churn oracle (costs ~customers x 6,000 draws a day)

    @classmethod
    def configured(cls, generators: GeneratorSettings, **changes) -> Volumes:
        """The volumes of the settings (WINTERDAYS_CUSTOMERS, ...), with some changed."""
        return cls(**{"customers": generators.customers, "events_per_day": generators.events_per_day,
                      "startups": generators.startups, "bad_ratio": generators.bad_ratio, **changes})

    def __post_init__(self):
        if self.customers < 1:
            raise GeneratorInputError(f"customers must be at least 1, got {self.customers}")
        for name in ("events_per_day", "startups"):
            if getattr(self, name) < 0:
                raise GeneratorInputError(f"{name} must not be negative, got {getattr(self, name)}")
        if not 0.0 <= self.bad_ratio <= 1.0:
            raise GeneratorInputError(f"the bad-record ratio must be between 0 and 1, got {self.bad_ratio}")


@dataclass(frozen=True)
class Shard:
    """Task `index` of `count` owns the records k with k mod count == index."""

    index: int = 0
    count: int = 1

    def __post_init__(self):
        if self.count < 1 or not 0 <= self.index < self.count:
            raise GeneratorInputError(f"task index {self.index} is outside 0..{self.count - 1}")

    def owns(self, k: int) -> bool:
        return k % self.count == self.index

    def positions(self, length: int, first: int = 0) -> range:
        """The offsets i in 0..length-1 of the records first+i that this task owns."""
        return range((self.index - first) % self.count, length, self.count)


def date_range(start: dt.date, end: dt.date) -> list[dt.date]:
    if end < start:
        raise GeneratorInputError(f"--to {end} is before --from {start}")
    if start < EPOCH:
        raise GeneratorInputError(f"the business opened on {EPOCH}: there is no data for {start}")
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def generate_sales(
    settings: Settings, start: dt.date, end: dt.date, volumes: Volumes, shard: Shard,
    firestore_client, progress: Callable[[dt.date, int], None] = lambda d, n: None,
) -> int:
    """Sales into Firestore and the oracle's churn probabilities beside bronze."""
    population = Population(settings.general.seed, volumes.customers)
    catalog = Catalog(settings.general.seed)
    oracle = ObjectStore(settings.storage.oracle_uri)
    collection = firestore_client.collection(settings.firestore.sales_collection)
    lookback = max(population.epoch, start - dt.timedelta(days=LATE_REFUND_MAX_DAYS))
    total = 0
    seed, pii_key = settings.general.seed, settings.general.pii_key
    for sales in daily_sales(population.days(lookback, end), start, seed, catalog, pii_key):
        defects = Defects("sales", settings.general.seed, sales.state.day, volumes.bad_ratio)
        documents = (document for k in range(len(sales)) if shard.owns(sales.origin(k))
                     for document in defects.documents(k, sales.record(k)))
        written = write_documents(firestore_client, collection, documents)
        if volumes.oracle and shard.index == 0:
            _write_oracle(oracle, sales.state, population.churn_probability(sales.state))
        total += written
        progress(sales.state.day, written)
    return total


def write_documents(client, collection, documents: Iterable[tuple[str, dict]]) -> int:
    """Set each (id, data) in batches of FIRESTORE_BATCH, committing up to COMMITS_IN_FLIGHT at once.

    Returns when every batch is committed, so a later write of the same document (a late
    refund on a later day) can never overtake an earlier one.
    """
    written = 0
    with ThreadPoolExecutor(COMMITS_IN_FLIGHT) as pool:
        pending: deque = deque()
        for chunk in chunks(documents, FIRESTORE_BATCH):
            batch = client.batch()
            for doc_id, data in chunk:
                batch.set(collection.document(doc_id), data)
            if len(pending) == COMMITS_IN_FLIGHT:
                pending.popleft().result()
            pending.append(pool.submit(batch.commit))
            written += len(chunk)
        for commit in pending:
            commit.result()
    return written


def chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _write_oracle(store: ObjectStore, state, probabilities) -> None:
    table = pa.table(
        {
            "customer_id": pa.array(state.customer_ids(), pa.string()),
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
    population = Population(settings.general.seed, volumes.customers)
    store = ObjectStore(settings.storage.bronze_uri)
    total = 0
    for state in population.days(start, end):
        defects = Defects("clickstream", settings.general.seed, state.day, volumes.bad_ratio)
        lines = click_lines(click_blocks(state, settings.general.seed, volumes.events_per_day), shard, defects)
        written = _write_jsonl(store, "clickstream", state.day, shard, lines)
        total += written
        progress(state.day, written)
    return total


def click_lines(blocks: Iterable, shard: Shard, defects: Defects) -> Iterator[str]:
    """The task's lines, the good ones made a block at a time, the defective ones spliced in."""
    for block in blocks:
        offsets = shard.positions(len(block), block.first)
        lines = block.lines(offsets)
        done = 0
        for i in sorted(i for i in defects.among(block.first, len(block)) if i in offsets):
            j = offsets.index(i)
            yield from lines[done:j]
            yield from defects.lines(block.first + i, block.record(i))
            done = j + 1
        yield from lines[done:]


def generate_startups(
    settings: Settings, day: dt.date, volumes: Volumes, shard: Shard, full: bool | None = None,
) -> int:
    """A full snapshot when no earlier startups partition exists (or full=True), else the week's delta."""
    store = ObjectStore(settings.storage.bronze_uri)
    if full is None:
        earlier = [p for p in store.list("startups") if (bronze.partition_date(p) or day) < day]
        full = not earlier
    records = list(startup_records(settings.general.seed, day, full, settings.general.pii_key, volumes.startups))
    defects = Defects("startups", settings.general.seed, day, volumes.bad_ratio)
    lines = (line for k in shard.positions(len(records)) for line in defects.lines(k, records[k]))
    rows = _write_jsonl(store, "startups", day, shard, lines)
    log.info("startups written", extra={"day": day.isoformat(), "rows": rows, "full_load": full})
    return rows


def _write_jsonl(store: ObjectStore, source: str, day: dt.date, shard: Shard, lines: Iterable[str]) -> int:
    """Stream the task's lines into its shard file, then drop shard files of another task count."""
    partition = bronze.partition(source, day)
    written = 0

    def encoded() -> Iterator[bytes]:
        nonlocal written
        for chunk in chunks(lines, JSONL_CHUNK):
            written += len(chunk)
            yield ("\n".join(chunk) + "\n").encode()

    store.write_stream(f"{partition}/{bronze.shard_file(source, shard.index, shard.count)}", encoded())
    stale = [p for p in store.list(partition) if bronze.is_stale_shard(p, shard.count)]
    store.delete(stale)
    return written


def generate(
    settings: Settings, documents: FirestoreSource, sources: Iterable[str], start: dt.date, end: dt.date,
    volumes: Volumes, shard: Shard, full_startups: bool | None = None,
    progress: Callable[[str, dt.date, int], None] | None = None,
) -> dict[str, int]:
    """Generate each source over start..end; startups once a week (on start, start+7, ...).

    `documents` is where the sales go (orchestrator.resources.document_source)."""
    report = progress or (lambda source, day, rows: None)
    days = date_range(start, end)
    counts: dict[str, int] = {}
    for source in sources:
        if source == "sales":
            with documents.session():
                counts[source] = generate_sales(settings, start, end, volumes, shard, documents.client(),
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
            raise GeneratorInputError(f"unknown source {source!r}")
    return counts
