import datetime as dt

import numpy as np
import pytest
from churn_data import START, features

from mlops import churn


def dates(table):
    return sorted(set(table.column("snapshot_date").to_pylist()))


def test_split_holds_out_the_latest_week_and_leaves_the_label_horizon_between():
    train, holdout = churn.split_by_time(features())
    assert dates(holdout) == [START + dt.timedelta(days=d) for d in range(43, 50)]
    # every training label window (snapshot, snapshot + 30] closed by the first held-out snapshot
    assert max(dates(train)) + dt.timedelta(days=churn.HORIZON_DAYS) <= min(dates(holdout))
    assert len(dates(train)) == 50 - 7 - 29  # the 29 snapshots in between are used by neither


def test_model_learns_a_signal_and_versions_deterministically():
    train, holdout = churn.split_by_time(features())
    model = churn.train(train, seed=1)
    metrics = churn.evaluate(model, holdout)
    assert metrics["roc_auc"] > 0.8
    assert 0 <= metrics["brier"] <= 0.25
    assert 0 <= metrics["calibration_error"] < 0.1
    assert metrics["top_decile_lift"] > 1.5
    again = churn.train(train, seed=1)
    assert churn.version_of(churn.dump(model)) == churn.version_of(churn.dump(again))


def test_predictions_have_the_declared_columns_and_bands():
    table = features(n_days=1, customers=5)
    train, _ = churn.split_by_time(features())
    rows = churn.predictions(churn.train(train), table, START, "churn-x", "run-1")
    assert rows.column_names == ["customer_id", "snapshot_date", "churn_probability", "risk_band",
                                 "model_version", "pipeline_run_id", "scored_at"]
    assert rows.num_rows == 5
    assert set(rows.column("risk_band").to_pylist()) <= {"low", "medium", "high"}


def test_too_little_history_says_how_much_is_needed():
    with pytest.raises(ValueError, match="no labelled snapshots yet: .* needs 73 days of history"):
        churn.split_by_time(features(n_days=1).slice(0, 0))
    with pytest.raises(ValueError, match="need 43 days of labelled snapshots .* 73 days of history; got 42"):
        churn.split_by_time(features(n_days=42, customers=2))


def test_the_gate_never_lets_a_back_dated_run_replace_a_newer_champion():
    champion = {"version": "churn-new", "metrics": {"roc_auc": 0.70}, "snapshot_date": "2026-03-17"}
    better = {"roc_auc": 0.90}
    passed, reason = churn.gate(better, champion, 0.6, 0.02, snapshot_date=dt.date(2026, 3, 10))
    assert not passed and "2026-03-10 is before champion churn-new's snapshot 2026-03-17" in reason
    assert churn.gate(better, champion, 0.6, 0.02, snapshot_date=dt.date(2026, 3, 17))[0]  # the same date competes
    assert churn.gate(better, champion, 0.6, 0.02, snapshot_date=dt.date(2026, 3, 18))[0]
    assert churn.gate(better, {**champion, "snapshot_date": None}, 0.6, 0.02, snapshot_date=dt.date(2026, 3, 1))[0]


def test_calibration_error_and_confusion_on_known_values():
    y = np.array([0, 0, 1, 1])
    assert churn.calibration_error(y, np.array([0.0, 0.0, 1.0, 1.0])) == 0.0
    assert churn.calibration_error(y, np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(0.0)  # one bin, 0.5 vs 0.5
    assert churn.calibration_error(y, np.array([0.9, 0.9, 0.9, 0.9])) == pytest.approx(0.4)
    assert churn.confusion(y, np.array([0.2, 0.7, 0.9, 0.1])) == [[1, 1], [1, 1]]
    fpr, tpr, thresholds = churn.roc_points(y, np.array([0.1, 0.4, 0.35, 0.8]))
    assert fpr[0] == 0 and tpr[-1] == 1 and max(thresholds) <= 1.0


@pytest.mark.parametrize("candidate, champion, passed, reason", [
    ({"roc_auc": 0.80}, None, True, "no champion yet"),
    ({"roc_auc": 0.65}, None, False, "below the threshold 0.7000"),
    ({}, None, False, "undefined"),
    ({"roc_auc": 0.81}, {"version": "churn-a", "metrics": {"roc_auc": 0.82}}, True, "within 0.0200 of champion"),
    ({"roc_auc": 0.75}, {"version": "churn-a", "metrics": {"roc_auc": 0.82}}, False,
     "0.0700 below champion churn-a"),
])
def test_gate_needs_the_threshold_and_the_champion_within_the_margin(candidate, champion, passed, reason):
    ok, why = churn.gate(candidate, champion, min_auc=0.7, max_auc_drop=0.02)
    assert ok is passed
    assert reason in why
