"""Synthetic rows of gold customer_churn_features, where churn follows recency plus noise."""

import datetime as dt

import numpy as np
import pyarrow as pa

from mlops import churn

START = dt.date(2026, 1, 1)


def features(n_days=50, customers=60, seed=0, start=START, labelled=True):
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(n_days):
        for c in range(customers):
            recency = int(rng.integers(0, 60))
            churned = bool(recency + rng.normal(0, 10) > 30)
            rows.append({
                "customer_id": f"C{c:03d}", "snapshot_date": start + dt.timedelta(days=d),
                **{name: float(rng.random()) for name in churn.NUMERIC_FEATURES},
                "recency_days": recency, "region": "north", "channel": "web",
                "churned_30d": churned if labelled else None, "label_complete": labelled,
            })
    return pa.Table.from_pylist(rows)
