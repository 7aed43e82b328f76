"""How good is the churn model, against the best possible? The acceptance measurement.

The generator records each customer's true churn probability per day (the oracle:
P(no completed purchase in the next 30 days | its latent state at the end of the day)).
No model of the observable data can beat it on average, so the oracle's ROC AUC on the
holdout is the ceiling; the model is compared with it on exactly the same rows (the
holdout snapshots of mlops.churn.split_by_time, joined on customer_id and snapshot_date),
against the same realised labels.

The oracle lists each customer slot's current customer. A customer of the holdout missing
from that day's list has been replaced in its slot, which happens only after it churned:
its true probability is 1 (the count of such rows is reported).
"""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from lakehouse.storage import ObjectStore
from mlops import churn


def compare_with_oracle(warehouse, dataset: str, oracle_uri: str, as_of: dt.date, model) -> dict:
    labelled = warehouse.query_arrow(churn.features_query(dataset, as_of, training=True))
    _, holdout = churn.split_by_time(labelled)
    dates = sorted(set(holdout.column("snapshot_date").to_pylist()))
    truth = oracle_probabilities(oracle_uri, dates)
    keys = zip(holdout.column("customer_id").to_pylist(), holdout.column("snapshot_date").to_pylist(), strict=True)
    oracle = np.array([truth.get(key, np.nan) for key in keys])
    replaced = np.isnan(oracle)
    oracle[replaced] = 1.0
    y, model_p = churn.labels(holdout), churn.probabilities(model, holdout)
    return {
        "snapshots": [dates[0].isoformat(), dates[-1].isoformat()],
        "rows": int(holdout.num_rows),
        "rows_churned_and_replaced": int(replaced.sum()),
        "positive_rate": float(y.mean()),
        "model_auc": _auc(y, model_p),
        "oracle_auc": _auc(y, oracle),
        "model_lift": churn.top_decile_lift(y, model_p),
        "oracle_lift": churn.top_decile_lift(y, oracle),
    }


def oracle_probabilities(oracle_uri: str, dates: list[dt.date]) -> dict[tuple[str, dt.date], float]:
    """(customer_id, date) -> true churn probability, from oracle/churn/dt=DATE/*.parquet."""
    store = ObjectStore(oracle_uri)
    found: dict[tuple[str, dt.date], float] = {}
    for day in dates:
        files = [p for p in store.list(f"churn/dt={day.isoformat()}") if p.endswith(".parquet")]
        if not files:
            raise FileNotFoundError(f"no oracle for {day} under {store.uri('churn')}: generate that day first")
        table = pa.concat_tables(pq.read_table(io.BytesIO(store.read_bytes(f))) for f in files)
        found.update(zip(zip(table.column("customer_id").to_pylist(), [day] * table.num_rows, strict=True),
                         table.column("churn_probability").to_pylist(), strict=True))
    return found


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p)) if len(set(y)) == 2 else float("nan")
