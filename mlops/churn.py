"""The churn model's logic as plain functions; the KFP components are thin wrappers.

Features come from gold `customer_churn_features` (point-in-time per snapshot date).
Training uses only snapshots whose 30-day label window is complete; the holdout is
the latest labelled snapshots, so evaluation looks forward in time like production.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import pickle

import numpy as np
import pyarrow as pa

from lakehouse.contracts import CHANNELS, REGIONS

NUMERIC_FEATURES = (
    "recency_days", "tenure_days", "frequency_30d", "frequency_prev_30d", "frequency_90d",
    "monetary_30d", "monetary_prev_30d", "monetary_trend", "refunds_90d", "refund_rate_90d",
    "events_30d", "events_prev_30d", "sessions_30d", "bounce_rate_30d", "add_to_carts_30d",
)
CATEGORICAL_FEATURES = {"region": REGIONS, "channel": CHANNELS}
LABEL = "churned_30d"
HOLDOUT_DAYS = 7
RISK_BANDS = ((0.6, "high"), (0.3, "medium"), (0.0, "low"))


def features_query(dataset: str, snapshot_date: dt.date, training: bool) -> str:
    # ORDER BY: the calibration's CV folds follow row order, and a warehouse returns rows in any order;
    # without it two runs over the same gold train different models.
    table = f"`{dataset}.customer_churn_features`"
    order = "ORDER BY snapshot_date, customer_id"
    if training:
        return (f"SELECT * FROM {table} WHERE label_complete AND snapshot_date <= DATE '{snapshot_date.isoformat()}' "
                f"{order}")
    return f"SELECT * FROM {table} WHERE snapshot_date = DATE '{snapshot_date.isoformat()}' {order}"


def matrix(table: pa.Table) -> np.ndarray:
    """Numeric features as floats, categoricals one-hot over the contract's values."""
    columns = [np.asarray(table.column(c).to_pylist(), dtype=float) for c in NUMERIC_FEATURES]
    for name, values in CATEGORICAL_FEATURES.items():
        raw = table.column(name).to_pylist()
        columns += [np.array([v == value for v in raw], dtype=float) for value in values]
    return np.nan_to_num(np.column_stack(columns)) if columns else np.zeros((table.num_rows, 0))


def split_by_time(table: pa.Table) -> tuple[pa.Table, pa.Table]:
    """Train on older labelled snapshots, hold out the latest HOLDOUT_DAYS of them."""
    dates = table.column("snapshot_date").to_pylist()
    if not dates:
        raise ValueError("no labelled snapshots yet: churn needs at least 30 days of history after the first sale")
    cutoff = max(dates) - dt.timedelta(days=HOLDOUT_DAYS)
    mask = np.array([d <= cutoff for d in dates])
    if mask.all() or not mask.any():
        raise ValueError(f"need labelled snapshots on both sides of {cutoff} to evaluate; got {len(set(dates))} days")
    return table.filter(pa.array(mask)), table.filter(pa.array(~mask))


def labels(table: pa.Table) -> np.ndarray:
    return np.asarray(table.column(LABEL).to_pylist(), dtype=int)


def train(table: pa.Table, seed: int = 42):
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier

    y = labels(table)
    if len(set(y)) < 2:
        raise ValueError(f"training data has a single class ({y[0] if len(y) else 'none'}); cannot learn churn")
    booster = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_leaf_nodes=15,
                                             l2_regularization=1.0, random_state=seed)
    model = CalibratedClassifierCV(booster, method="isotonic", cv=3)
    model.fit(matrix(table), y)
    return model


def evaluate(model, table: pa.Table) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = labels(table)
    p = model.predict_proba(matrix(table))[:, 1]
    metrics = {"rows": float(len(y)), "positive_rate": float(y.mean()) if len(y) else 0.0}
    if len(set(y)) == 2:
        metrics.update(roc_auc=float(roc_auc_score(y, p)), pr_auc=float(average_precision_score(y, p)),
                       brier=float(brier_score_loss(y, p)), top_decile_lift=top_decile_lift(y, p))
    return metrics


def top_decile_lift(y: np.ndarray, p: np.ndarray) -> float:
    if not len(y) or y.mean() == 0:
        return 0.0
    top = np.argsort(-p)[: max(1, len(p) // 10)]
    return float(y[top].mean() / y.mean())


def risk_band(probability: float) -> str:
    return next(name for floor, name in RISK_BANDS if probability >= floor)


def dump(model) -> bytes:
    return pickle.dumps(model)


def load(blob: bytes):
    return pickle.loads(blob)  # noqa: S301 - only ever our own artifact from the pipeline root


def version_of(blob: bytes) -> str:
    """Deterministic: the same data and seed train the same model and the same version."""
    return "churn-" + hashlib.sha256(blob).hexdigest()[:12]


def predictions(model, table: pa.Table, snapshot_date: dt.date, model_version: str, run_id: str) -> pa.Table:
    probabilities = model.predict_proba(matrix(table))[:, 1] if table.num_rows else np.zeros(0)
    now = dt.datetime.now(dt.UTC)
    n = table.num_rows
    return pa.table({
        "customer_id": table.column("customer_id").cast(pa.string()),
        "snapshot_date": pa.array([snapshot_date] * n, pa.date32()),
        "churn_probability": pa.array(np.round(probabilities, 6), pa.float64()),
        "risk_band": pa.array([risk_band(float(p)) for p in probabilities], pa.string()),
        "model_version": pa.array([model_version] * n, pa.string()),
        "pipeline_run_id": pa.array([run_id] * n, pa.string()),
        "scored_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
    })


def to_parquet(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()
