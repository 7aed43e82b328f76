"""The churn model against the generator's oracle, on the demo's data (issue 6's acceptance).

Builds the demo warehouse in a scratch WINTERDAYS_HOME (`winterdays demo`, the Firestore
emulator included), then, on the holdout snapshots of the pipeline's split:
  - the champion's ROC AUC and the oracle's (the generator's true churn probabilities) on
    the same rows against the same realised labels, their ratio (acceptance: >= 0.9), and
    both top-decile lifts;
  - the fit time of the model with OpenMP's default threads against one thread, same data,
    same run (why mlops.churn.train runs single-threaded).

    .venv/bin/python bench/churn_quality.py --to 2026-04-30 [--days 120] [--home DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent


def build(home: Path, days: int, to: str) -> float:
    shutil.rmtree(home, ignore_errors=True)
    env = {**os.environ, "WINTERDAYS_HOME": str(home)}
    started = time.perf_counter()
    done = subprocess.run([str(ROOT / ".venv/bin/winterdays"), "demo", "--days", str(days), "--to", to],
                          env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"the demo failed:\n{done.stderr[-3000:]}")
    print(done.stdout)
    return time.perf_counter() - started


def measure(home: Path, to: dt.date) -> dict:
    os.environ["WINTERDAYS_HOME"] = str(home)
    from lakehouse.settings import Settings
    from lakehouse.warehouse import connect
    from mlops import churn
    from mlops.oracle import compare_with_oracle
    from mlops.registry import open_registry

    settings = Settings.from_env()
    warehouse = connect(settings.warehouse.uri)
    try:
        labelled = warehouse.query_arrow(churn.features_query(settings.warehouse.dataset, to, training=True))
        train, _ = churn.split_by_time(labelled)
        registry = open_registry(settings.churn.registry_uri)
        champion = registry.champion()
        if champion:
            model, name = churn.load(registry.load(champion["version"])), champion["version"]
        else:  # the gate refused the candidate: measure it anyway, trained as the pipeline trains it
            model = churn.train(train, seed=settings.general.seed)
            name = f"{churn.version_of(churn.dump(model))} (candidate; failed the gate, no champion)"
        quality = compare_with_oracle(warehouse, settings.warehouse.dataset, settings.storage.oracle_uri, to, model)
    finally:
        warehouse.close()
    with mock.patch.object(churn, "single_threaded", contextlib.nullcontext):
        default_threads = _seconds(lambda: churn.train(train))
    one_thread = _seconds(lambda: churn.train(train))
    return {"model": name, **quality, "ratio": quality["model_auc"] / quality["oracle_auc"],
            "training_rows": train.num_rows, "fit_s_default_threads": default_threads, "fit_s_one_thread": one_thread,
            "fit_speedup_one_thread": default_threads / one_thread}


def _seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--to", default="2026-04-30")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--home", default=str(ROOT / "bench/.data/churn"), help="scratch WINTERDAYS_HOME (wiped)")
    args = parser.parse_args()
    home = Path(args.home)
    seconds = build(home, args.days, args.to)
    result = {"to": args.to, "days": args.days, "demo_s": round(seconds, 1),
              **measure(home, dt.date.fromisoformat(args.to)),
              "load_average": os.getloadavg()}
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
