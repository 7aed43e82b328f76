"""Benchmark of the generator jobs: throughput and peak memory, against baselines measured in the same run.

    .venv/bin/python bench/generate.py            # 1M sales into the emulator, 1M and 10M events to bronze
    .venv/bin/python bench/generate.py --quick    # a tenth of that, to try it out

Each case runs in its own process, so its peak RSS is its own. Baselines:
- sales: the raw emulator write rate, the same batched writer fed with the same sales
  documents made beforehand, so the ratio is what generating costs on top of the writes;
- clickstream: the raw file write rate, the same streamed writer fed with ready-made lines
  of the same length, so the ratio is what generating costs on top of the I/O.
Memory is bounded when the peak RSS stays flat as the records grow tenfold.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.isolated import add_case_arguments, run_if_child, run_isolated  # noqa: E402

SALES_CUSTOMERS = 100_000  # ~19,000 sales a day
CLICK_CUSTOMERS = 100_000
DAY = dt.date(2026, 2, 20)


def _settings(home: str):
    from lakehouse.settings import Settings

    return Settings.from_env({"WINTERDAYS_HOME": home, "GOOGLE_CLOUD_PROJECT": os.environ["GOOGLE_CLOUD_PROJECT"]})


def case_sales_raw(documents: int, home: str) -> dict:
    """The same sales documents as case_sales, made before the clock starts: only the writes are timed."""
    from google.cloud import firestore

    from generators.catalog import Catalog
    from generators.jobs import write_documents
    from generators.population import EPOCH, Population
    from generators.sales import daily_sales

    made = []
    population = Population(42, SALES_CUSTOMERS)
    for sales in daily_sales(population.days(EPOCH, EPOCH + dt.timedelta(days=365)), EPOCH, 42, Catalog(42),
                             _settings(home).pii_key):
        made += [(record["sale_id"], record) for record in map(sales.record, range(len(sales)))]
        if len(made) >= documents:
            break
    gc.freeze()  # the made documents are live objects the collector would otherwise walk again and again
    client = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    collection = client.collection(_settings(home).sales_collection)
    started = time.perf_counter()
    written = write_documents(client, collection, made[:documents])
    return {"records": written, "seconds": time.perf_counter() - started}


def case_sales(documents: int, home: str) -> dict:
    """A backfill from the epoch, as many days as it takes to make `documents` sales."""
    from google.cloud import firestore

    from generators.jobs import Shard, Volumes, generate_sales
    from generators.population import EPOCH, Population

    made, end = 0, EPOCH
    for state in Population(42, SALES_CUSTOMERS).days(EPOCH, EPOCH + dt.timedelta(days=365)):
        made, end = made + int(state.purchases.sum()), state.day
        if made >= documents:
            break
    client = firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])
    settings = _settings(home)
    volumes = Volumes.configured(settings.generators, customers=SALES_CUSTOMERS, oracle=False)
    started = time.perf_counter()
    written = generate_sales(settings, EPOCH, end, volumes, Shard(), client)
    return {"records": written, "seconds": time.perf_counter() - started, "days": (end - EPOCH).days + 1}


def case_oracle(customers: int, home: str) -> dict:
    from generators.population import Population

    population = Population(42, customers)
    state = next(population.days(DAY, DAY))
    started = time.perf_counter()
    population.churn_probability(state)
    return {"records": customers, "seconds": time.perf_counter() - started}


def case_clicks_raw(events: int, home: str) -> dict:
    from generators.jobs import JSONL_CHUNK
    from lakehouse.storage import ObjectStore

    line = ('{"event_id":"E20260220-0000000","session_id":"W20260220-000000","customer_id":"C012345-00",'
            '"event_type":"product_view","page_url":"https://shop.example.com/category/home",'
            '"referrer_domain":"google.com","device_type_category":"mobile","is_bounce":false,'
            '"event_timestamp":"2026-02-20T10:11:12.345Z","load_timestamp":"2026-02-20T11:00:00.000Z",'
            '"schema_version":"2.0.0"}')
    chunk = ("\n".join([line] * JSONL_CHUNK) + "\n").encode()
    store = ObjectStore(str(Path(home) / "bronze"))
    started = time.perf_counter()
    size = store.write_stream("raw/part.jsonl", (chunk for _ in range(events // JSONL_CHUNK)))
    return {"records": events // JSONL_CHUNK * JSONL_CHUNK, "seconds": time.perf_counter() - started,
            "bytes": size}


def case_clicks(events: int, home: str) -> dict:
    from generators.jobs import Shard, Volumes, generate_clickstream

    settings = _settings(home)
    volumes = Volumes.configured(settings.generators, customers=CLICK_CUSTOMERS, events_per_day=events, bad_ratio=0.01)
    started = time.perf_counter()
    written = generate_clickstream(settings, DAY, DAY, volumes, Shard())
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in (Path(home) / "bronze" / "clickstream").rglob("*.jsonl"))
    return {"records": written, "seconds": seconds, "bytes": size}


CASES = {"sales_raw": case_sales_raw, "sales": case_sales, "oracle": case_oracle,
         "clicks_raw": case_clicks_raw, "clicks": case_clicks}


def run_case(name: str, size: int) -> dict:
    result = run_isolated(__file__, name, size, "bench-generate-")
    print(f"  {name:<11} {result['records']:>11,} in {result['seconds']:7.1f} s = {result['rate']:>9,.0f}/s, "
          f"peak RSS {result['peak_rss_mb']:.0f} MB", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a tenth of the volumes")
    add_case_arguments(parser, CASES, size_type=int)
    args = parser.parse_args()
    if run_if_child(args, CASES):
        return

    from lakehouse.emulator import FirestoreEmulator

    scale = 10 if args.quick else 1
    sales, events = 1_000_000 // scale, 10_000_000 // scale
    print(f"generate bench on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    emulator = FirestoreEmulator("bench-generate")
    emulator.start()
    os.environ.update(emulator.environ())
    runs = {}
    try:
        run_case("sales", sales // 100)  # warm the emulator's JIT up, untimed
        for name, case, size in (("raw_before", "sales_raw", sales // 10), ("sales_small", "sales", sales // 10),
                                 ("sales", "sales", sales), ("raw_after", "sales_raw", sales // 10)):
            emulator.clear()
            runs[name] = run_case(case, size)
    finally:
        emulator.stop(save=False)
    runs["oracle"] = run_case("oracle", SALES_CUSTOMERS // 10)
    runs["file_raw"] = run_case("clicks_raw", events)
    runs["clicks_small"] = run_case("clicks", events // 10)
    runs["clicks"] = run_case("clicks", events)

    raw_rate = (runs["raw_before"]["rate"] + runs["raw_after"]["rate"]) / 2
    print(f"sales: {runs['sales']['rate'] / raw_rate:.2f}x the raw emulator write rate (mean of before and after); "
          f"peak RSS x{runs['sales']['peak_rss_mb'] / runs['sales_small']['peak_rss_mb']:.2f} "
          f"for x{runs['sales']['records'] / runs['sales_small']['records']:.1f} the documents")
    print(f"clickstream: {runs['clicks']['rate'] / runs['file_raw']['rate']:.3f}x the raw file write rate; "
          f"peak RSS x{runs['clicks']['peak_rss_mb'] / runs['clicks_small']['peak_rss_mb']:.2f} "
          f"for x{runs['clicks']['records'] / runs['clicks_small']['records']:.1f} the events")
    oracle = runs["oracle"]
    print(f"oracle: {oracle['seconds'] / oracle['records'] * 1e6:.0f} s per million customer-days")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")

if __name__ == "__main__":
    main()
