"""No churn feature reads data from after its snapshot: the real export, Dataform project and DuckDB.

Build the warehouse for day D, then let the world move on one day (new sales and clicks,
and a refund of an old sale written as an update of its document, as a late refund is),
run the next day's incremental export and transform, and compare every feature of every
snapshot up to D. Only the label columns may change: they look forward by definition.
"""

import datetime as dt

import pytest
from google.cloud.firestore_v1.base_query import FieldFilter

from generators.jobs import Shard, Volumes, generate
from lakehouse.warehouse import connect
from mlops import churn
from orchestrator.engine import execute
from orchestrator.resources import Resources, document_source
from orchestrator.steps import RunOptions

pytestmark = [pytest.mark.firestore, pytest.mark.dataform]
FIRST, D = dt.date(2026, 1, 1), dt.date(2026, 1, 24)
NEXT = D + dt.timedelta(days=1)
FEATURES = ("customer_id", "snapshot_date", *churn.NUMERIC_FEATURES, *churn.CATEGORICAL_FEATURES)
VOLUMES = Volumes(customers=40, events_per_day=80, startups=10, bad_ratio=0.0)


def build(settings, day, first=False):
    steps = ("export", "compile", "invoke", "wait")
    run = execute(Resources.from_settings(settings), RunOptions(day, full_export=first, steps=steps), trigger="test")
    assert run["state"] == "SUCCEEDED"


def features_up_to(settings, day):
    warehouse = connect(settings.warehouse.uri)
    try:
        return warehouse.query(f"SELECT {', '.join(FEATURES)} "
                               f"FROM `{settings.warehouse.dataset}.customer_churn_features` "
                               f"WHERE snapshot_date <= DATE '{day}' ORDER BY snapshot_date, customer_id")
    finally:
        warehouse.close()


def refund_an_old_sale(firestore, settings):
    """The latest completed sale before D of a customer active at D, refunded on D+1."""
    sales = firestore.collection(settings.firestore.sales_collection)
    completed = [doc for doc in sales.where(filter=FieldFilter("status", "==", "completed")).stream()
                 if doc.get("updated_at").date() < D - dt.timedelta(days=3)]
    doc = max(completed, key=lambda d: d.get("updated_at"))
    refunded_at = dt.datetime.combine(NEXT, dt.time(12), dt.UTC)
    sales.document(doc.id).update({"status": "refunded", "updated_at": refunded_at})
    return doc.get("customer_id")


@pytest.fixture
def history(settings, firestore, dataform_dir):
    generate(settings, document_source(settings), ("sales", "clickstream", "startups"), FIRST, D, VOLUMES, Shard())
    build(settings, D, first=True)
    return features_up_to(settings, D)


def test_new_sales_and_clicks_after_a_snapshot_leave_its_features_unchanged(settings, history):
    generate(settings, document_source(settings), ("sales", "clickstream"), NEXT, NEXT, VOLUMES, Shard())
    build(settings, NEXT)
    assert features_up_to(settings, NEXT) != features_up_to(settings, D)  # the new day is there
    assert features_up_to(settings, D) == history


def test_a_late_refund_leaves_the_features_of_earlier_snapshots_unchanged(settings, firestore, history):
    customer = refund_an_old_sale(firestore, settings)
    build(settings, NEXT)
    changed = [(a["snapshot_date"].isoformat(), {k: (b[k], a[k]) for k in a if a[k] != b[k]})
               for a, b in zip(features_up_to(settings, D), history, strict=True) if a != b]
    assert changed == [], f"a refund of {customer} written on {NEXT} changed its earlier snapshots: {changed}"
