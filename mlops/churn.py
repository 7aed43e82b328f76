"""The churn model's logic as plain functions; the KFP components are thin wrappers.

Features come from gold `customer_churn_features` (point-in-time per snapshot date).
Training uses only snapshots whose 30-day label window is complete. Evaluation looks
forward in time exactly as production does: at scoring time T the newest complete label
is the one of snapshot T-30, so the holdout (the latest labelled snapshots) is separated
from the training snapshots by the label horizon (see split_by_time).
"""

from __future__ import annotations

import contextlib
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
HORIZON_DAYS = 30  # the label window, and so the gap between training and holdout snapshots
MIN_TRAINING_DAYS = 7
# Labelled snapshot days a model needs: held out, the gap between them and training (the label
# horizon less a day), trained on; each of them needs HORIZON_DAYS after it to be labelled.
MIN_LABELLED_DAYS = HOLDOUT_DAYS + (HORIZON_DAYS - 1) + MIN_TRAINING_DAYS
MIN_HISTORY_DAYS = MIN_LABELLED_DAYS + HORIZON_DAYS  # 73
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
    """Hold out the latest HOLDOUT_DAYS labelled snapshots; train on those whose label window had
    closed by the first of them.

    Without the gap, a customer's training label (no purchase in its next 30 days) overlaps the
    same customer's holdout label, the model learns the answer from near-identical rows, and the
    holdout AUC overstates what production gets: measured above the generator's oracle AUC
    (bench/RESULTS.md). The snapshots inside the gap are used by neither side.
    """
    dates = table.column("snapshot_date").to_pylist()
    if not dates:
        raise ValueError(f"no labelled snapshots yet: a snapshot is labelled {HORIZON_DAYS} days after it, and the "
                         f"churn model needs {MIN_HISTORY_DAYS} days of history: generate a longer history")
    first_holdout = max(dates) - dt.timedelta(days=HOLDOUT_DAYS - 1)
    last_training = first_holdout - dt.timedelta(days=HORIZON_DAYS)
    training_days = {d for d in dates if d <= last_training}
    if len(training_days) < MIN_TRAINING_DAYS:
        raise ValueError(
            f"need {MIN_LABELLED_DAYS} days of labelled snapshots ({HOLDOUT_DAYS} held out, {MIN_TRAINING_DAYS} to "
            f"train on, {HORIZON_DAYS - 1} between them), so {MIN_HISTORY_DAYS} days of history; got "
            f"{len(set(dates))} labelled days ({min(dates)}..{max(dates)}): generate a longer history")
    train_mask = pa.array([d <= last_training for d in dates])
    holdout_mask = pa.array([d >= first_holdout for d in dates])
    return table.filter(train_mask), table.filter(holdout_mask)


def labels(table: pa.Table) -> np.ndarray:
    return np.asarray(table.column(LABEL).to_pylist(), dtype=int)


@contextlib.contextmanager
def single_threaded():
    """One OpenMP thread: on shared cores its spin-waiting threads made one fit 30x slower
    (bench/RESULTS.md), and the tables here are small enough for one core."""
    import sklearn.ensemble  # noqa: F401 - loads the OpenMP runtime, so the limit applies to it
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def train(table: pa.Table, seed: int = 42):
    """Shallow boosted trees, calibrated by isotonic regression on customers the trees did not see.

    Rows of one customer on consecutive days are near copies with the same label: calibration
    folds split by customer, or the calibrator would learn from memorised rows.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import GroupKFold

    y = labels(table)
    if len(set(y)) < 2:
        raise ValueError(f"training data has a single class ({y[0] if len(y) else 'none'}); cannot learn churn")
    x, customers = matrix(table), table.column("customer_id").to_pylist()
    if len(set(customers)) < 3:
        raise ValueError(f"training data has {len(set(customers))} customers; calibration needs at least 3")
    booster = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.05, max_depth=3, min_samples_leaf=100,
                                             l2_regularization=1.0, random_state=seed)
    folds = list(GroupKFold(n_splits=3).split(x, y, groups=customers))
    model = CalibratedClassifierCV(booster, method="isotonic", cv=folds)
    with single_threaded():
        model.fit(x, y)
    return model


def probabilities(model, table: pa.Table) -> np.ndarray:
    if not table.num_rows:
        return np.zeros(0)
    with single_threaded():
        return model.predict_proba(matrix(table))[:, 1]


def evaluate(model, table: pa.Table) -> dict[str, float]:
    """Scalar metrics on labelled rows; ranking ones only when both classes occur."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = labels(table)
    p = probabilities(model, table)
    metrics = {"rows": float(len(y)), "positive_rate": float(y.mean()) if len(y) else 0.0,
               "mean_probability": float(p.mean()) if len(p) else 0.0}
    if len(y):
        metrics.update(brier=float(brier_score_loss(y, p, labels=[0, 1])), calibration_error=calibration_error(y, p))
    if len(set(y)) == 2:
        metrics.update(roc_auc=float(roc_auc_score(y, p)), pr_auc=float(average_precision_score(y, p)),
                       top_decile_lift=top_decile_lift(y, p))
    return metrics


def calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the row-weighted gap between predicted and observed rates per bin."""
    which = np.minimum((p * bins).astype(int), bins - 1)
    gap = sum(abs(p[which == b].mean() - y[which == b].mean()) * (which == b).sum()
              for b in range(bins) if (which == b).any())
    return float(gap / len(y))


def roc_points(y: np.ndarray, p: np.ndarray, max_points: int = 50) -> tuple[list, list, list]:
    """The ROC curve thinned to at most max_points (fpr, tpr, threshold), for KFP ClassificationMetrics."""
    from sklearn.metrics import roc_curve

    fpr, tpr, thresholds = roc_curve(y, p)
    keep = np.unique(np.linspace(0, len(fpr) - 1, min(max_points, len(fpr))).astype(int))
    finite = np.minimum(thresholds[keep], 1.0)  # the first threshold is +inf
    return fpr[keep].tolist(), tpr[keep].tolist(), finite.tolist()


def confusion(y: np.ndarray, p: np.ndarray, threshold: float = 0.5) -> list[list[int]]:
    """Rows: actual stays / churns; columns: predicted stays / churns."""
    predicted = p >= threshold
    return [[int(((y == a) & (predicted == b)).sum()) for b in (False, True)] for a in (0, 1)]


def gate(candidate: dict, champion: dict | None, min_auc: float, max_auc_drop: float,
         snapshot_date: dt.date | None = None) -> tuple[bool, str]:
    """Promote only a model that is good in absolute terms and not worse than the champion, and never one
    of a back-dated run: a model trained on snapshots up to `snapshot_date`, before the champion's own,
    knows less than the champion, and its holdout is older, so its AUC does not compare (docs/churn-model.md)."""
    newer = champion.get("snapshot_date") if champion else None
    if champion and newer and snapshot_date and snapshot_date.isoformat() < newer:
        return False, (f"back-dated: snapshot {snapshot_date} is before champion {champion['version']}'s snapshot "
                       f"{newer}; a run for an earlier date never replaces a newer champion")
    auc = candidate.get("roc_auc")
    if auc is None:
        return False, "ROC AUC is undefined: the holdout has a single class"
    if auc < min_auc:
        return False, f"ROC AUC {auc:.4f} is below the threshold {min_auc:.4f}"
    if champion is None:
        return True, f"ROC AUC {auc:.4f} >= {min_auc:.4f}; no champion yet"
    best = champion["metrics"].get("roc_auc", 0.0)
    if auc < best - max_auc_drop:
        return False, (f"ROC AUC {auc:.4f} is {best - auc:.4f} below champion {champion['version']} "
                       f"({best:.4f}); the allowed drop is {max_auc_drop:.4f}")
    return True, (f"ROC AUC {auc:.4f} >= {min_auc:.4f} and within {max_auc_drop:.4f} of champion "
                  f"{champion['version']} ({best:.4f})")


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
    scores = probabilities(model, table)
    now = dt.datetime.now(dt.UTC)
    n = table.num_rows
    return pa.table({
        "customer_id": table.column("customer_id").cast(pa.string()),
        "snapshot_date": pa.array([snapshot_date] * n, pa.date32()),
        "churn_probability": pa.array(np.round(scores, 6), pa.float64()),
        "risk_band": pa.array([risk_band(float(p)) for p in scores], pa.string()),
        "model_version": pa.array([model_version] * n, pa.string()),
        "pipeline_run_id": pa.array([run_id] * n, pa.string()),
        "scored_at": pa.array([now] * n, pa.timestamp("us", tz="UTC")),
    })


# fct_model_metrics_churn's columns after the version's identity, in the table's order
# (dataform/definitions/warehouse/fct_model_metrics_churn.sqlx): column -> the metric it holds.
METRIC_COLUMNS = {
    "holdout_rows": "rows", "positive_rate": "positive_rate", "mean_probability": "mean_probability",
    "roc_auc": "roc_auc", "pr_auc": "pr_auc", "brier": "brier", "calibration_error": "calibration_error",
    "top_decile_lift": "top_decile_lift",
}


def metrics_row(model_version: str, metrics: dict, snapshot_date: dt.date, run_id: str) -> pa.Table:
    """A registered version's row of fct_model_metrics_churn; a metric the holdout could not give is NULL."""
    row = {
        "model_version": pa.array([model_version], pa.string()),
        "snapshot_date": pa.array([snapshot_date], pa.date32()),
        "pipeline_run_id": pa.array([run_id], pa.string()),
        "registered_at": pa.array([dt.datetime.now(dt.UTC)], pa.timestamp("us", tz="UTC")),
    }
    for column, metric in METRIC_COLUMNS.items():
        value = metrics.get(metric)
        if column == "holdout_rows":
            row[column] = pa.array([None if value is None else int(value)], pa.int64())
        else:
            row[column] = pa.array([value], pa.float64())
    return pa.table(row)


def to_parquet(table: pa.Table) -> bytes:
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()
