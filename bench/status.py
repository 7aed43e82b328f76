"""`winterdays status` with the emulator warm against the same command starting its own (the baseline).

A scratch WINTERDAYS_HOME gets a ledger of `--runs` runs. Then, in the same run of this bench:
  cold  no emulator running: the command starts one for itself (and stops it), as every ledger
        command did before issue 20
  warm  `winterdays emulator start` keeps one running (as `winterdays serve` does): the command reuses it
  floor `winterdays --help`: the interpreter and the CLI's imports, no Firestore at all
Each is the wall time of the whole process, as a person waits for it.

  .venv/bin/python bench/status.py [--runs 50] [--times 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cli(env: dict, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], env=env, capture_output=True, text=True,
                          timeout=300)
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1) or "Traceback" in done.stderr:
        raise SystemExit(f"winterdays {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return elapsed


def seed_ledger(env: dict, runs: int) -> None:
    """`runs` ledger documents shaped like real ones, written through the ledger port."""
    from lakehouse.settings import Settings
    from orchestrator.engine import new_run
    from orchestrator.resources import document_source, ledger_of
    from orchestrator.steps import RunOptions

    settings = Settings.from_env(env)
    os.environ.update({k: v for k, v in env.items() if k.startswith("WINTERDAYS_")})
    with document_source(settings).session():
        ledger = ledger_of(settings)
        for n in range(runs):
            run = new_run(RunOptions(dt.date(2026, 1, 1) + dt.timedelta(days=n)), "bench")
            for step in run["steps"].values():
                step.update(state="SUCCEEDED", duration_s=1.5)
            run["state"] = "SUCCEEDED"
            ledger.save(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--times", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-status-"))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("WINTERDAYS_", "FIRESTORE_EMULATOR"))},
           "WINTERDAYS_HOME": str(home), "GOOGLE_CLOUD_PROJECT": "winter-days-bench"}
    seed_ledger(env, args.runs)
    figures = {"floor": [cli(env, "--help") for _ in range(args.times)],
               "cold": [cli(env, "status") for _ in range(args.times)]}
    cli(env, "emulator", "start")
    try:
        figures["warm"] = [cli(env, "status") for _ in range(args.times)]
        figures["warm_one"] = [cli(env, "status", sorted_run_id(env)) for _ in range(args.times)]
    finally:
        cli(env, "emulator", "stop")
        shutil.rmtree(home, ignore_errors=True)
    cold = statistics.median(figures["cold"])
    print(f"{args.runs} runs in the ledger, {args.times} calls each, median wall time of the process:")
    for name, values in figures.items():
        median = statistics.median(values)
        print(f"  {name:<9} {median:6.2f} s   {median / cold:5.3f} x cold   "
              f"(min {min(values):.2f}, max {max(values):.2f})")


def sorted_run_id(env: dict) -> str:
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "status", "--limit", "1", "--json"], env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.split('"run_id": "')[1].split('"')[0]


if __name__ == "__main__":
    main()
