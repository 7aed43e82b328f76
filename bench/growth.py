"""Benchmark: does the daily run's cost stay flat as history grows?

At a constant daily volume, for histories of 30, 90, 180 and 360 days: build the warehouse from
the history's bronze (a full build, not timed), let the next day's partitions arrive, then time
one daily run (the Dataform project on DuckDB through our executor, one worker; compiling with
the Dataform CLI is timed apart: it does not depend on data) and measure the bronze it reads.
The daily run is repeated on a copy of the built warehouse (--rounds); the best time counts,
since the machine is shared.

Bronze bytes are measured, not computed: DuckDB's profiler lists the files each scan opened
after partition pruning; their sizes are summed per statement (as BigQuery bills each query
for what it scans). Ratios are against the 30-day history of the same run.

    .venv/bin/python bench/growth.py                                  # 300 sales, 3,000 events a day
    .venv/bin/python bench/growth.py --sales-per-day 2000 --events-per-day 20000 --histories 30,90
"""

from __future__ import annotations

import argparse
import datetime as dt
import glob
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from synthetic_bronze import write_bronze  # noqa: E402

from lakehouse.transform.actions import Selection, actions_from_graph, select  # noqa: E402
from lakehouse.transform.compiler import compile_project  # noqa: E402
from lakehouse.transform.executor import Executor  # noqa: E402
from lakehouse.warehouse.duckdb import DuckDBWarehouse  # noqa: E402

START = dt.date(2025, 1, 1)
SCANS = ("READ_CSV", "READ_PARQUET", "READ_JSON")


class ProfiledWarehouse(DuckDBWarehouse):
    """A DuckDB warehouse that records the bronze files every statement's scans opened."""

    def __init__(self, path: str, bronze: Path, profile: Path):
        super().__init__(path)
        self.bronze, self.profile = str(bronze), profile
        self.files_read: list[str] = []  # one entry per file per statement
        self.con.execute("PRAGMA enable_profiling = 'json'")
        self.con.execute(f"PRAGMA profiling_output = '{profile}'")

    def run_native(self, sql, params=None):
        result = super().run_native(sql, params)
        self._harvest()
        return result

    def query_arrow(self, sql):
        table = super().query_arrow(sql)
        self._harvest()
        return table

    def _harvest(self) -> None:
        if not self.profile.exists():
            return
        tree = json.loads(self.profile.read_text() or "{}")
        self.profile.unlink()
        for node in _walk(tree.get("operator", tree.get("children", []))):
            info = node.get("extra_info") or {}
            if info.get("Function") not in SCANS:
                continue
            names = [n for n in str(info.get("Filename(s)", "")).split(", ") if n]
            if any("*" in n for n in names):  # nothing pruned: the profile shows the glob
                names = [f for n in names for f in glob.glob(n, recursive=True) if os.path.isfile(f)]
            opened = str(info.get("Total Files Read", len(names)))
            if int(opened) != len(names):
                raise SystemExit(f"the profile lists {len(names)} files for a scan that read {opened}: cannot measure")
            self.files_read += [n for n in names if n.startswith(self.bronze)]

    def bronze_bytes(self) -> int:
        return sum(os.path.getsize(name) for name in self.files_read)


def _walk(nodes):
    for node in nodes if isinstance(nodes, list) else [nodes]:
        yield node
        yield from _walk(node.get("children", []))


def history(work: Path, days: int, volume: dict) -> tuple[Path, dt.date]:
    """Bronze for `days` of history plus the next day, each day with the same volume."""
    source = work / f"source-{days}"
    marker = source / "sizes.json"
    wanted = {**volume, "days": days}
    if not (marker.exists() and json.loads(marker.read_text()) == wanted):
        shutil.rmtree(source, ignore_errors=True)
        total = days + 1
        write_bronze(source, start=START, days=total, sales=volume["sales"] * total,
                     events=volume["events"] * total, startups=volume["startups"], customers=volume["customers"])
        marker.write_text(json.dumps(wanted))
    return source, START + dt.timedelta(days=days)


def arrive(source: Path, bronze: Path, until: dt.date) -> None:
    """Hard-link the partitions up to `until` into bronze (later refunds stay in the future)."""
    for path in source.glob("*/dt=*/*"):
        if dt.date.fromisoformat(path.parent.name.removeprefix("dt=")) <= until:
            target = bronze / path.relative_to(source)
            if not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(path, target)


def run(graph: dict, warehouse: DuckDBWarehouse) -> None:
    actions = actions_from_graph(graph)
    results = Executor(warehouse, 1).run(actions, select(actions, Selection()))
    failed = [r for r in results if r.state != "SUCCEEDED"]
    if failed:
        raise SystemExit(f"{failed[0].target} failed: {failed[0].error}")


def measure(work: Path, days: int, volume: dict, rounds: int) -> dict:
    source, new_day = history(work, days, volume)
    home = work / f"home-{days}"
    shutil.rmtree(home, ignore_errors=True)
    bronze, path = home / "bronze", home / "warehouse.duckdb"
    variables = {"bronze_uri": str(bronze), "pii_key": "bench", "snapshot_days": "90", "lookback_days": "3"}

    arrive(source, bronze, new_day - dt.timedelta(days=1))
    built = time.perf_counter()
    with DuckDBWarehouse(str(path)) as warehouse:
        run(compile_project(ROOT / "dataform", {**variables, "run_date": str(new_day - dt.timedelta(days=1))}),
            warehouse)
    build_s = time.perf_counter() - built

    arrive(source, bronze, new_day)
    compiled = time.perf_counter()
    graph = compile_project(ROOT / "dataform", {**variables, "run_date": str(new_day)})
    compile_s = time.perf_counter() - compiled
    built_path = home / "built.duckdb"
    shutil.copy2(path, built_path)
    timings = []
    for _ in range(rounds):  # the same daily run on the same built warehouse; the best time counts
        shutil.copy2(built_path, path)
        warehouse = ProfiledWarehouse(str(path), bronze, home / "profile.json")
        started = time.perf_counter()
        run(graph, warehouse)
        timings.append(time.perf_counter() - started)
        warehouse.close()
    daily_s = min(timings)
    bronze_total = sum(p.stat().st_size for p in bronze.rglob("*") if p.is_file())
    return {"days": days, "daily_run_s": round(daily_s, 2), "bronze_bytes_read": warehouse.bronze_bytes(),
            "bronze_files_read": len(warehouse.files_read), "bronze_bytes_total": bronze_total,
            "compile_s": round(compile_s, 2), "build_s": round(build_s, 1),
            "daily_run_rounds_s": [round(t, 2) for t in timings]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sales-per-day", type=int, default=300)
    parser.add_argument("--events-per-day", type=int, default=3000)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--startups", type=int, default=200)
    parser.add_argument("--histories", default="30,90,180,360")
    parser.add_argument("--rounds", type=int, default=3, help="daily runs timed per history; the best counts")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "winterdays-bench-growth")
    args = parser.parse_args()

    volume = {"sales": args.sales_per_day, "events": args.events_per_day, "customers": args.customers,
              "startups": args.startups}
    args.work.mkdir(parents=True, exist_ok=True)
    rows = [measure(args.work, int(days), volume, args.rounds) for days in args.histories.split(",")]
    base = rows[0]
    for row in rows:
        row["time_vs_first"] = round(row["daily_run_s"] / base["daily_run_s"], 3)
        row["bytes_vs_first"] = round(row["bronze_bytes_read"] / max(base["bronze_bytes_read"], 1), 3)
    print(json.dumps({"volume_per_day": volume, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
