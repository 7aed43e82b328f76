"""Benchmark: a full build of the Dataform project on DuckDB, our executor against the floor.

The floor runs the very statements the executor runs (the same Dataform DDL/DML, already
transpiled, in the same dependency order) straight on a DuckDB connection: no scheduling,
no transpiling, no bookkeeping. Both build a fresh warehouse from the same bronze in the
same run; the executor runs with 1 worker and with the default number of workers, which
tells whether running independent actions concurrently helps on this machine. Compile time
(the pinned Dataform CLI) is reported separately.

    .venv/bin/python bench/transform.py                        # 1M sales, 10M events, 10k startups
    .venv/bin/python bench/transform.py --scale 0.1            # a tenth of that
    .venv/bin/python bench/transform.py --events 2000000       # full scale but 2M events
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from synthetic_bronze import write_bronze  # noqa: E402

from lakehouse.transform import ActionState  # noqa: E402
from lakehouse.transform.actions import Selection, actions_from_graph, select  # noqa: E402
from lakehouse.transform.compiler import compile_project  # noqa: E402
from lakehouse.transform.executor import Executor, default_workers  # noqa: E402
from lakehouse.warehouse.dialect import Script  # noqa: E402
from lakehouse.warehouse.duckdb import DuckDBWarehouse  # noqa: E402

START = dt.date(2026, 1, 1)


def build_bronze(root: Path, scale: float, days: int, events: int | None = None) -> dict:
    sizes = {"sales": int(1_000_000 * scale), "events": events or int(10_000_000 * scale),
             "startups": int(10_000 * scale), "customers": max(100, int(50_000 * scale))}
    marker = root / "sizes.json"
    if marker.exists() and json.loads(marker.read_text()) == {**sizes, "days": days}:
        return sizes  # the same bronze is already there
    shutil.rmtree(root, ignore_errors=True)
    write_bronze(root, start=START, days=days, **sizes)
    marker.write_text(json.dumps({**sizes, "days": days}))
    return sizes


def run_executor(graph: dict, path: Path, workers: int) -> float:
    path.unlink(missing_ok=True)
    warehouse = DuckDBWarehouse(str(path))
    actions = actions_from_graph(graph)
    started = time.perf_counter()
    results = Executor(warehouse, workers).run(actions, select(actions, Selection()))
    elapsed = time.perf_counter() - started
    warehouse.close()
    failed = [r for r in results if r.state != ActionState.SUCCEEDED]
    if failed:
        raise SystemExit(f"the executor failed: {failed[0].target}: {failed[0].error}")
    return elapsed


def run_floor(graph: dict, path: Path) -> float:
    """The executor's statements, transpiled up front, then run back to back on one connection."""
    path.unlink(missing_ok=True)
    warehouse = DuckDBWarehouse(str(path))
    actions = actions_from_graph(graph)
    executor = Executor(warehouse, 1)
    plan: list[str] = []
    for dataset in sorted({a.dataset for a in actions.values() if a.kind != "declaration"}):
        plan.append(f'CREATE SCHEMA IF NOT EXISTS "{dataset}"')
    for key in select(actions, Selection()):
        action = actions[key]
        if action.kind == "declaration":
            continue
        statements = executor.assertion_script(action) if action.kind == "assertion" else \
            executor.script(action, False, _NoTables())[0]
        script = Script()
        plan += [s for statement in statements for s in script.translate(statement)]
    con = warehouse.con
    started = time.perf_counter()
    for statement in plan:
        con.execute(statement).fetchall()
    elapsed = time.perf_counter() - started
    warehouse.close()
    return elapsed


class _NoTables:
    """A fresh warehouse: no incremental table exists yet, so every table is created."""

    def table_exists(self, dataset: str, table: str) -> bool:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = 1M sales, 10M events, 10k startups")
    parser.add_argument("--events", type=int, help="clickstream events, overriding the scale (10M is slow on 2 cores)")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds; the best time of each counts")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "winterdays-bench-transform")
    args = parser.parse_args()

    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    sizes = build_bronze(args.work / "bronze", args.scale, args.days, args.events)
    generate_s = time.perf_counter() - started
    run_date = START + dt.timedelta(days=args.days - 1)
    variables = {"bronze_uri": str(args.work / "bronze"), "pii_key": "bench", "run_date": run_date.isoformat(),
                 "snapshot_days": "90"}
    started = time.perf_counter()
    graph = compile_project(ROOT / "dataform", variables)
    compile_s = time.perf_counter() - started

    variants = {"floor": lambda path: run_floor(graph, path),
                "executor_1_worker": lambda path: run_executor(graph, path, 1),
                "executor_2_workers": lambda path: run_executor(graph, path, 2)}
    timings: dict[str, float] = {}
    for _ in range(args.rounds):  # interleaved rounds, best of each: the machine is shared
        for name, build in variants.items():
            elapsed = build(args.work / f"{name}.duckdb")
            timings[name] = min(elapsed, timings.get(name, elapsed))
    floor = timings["floor"]
    report = {"sizes": sizes, "days": args.days, "rounds": args.rounds, "default_workers": default_workers(),
              "generate_bronze_s": round(generate_s, 1), "compile_s": round(compile_s, 2),
              **{k: round(v, 2) for k, v in timings.items()},
              **{f"{k}_vs_floor": round(v / floor, 3) for k, v in timings.items() if k != "floor"}}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
