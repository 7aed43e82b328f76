"""Benchmark of the bronze export (issue 4): throughput and peak memory, against baselines measured in the same run.

    .venv/bin/python bench/export.py            # 100,000 then 1,000,000 sales documents in the emulator
    .venv/bin/python bench/export.py --sizes 10000,100000    # smaller, to try it out

One fresh emulator holds the documents: the generator's sales (100,000 customers, from the
epoch on, each sale in its latest version, as Firestore holds it after the late refunds),
written in batches. The first N are loaded, every case runs on them, then the rest are added
and every case runs again. Each case runs in its own process, so its peak RSS is its own:
- raw: the emulator's streaming rate, the export's own paging (lakehouse.documents.stream_snapshots,
  same page size) with each snapshot discarded: the floor of any export;
- export: the export as the step runs it (stream_documents -> export_sales), a full export to
  a local bronze folder, with the default page size and row group;
- naive: every document into a list, a pandas DataFrame, one Parquet file (same stream; no
  contract checked, sale_timestamp cast to text, as its mixed types would fail the write).
The raw case runs before and after the others; the export's rate is compared with their mean.
Memory is bounded when the export's peak RSS stays flat as the documents grow tenfold.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.isolated import add_case_arguments, run_if_child, run_isolated  # noqa: E402

CUSTOMERS = 100_000  # ~19,000 sales a day
COLLECTION = "bench_sales"


def _settings(home: str):
    from lakehouse.settings import Settings

    return Settings.from_env({"WINTERDAYS_HOME": home, "GOOGLE_CLOUD_PROJECT": os.environ["GOOGLE_CLOUD_PROJECT"]})


def _client():
    from google.cloud import firestore

    return firestore.Client(project=os.environ["GOOGLE_CLOUD_PROJECT"])


def sales_documents():
    """(id, data) of the generator's sales in their latest version: a late refund replaces its sale."""
    from generators.catalog import Catalog
    from generators.population import EPOCH, Population
    from generators.sales import daily_sales
    from lakehouse.settings import DEV_PII_KEY

    population = Population(42, CUSTOMERS)
    days = population.days(EPOCH, EPOCH + dt.timedelta(days=730))
    for sales in daily_sales(days, EPOCH, 42, Catalog(42), DEV_PII_KEY):
        refunded = {k: record for _, k, record in sales.late_refunds()}
        for k in range(sales.new):
            record = refunded.get(k) or sales.record(k)
            yield record["sale_id"], record


def case_load(span: str, home: str) -> dict:
    """Write documents [start, stop) of sales_documents (the earlier ones are made and skipped)."""
    from generators.jobs import write_documents

    start, stop = map(int, span.split(":"))
    client = _client()
    started = time.perf_counter()
    written = write_documents(client, client.collection(COLLECTION), itertools.islice(sales_documents(), start, stop))
    return {"records": written, "seconds": time.perf_counter() - started}


def case_raw(size: str, home: str) -> dict:
    from lakehouse.documents import stream_snapshots

    settings = _settings(home)
    started = time.perf_counter()
    read = sum(1 for _ in stream_snapshots(_client(), COLLECTION, page_size=settings.export.page_size))
    return {"records": read, "seconds": time.perf_counter() - started}


def case_export(size: str, home: str) -> dict:
    from lakehouse.documents import stream_documents
    from lakehouse.export.sales import export_sales
    from lakehouse.export.watermark import Window
    from lakehouse.storage import ObjectStore

    settings = _settings(home)
    started = time.perf_counter()
    documents = stream_documents(_client(), COLLECTION, page_size=settings.export.page_size)
    result = export_sales(documents, Window(dt.date.today(), None), ObjectStore(settings.storage.bronze_uri),
                          ObjectStore(settings.storage.quarantine_uri), settings.export.reject_threshold,
                          row_group_rows=settings.export.row_group)
    seconds = time.perf_counter() - started
    files = list((Path(settings.storage.bronze_uri) / "sales").rglob("*.parquet"))
    return {"records": result.exported, "seconds": seconds, "rejected": result.rejected,
            "partitions": len(files), "bytes": sum(f.stat().st_size for f in files)}


