"""The churn signal is learnable from what the generators write, and from nothing else.

Features come from the generated records as they stood on each snapshot date (a late
refund counts only once it is written); the label is what the generated sales show in
the next 30 days: no completed purchase. A plain logistic regression must reach a
ROC AUC of 0.70 on later snapshots than it was trained on.
"""

import datetime as dt
from collections import defaultdict

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from generators.catalog import Catalog
from generators.clickstream import click_events
from generators.population import EPOCH, Population
from generators.sales import daily_sales
from lakehouse.contracts import CHANNELS, REGIONS
from lakehouse.timestamps import parse_timestamp

SEED, CUSTOMERS, EVENTS = 42, 300, 1000
LAST = dt.date(2026, 5, 20)
SNAPSHOTS = [dt.date(2026, 2, 15) + dt.timedelta(days=4 * i) for i in range(20)]  # up to 2026-04-02
HOLDOUT_FROM = dt.date(2026, 3, 15)


def _generated():
    """Every version of every sale, and clickstream events per (customer, day)."""
    versions = []  # (sale_id, day written, (customer, day sold, status, amount, region, channel))
    clicks: dict[tuple[str, dt.date], int] = defaultdict(int)
    population = Population(SEED, CUSTOMERS)
    for sales in daily_sales(population.days(EPOCH, LAST), EPOCH, SEED, Catalog(SEED), "key"):
        for k in range(len(sales)):
            r = sales.record(k)
            sold = parse_timestamp(r["sale_timestamp"]).date()
            versions.append((r["sale_id"], r["updated_at"].date(),
                             (r["customer_id"], sold, r["status"], r["amount"], r["region"], r["channel"])))
        for event in click_events(sales.state, SEED, EVENTS):
            if event["customer_id"]:
                clicks[event["customer_id"], sales.state.day] += 1
    return versions, clicks


def _as_of(versions, day):
    """Each sale as its latest version written on or before `day` showed it."""
    latest = {}
    for sale_id, written, sale in versions:  # versions come in the order they were written
        if written <= day:
            latest[sale_id] = sale
    return latest.values()


def _dataset(versions, clicks):
    final = list(_as_of(versions, LAST))
    rows, labels, days = [], [], []
    for snapshot in SNAPSHOTS:
        history = defaultdict(list)
        for customer, sold, *sale in _as_of(versions, snapshot):
            if sold <= snapshot:
                history[customer].append((sold, *sale))
        bought_next = {customer for customer, sold, status, *_ in final
                       if status == "completed" and snapshot < sold <= snapshot + dt.timedelta(days=30)}
        for customer, sales in history.items():
            completed = [(snapshot - sold).days for sold, status, *_ in sales if status == "completed"]
            if not any(d < 90 for d in completed):
                continue  # active customers only: a completed purchase in the last 90 days
            refunds = sum(status == "refunded" and (snapshot - sold).days < 90 for sold, status, *_ in sales)
            spend = sum(a for sold, status, a, *_ in sales if status == "completed" and (snapshot - sold).days < 30)
            region, channel = max(sales)[3:]
            events = [clicks.get((customer, snapshot - dt.timedelta(days=d)), 0) for d in range(30)]
            rows.append([
                np.log1p(min(completed)),
                sum(d < 30 for d in completed),
                sum(d < 90 for d in completed),
                np.log1p(spend),
                refunds,
                np.log1p(sum(events)),
                np.log1p(sum(events[:7])),
                *(region == r for r in REGIONS[1:]),
                *(channel == c for c in CHANNELS[1:]),
            ])
            labels.append(customer not in bought_next)
            days.append(snapshot)
    return np.array(rows, dtype=float), np.array(labels), np.array(days)


def test_plain_logistic_regression_learns_churn_from_the_generated_records():
    features, churned, days = _dataset(*_generated())
    train, holdout = days < HOLDOUT_FROM, days >= HOLDOUT_FROM
    assert train.sum() > 1000 and holdout.sum() > 1000
    assert 0.1 < churned.mean() < 0.6  # a real mix of outcomes, not a trivial majority
    scaler = StandardScaler().fit(features[train])
    model = LogisticRegression(max_iter=1000).fit(scaler.transform(features[train]), churned[train])
    auc = roc_auc_score(churned[holdout], model.predict_proba(scaler.transform(features[holdout]))[:, 1])
    print(f"learnability: ROC AUC {auc:.3f} on {holdout.sum()} held-out rows, churn rate {churned.mean():.2f}")
    assert auc >= 0.70, f"ROC AUC {auc:.3f}"
