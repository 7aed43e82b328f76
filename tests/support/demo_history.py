"""One demo run for the whole session (conftest's `demo_run`): the e2e test asserts on it and the
dashboard's browser test looks at it, so the 76-day history is generated and run once.

With the real emulator, Dataform CLI, DuckDB and kfp.local: `winterdays generate all` then
`winterdays run` through the CLI (with a low gate, so the first model becomes champion), then the
same day again through the HTTP API with a gate no model passes (the champion scores again).
Other tests wipe the emulator, so what they read of Firestore (the two runs' ledger documents)
is kept here and put back by `restore_ledger`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from lakehouse.settings import Settings
from lakehouse.warehouse import connect
from mlops.registry import open_registry
from orchestrator.app import create_app
from orchestrator.resources import Resources

# 76 days: the churn split needs 43 labelled snapshot days (7 held out, 29 between, 7 to train on) + 30 to label them
FIRST, LAST = "2026-01-01", "2026-03-17"
GOLD = ("fct_sales", "dim_customer", "fct_click_features", "dim_startup", "customer_churn_features",
        "fct_predictions_churn", "fct_model_metrics_churn")
FIRST_GATE_AUC = "0.5"  # a model from 11 days of a business that opened on FIRST: a low bar, so it becomes champion
STRICT_GATE_AUC = 0.999  # no model passes
BAD_RATIO = "0.01"  # as `winterdays demo`: some defective records for the quarantine and the rejects tables


@dataclass
class DemoRun:
    settings: Settings
    generated: dict = field(default_factory=dict)
    first: dict = field(default_factory=dict)  # `winterdays run`'s summary line
    champion: str = ""
    counts_after_first: dict = field(default_factory=dict)
    predictions_after_first: list = field(default_factory=list)
    second: dict = field(default_factory=dict)  # POST /runs's body
    second_status: int = 0
    second_read_back: dict = field(default_factory=dict)  # GET /runs/<id>
    counts_after_second: dict = field(default_factory=dict)
    predictions_after_second: list = field(default_factory=list)
    champion_after_second: str = ""
    ledger: list = field(default_factory=list)
    logs: list = field(default_factory=list)  # the CLI's stderr (JSON log lines), command by command

    def restore_ledger(self) -> None:
        """Put the demo's run documents back after another test wiped the emulator."""
        ledger = Resources.from_settings(self.settings).ledger
        for run in self.ledger:
            if ledger.get(run["run_id"]) is None:
                ledger.save(dict(run))


def build(home: Path, project: str) -> DemoRun:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("WINTERDAYS_")},
           "WINTERDAYS_HOME": str(home), "GOOGLE_CLOUD_PROJECT": project}
    settings = Settings.from_env(env)
    demo = DemoRun(settings)
    demo.generated = _cli(demo, env, "generate", "all", "--from", FIRST, "--to", LAST,
                          "--customers", "80", "--events", "150", "--startups", "30", "--bad-ratio", BAD_RATIO)
    demo.first = _cli(demo, {**env, "WINTERDAYS_CHURN_MIN_AUC": FIRST_GATE_AUC}, "run", "--date", LAST, "--full-export")
    demo.champion = open_registry(settings.churn.registry_uri).champion()["version"]
    demo.counts_after_first, demo.predictions_after_first = counts(settings), predictions(settings)

    strict = settings.with_overrides(churn={"min_auc": STRICT_GATE_AUC})
    client = create_app(strict, Resources.from_settings(strict)).test_client()
    response = client.post("/runs", json={"date": LAST})
    demo.second, demo.second_status = response.get_json(), response.status_code
    demo.second_read_back = client.get(f"/runs/{demo.second['run_id']}").get_json()
    demo.counts_after_second, demo.predictions_after_second = counts(settings), predictions(settings)
    demo.champion_after_second = open_registry(settings.churn.registry_uri).champion()["version"]
    demo.ledger = Resources.from_settings(settings).ledger.recent(10)
    return demo


def _cli(demo: DemoRun, env: dict, *args) -> dict:
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], env=env, capture_output=True,
                          text=True, timeout=600)
    demo.logs.append(done.stderr)
    if done.returncode != 0:
        raise AssertionError(f"winterdays {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def counts(settings: Settings) -> dict:
    warehouse = connect(settings.warehouse.uri)
    try:
        return {t: warehouse.query(f"SELECT COUNT(*) AS n FROM `{settings.warehouse.dataset}.{t}`")[0]["n"]
                for t in GOLD}
    finally:
        warehouse.close()


def predictions(settings: Settings) -> list[dict]:
    warehouse = connect(settings.warehouse.uri)
    try:
        return warehouse.query(f"SELECT customer_id, churn_probability, model_version "
                               f"FROM `{settings.warehouse.dataset}.fct_predictions_churn` ORDER BY customer_id")
    finally:
        warehouse.close()