def case_naive(size: str, home: str) -> dict:
    import pandas as pd

    from lakehouse.documents import stream_documents

    settings = _settings(home)
    started = time.perf_counter()
    documents = [data for _, data in stream_documents(_client(), COLLECTION, page_size=settings.export.page_size)]
    frame = pd.DataFrame(documents)
    # The generator writes 5% of sale_timestamp as epoch milliseconds, the rest as text: a column
    # of mixed types that pyarrow refuses. The naive way out: all of it as text.
    frame["sale_timestamp"] = frame["sale_timestamp"].astype(str)
    target = Path(home) / "naive.parquet"
    frame.to_parquet(target, compression="zstd")
    return {"records": len(frame), "seconds": time.perf_counter() - started, "bytes": target.stat().st_size}


CASES = {"load": case_load, "raw": case_raw, "export": case_export, "naive": case_naive}


def run_case(name: str, size: str, label: str) -> dict:
    result = run_isolated(__file__, name, size, "bench-export-")
    result["label"] = label
    print(f"  {label:<14} {result['records']:>10,} in {result['seconds']:7.1f} s = {result['rate']:>7,.0f}/s, "
          f"peak RSS {result['peak_rss_mb']:6.0f} MB, load {result['load']:.1f}", flush=True)
    return result


def measure(size: int) -> dict[str, dict]:
    runs = {}
    for label, name in (("raw_before", "raw"), ("export", "export"), ("naive", "naive"), ("raw_after", "raw")):
        runs[label] = run_case(name, str(size), f"{label} {size // 1000}k")
        if runs[label]["records"] != size:
            raise RuntimeError(f"{label} read {runs[label]['records']:,} documents, not {size:,}")
    runs["raw_rate"] = (runs["raw_before"]["rate"] + runs["raw_after"]["rate"]) / 2
    return runs


def summary(small: dict, large: dict) -> dict:
    return {
        "export_rate_over_raw": {size: round(runs["export"]["rate"] / runs["raw_rate"], 3)
                                 for size, runs in (("small", small), ("large", large))},
        "export_peak_rss_large_over_small": round(large["export"]["peak_rss_mb"] / small["export"]["peak_rss_mb"], 3),
        "naive_peak_rss_large_over_small": round(large["naive"]["peak_rss_mb"] / small["naive"]["peak_rss_mb"], 3),
        "naive_rate_over_export": {size: round(runs["naive"]["rate"] / runs["export"]["rate"], 3)
                                   for size, runs in (("small", small), ("large", large))},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000", help="the two numbers of documents, small,large")
    add_case_arguments(parser, CASES)
    args = parser.parse_args()
    if run_if_child(args, CASES):
        return

    from lakehouse.emulator import FirestoreEmulator

    small, large = map(int, args.sizes.split(","))
    git = shutil.which("git") or "git"
    commit = subprocess.run([git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    print(f"export bench at {commit.strip()} on {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}",
          flush=True)
    emulator = FirestoreEmulator("bench-export")
    emulator.start()
    os.environ.update(emulator.environ())
    try:
        loads = [run_case("load", f"0:{small}", f"load {small // 1000}k")]
        run_case("raw", str(small), "warm-up (raw)")  # the emulator's JIT warms up on the first reads, untimed
        runs_small = measure(small)
        loads.append(run_case("load", f"{small}:{large}", f"load +{(large - small) // 1000}k"))
        runs_large = measure(large)
    finally:
        emulator.stop(save=False)
    figures = summary(runs_small, runs_large)
    print(json.dumps({"small": small, "large": large, **figures}, indent=2))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    out = Path(tempfile.gettempdir()) / "bench-export.json"
    out.write_text(json.dumps({"loads": loads, "small": runs_small, "large": runs_large, "summary": figures}, indent=2))
    print(f"all figures in {out}")


if __name__ == "__main__":
    main()
