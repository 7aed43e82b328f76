"""The whole pipeline on a tiny history, with the real emulator, Dataform CLI, DuckDB and kfp.local.

The history and its two runs are built once for the session (tests/support/demo_history.py), since the
dashboard's browser test looks at the same state.
"""

import pytest
from demo_history import GOLD, STRICT_GATE_AUC

from orchestrator.cli.demo_run import summary

pytestmark = [pytest.mark.e2e, pytest.mark.firestore, pytest.mark.dataform]


def test_run_builds_every_layer_and_a_second_run_changes_nothing(demo):
    assert demo.generated["written"]["sales"] > 500

    assert demo.first["state"] == "SUCCEEDED"
    assert set(demo.first["steps"]) == {"export", "compile", "invoke", "wait", "churn"}
    before = demo.counts_after_first
    assert all(before[t] > 0 for t in GOLD), before
    assert before["fct_model_metrics_churn"] == 1  # the champion's metrics, for the reports
    assert {r["model_version"] for r in demo.predictions_after_first} == {demo.champion}

    # the same day again, through the HTTP API this time, with a gate no model passes:
    # the candidate is not registered, the champion scores again, and nothing doubles
    assert demo.second_status == 200, demo.second
    run = demo.second
    assert run["steps"]["wait"]["outputs"]["assertions_failed"] == 0
    churn = run["steps"]["churn"]["outputs"]
    assert 0.5 < churn["roc_auc"] <= 1.0
    assert churn["gate"] == {"passed": False,
                             "reason": f"ROC AUC {churn['roc_auc']:.4f} is below the threshold {STRICT_GATE_AUC:.4f}"}
    assert churn["scored_version"] == demo.champion
    assert f"kept champion {demo.champion}" in churn["summary"]
    assert demo.counts_after_second == before
    assert demo.predictions_after_second == demo.predictions_after_first
    assert demo.champion_after_second == demo.champion
    assert demo.second_read_back["state"] == "SUCCEEDED"

    # what `make demo` prints after its run: every layer counted, the champion against the oracle,
    # and the five customers most at risk of the predictions just checked
    text = summary(demo.settings, demo.second_read_back)
    gold_line = next(line for line in text.splitlines() if line.startswith("gold"))
    assert f"fct_sales {before['fct_sales']:,}" in gold_line.split(", ")
    assert f"champion {demo.champion} vs the oracle" in text
    riskiest = sorted(demo.predictions_after_second, key=lambda r: (-r["churn_probability"], r["customer_id"]))[:5]
    at_risk = text.split("customers most at risk:\n")[1].splitlines()[:5]
    assert [line.split()[0] for line in at_risk] == [r["customer_id"] for r in riskiest]
