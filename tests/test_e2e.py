"""The whole pipeline on a tiny history, with the real emulator, Dataform CLI, DuckDB and kfp.local."""

import json
import os
import subprocess
import sys

import pytest

from lakehouse.warehouse import connect
from mlops.registry import open_registry
from orchestrator.app import create_app
from orchestrator.demo import summary
from orchestrator.resources import Resources

pytestmark = [pytest.mark.e2e, pytest.mark.firestore, pytest.mark.dataform]
# 76 days: the churn split needs 43 labelled snapshot days (7 held out, 29 between, 7 to train on) + 30 to label them
FIRST, LAST = "2026-01-01", "2026-03-17"
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


def predictions(settings):
    warehouse = connect(settings.warehouse_uri)
    try:
        return warehouse.query(f"SELECT customer_id, churn_probability, model_version "
                               f"FROM `{settings.warehouse_dataset}.fact_predictions_churn` ORDER BY customer_id")
    finally:
        warehouse.close()


def test_run_builds_every_layer_and_a_second_run_changes_nothing(settings, firestore, dataform_dir, monkeypatch):
    generated = winterdays(settings, "generate", "all", "--from", FIRST, "--to", LAST,
                           "--customers", "80", "--events", "150", "--startups", "30")
    assert generated["written"]["sales"] > 500

    # a model from 11 days of a business that opened on FIRST: a low bar, so that it becomes champion
    monkeypatch.setenv("WINTERDAYS_CHURN_MIN_AUC", "0.5")
    first = winterdays(settings, "run", "--date", LAST, "--full-export")
    assert first["state"] == "SUCCEEDED"
    assert set(first["steps"]) == {"export", "compile", "invoke", "wait", "churn"}
    before = counts(settings)
    assert all(before[t] > 0 for t in GOLD), before
    champion = open_registry(settings.model_registry_uri).champion()["version"]
    scored = predictions(settings)
    assert {r["model_version"] for r in scored} == {champion}

    # the same day again, through the HTTP API this time, with a gate no model passes:
    # the candidate is not registered, the champion scores again, and nothing doubles
    strict = settings.with_overrides(churn_min_auc=0.999)
    app = create_app(strict, Resources.from_settings(strict))
    response = app.test_client().post("/runs", json={"date": LAST})
    assert response.status_code == 200, response.get_json()
    run = response.get_json()
    assert run["steps"]["wait"]["outputs"]["assertions_failed"] == 0
    churn = run["steps"]["churn"]["outputs"]
    assert 0.5 < churn["roc_auc"] <= 1.0
    assert churn["gate"] == {"passed": False, "reason": f"ROC AUC {churn['roc_auc']:.4f} is below the threshold 0.9990"}
    assert churn["scored_version"] == champion
    assert f"kept champion {champion}" in churn["summary"]
    assert counts(settings) == before
    assert predictions(settings) == scored
    assert open_registry(settings.model_registry_uri).champion()["version"] == champion

    status = app.test_client().get(f"/runs/{run['run_id']}").get_json()
    assert status["state"] == "SUCCEEDED"

    # what `make demo` prints after its run: every layer counted, the champion against the oracle,
    # and the five customers most at risk of the predictions just checked
    text = summary(settings, status)
    gold_line = next(line for line in text.splitlines() if line.startswith("gold"))
    assert f"fct_sales {before['fct_sales']:,}" in gold_line.split(", ")
    assert f"champion {champion} vs the oracle" in text
    riskiest = sorted(scored, key=lambda r: (-r["churn_probability"], r["customer_id"]))[:5]
    at_risk = text.split("customers most at risk:\n")[1].splitlines()[:5]
    assert [line.split()[0] for line in at_risk] == [r["customer_id"] for r in riskiest]
