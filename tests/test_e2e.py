"""The whole pipeline on a tiny history, with the real emulator, Dataform CLI, DuckDB and kfp.local."""

import json
import os
import subprocess
import sys

import pytest

from lakehouse.warehouse import connect
from orchestrator.app import create_app
from orchestrator.resources import Resources

pytestmark = [pytest.mark.e2e, pytest.mark.firestore, pytest.mark.dataform]
FIRST, LAST = "2026-02-01", "2026-03-17"  # 45 days: enough for labelled snapshots on both sides of the holdout
GOLD = ("fct_sales", "dim_customer", "fct_click_features", "dim_startup", "customer_churn_features",
        "fact_predictions_churn")


def winterdays(settings, *args):
    env = {**os.environ, "WINTERDAYS_HOME": str(settings.home)}
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def counts(settings):
    warehouse = connect(settings.warehouse_uri)
    try:
        return {t: warehouse.query(f"SELECT COUNT(*) AS n FROM `{settings.warehouse_dataset}.{t}`")[0]["n"]
                for t in GOLD}
    finally:
        warehouse.close()


def test_run_builds_every_layer_and_a_second_run_changes_nothing(settings, firestore, dataform_dir):
    generated = winterdays(settings, "generate", "all", "--from", FIRST, "--to", LAST,
                           "--customers", "80", "--events", "150", "--startups", "30")
    assert generated["written"]["sales"] > 500

    first = winterdays(settings, "run", "--date", LAST, "--full-export")
    assert first["state"] == "SUCCEEDED"
    assert set(first["steps"]) == {"export", "compile", "invoke", "wait", "churn"}
    before = counts(settings)
    assert all(before[t] > 0 for t in GOLD), before

    # the same day again, through the HTTP API this time: nothing doubles
    app = create_app(settings, Resources.from_settings(settings))
    response = app.test_client().post("/runs", json={"date": LAST})
    assert response.status_code == 200, response.get_json()
    run = response.get_json()
    assert run["steps"]["wait"]["outputs"]["assertions_failed"] == 0
    assert 0.5 < run["steps"]["churn"]["outputs"]["roc_auc"] <= 1.0
    assert counts(settings) == before

    status = app.test_client().get(f"/runs/{run['run_id']}").get_json()
    assert status["state"] == "SUCCEEDED"
