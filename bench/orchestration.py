"""Orchestration overhead: end-to-end time of POST /runs minus the sum of the steps' own work.

The service runs as in production (`winterdays serve`: gunicorn, one worker, threads) on a
scratch WINTERDAYS_HOME with its own Firestore emulator. The client times each synchronous
POST /runs; the steps' own work is the sum of their `duration_s` in the run it returns, measured
in the same run. What is left is the orchestrator's: HTTP, the claim transaction, the lease
and its heartbeat, the fenced ledger writes before and after each step, the thread hand-off.

  .venv/bin/python bench/orchestration.py [--full 2] [--light 10]

`--full` runs of all five steps over a small generated history (forced, so each one runs),
and `--light` runs of the export step alone on an empty day, where almost everything is overhead.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lakehouse.emulator import FirestoreEmulator, free_port  # noqa: E402
from orchestrator.records import RunState  # noqa: E402

FIRST, LAST = dt.date(2026, 2, 1), dt.date(2026, 3, 17)
EMPTY_DAY = dt.date(2025, 1, 1)


def post(port: int, body: dict) -> tuple[float, dict]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/runs", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=3600) as response:  # noqa: S310 - http://127.0.0.1 only
        run = json.loads(response.read())
    return time.perf_counter() - started, run


def measure(port: int, body: dict, times: int) -> list[dict]:
    rows = []
    for _ in range(times):
        elapsed, run = post(port, {**body, "force": True, "wait": True})
        if run["state"] != RunState.SUCCEEDED:
            raise SystemExit(f"run {run['run_id']} failed: {run.get('error')}")
        work = sum(step["duration_s"] for step in run["steps"].values())
        rows.append({"end_to_end_s": elapsed, "steps_s": work, "overhead_s": elapsed - work,
                     "steps": len(run["steps"])})
    return rows


def report(name: str, rows: list[dict]) -> str:
    e2e = statistics.median(r["end_to_end_s"] for r in rows)
    work = statistics.median(r["steps_s"] for r in rows)
    overhead = statistics.median(r["overhead_s"] for r in rows)
    per_step = overhead / rows[0]["steps"]
    return (f"| {name} | {len(rows)} | {e2e:.2f} | {work:.2f} | {overhead:.3f} | {per_step * 1000:.0f} | "
            f"{overhead / e2e:.1%} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", type=int, default=2)
    parser.add_argument("--light", type=int, default=10)
    args = parser.parse_args()
    with served_history(FIRST, LAST, generate=bool(args.full)) as (port, _):
        lines = ["| scenario | runs | end-to-end s | steps' work s | overhead s | overhead per step ms | "
                 "overhead share |", "|---|---|---|---|---|---|---|"]
        if args.light:
            rows = measure(port, {"date": EMPTY_DAY.isoformat(), "steps": ["export"]}, args.light)
            lines.append(report("export alone, empty day", rows))
        if args.full:
            rows = measure(port, {"date": LAST.isoformat(), "full_export": True}, args.full)
            lines.append(report("all five steps, 45-day history", rows))
        print("\n".join(lines))
        print(f"\nmedians; machine load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


@contextlib.contextmanager
def served_history(first: dt.date, last: dt.date, generate: bool = True) -> Iterator[tuple[int, FirestoreEmulator]]:
    """`winterdays serve` (gunicorn, as in production) on a scratch WINTERDAYS_HOME with its own Firestore
    emulator, over a small generated history first..last: (its port, the emulator)."""
    home = Path(tempfile.mkdtemp(prefix="winterdays-bench-"))
    emulator = FirestoreEmulator("winter-days-bench")
    emulator.start()
    env = {**os.environ, **emulator.environ(), "WINTERDAYS_HOME": str(home)}
    server = None
    try:
        if generate:
            subprocess.run([sys.executable, "-m", "orchestrator.cli", "generate", "all", "--from", first.isoformat(),
                            "--to", last.isoformat(), "--customers", "80", "--events", "150", "--startups", "30"],
                           env=env, check=True, capture_output=True)
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "serve", "--port", str(port)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until_up(port)
        yield port, emulator
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(60)
        emulator.stop(save=False)
        shutil.rmtree(home, ignore_errors=True)


def wait_until_up(port: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start")


if __name__ == "__main__":
    sys.exit(main())
