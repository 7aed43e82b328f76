import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from mlops import churn


def features(n_days=40, customers=60, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    start = dt.date(2026, 1, 1)
    for d in range(n_days):
        for c in range(customers):
            recency = int(rng.integers(0, 60))
            rows.append({
                "customer_id": f"C{c}", "snapshot_date": start + dt.timedelta(days=d),
                **{name: float(rng.random()) for name in churn.NUMERIC_FEATURES},
                "recency_days": recency, "region": "north", "channel": "web",
                "churned_30d": bool(recency + rng.normal(0, 10) > 30), "label_complete": True,
            })
    return pa.Table.from_pylist(rows)


def test_split_holds_out_the_latest_snapshots():
    train, holdout = churn.split_by_time(features())
    assert max(train.column("snapshot_date").to_pylist()) < min(holdout.column("snapshot_date").to_pylist())


def test_model_learns_a_signal_and_versions_deterministically():
    train, holdout = churn.split_by_time(features())
    model = churn.train(train, seed=1)
    metrics = churn.evaluate(model, holdout)
    assert metrics["roc_auc"] > 0.8
    assert 0 <= metrics["brier"] <= 0.25
    again = churn.train(train, seed=1)
    assert churn.version_of(churn.dump(model)) == churn.version_of(churn.dump(again))


def test_predictions_have_the_declared_columns_and_bands():
    table = features(n_days=1, customers=5)
    train, _ = churn.split_by_time(features())
    rows = churn.predictions(churn.train(train), table, dt.date(2026, 1, 1), "churn-x", "run-1")
    assert rows.column_names == ["customer_id", "snapshot_date", "churn_probability", "risk_band",
                                 "model_version", "pipeline_run_id", "scored_at"]
    assert set(rows.column("risk_band").to_pylist()) <= {"low", "medium", "high"}


def test_too_little_history_says_so():
    with pytest.raises(ValueError, match="no labelled snapshots"):
        churn.split_by_time(features(n_days=1).slice(0, 0))
    with pytest.raises(ValueError, match="both sides"):
        churn.split_by_time(features(n_days=3))
