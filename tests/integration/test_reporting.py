"""The BI views (dataform/definitions/reporting/rpt_*.sqlx), compiled by the pinned CLI, on DuckDB.

The views' data in a whole run is checked by the dashboard's browser test; here, their shape
and the logic a reader cannot see in a chart: which features a customer's drivers are, the
probability buckets, and that the tables the pipeline writes are created with its column order.
"""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa
import pytest
import sqlglot
from churn_data import features
from sqlglot import exp

from lakehouse.transform.actions import actions_from_graph
from lakehouse.transform.compiler import compile_project
from lakehouse.warehouse.duckdb import DuckDBWarehouse
from mlops import churn
from orchestrator.dashboard.panels import _at_risk
from orchestrator.dashboard.reports import Reports

pytestmark = pytest.mark.dataform
GOLD = "winter_days_warehouse"
TODAY = dt.date(2026, 4, 1)
REPORTS = {"rpt_revenue_daily", "rpt_top_products", "rpt_active_customers", "rpt_click_funnel",
           "rpt_startups_by_stage", "rpt_rejects", "rpt_churn_risk_distribution", "rpt_churn_at_risk",
           "rpt_model_metrics"}


@pytest.fixture(scope="module")
def actions(dataform_dir):
    graph = compile_project(dataform_dir, {"bronze_uri": "/b", "pii_key": "k", "run_date": TODAY.isoformat()})
    return actions_from_graph(graph)


@pytest.fixture
def wh():
    warehouse = DuckDBWarehouse(":memory:")
    warehouse.execute(f"CREATE SCHEMA {GOLD}")
    yield warehouse
    warehouse.close()


def test_every_report_is_a_gold_view_of_the_warehouse_dataset(actions):
    reports = {a.name: a for a in actions.values() if a.name.startswith("rpt_")}
    assert set(reports) == REPORTS
    for report in reports.values():
        assert (report.kind, report.dataset) == ("view", GOLD), report.key
        assert "gold" in report.tags and report.file.startswith("definitions/reporting/")
    post_ml = {"rpt_churn_risk_distribution", "rpt_churn_at_risk"}
    for name in post_ml:
        assert f"{GOLD}.fct_predictions_churn" in reports[name].dependencies


def _created_columns(action) -> list[str]:
    (create,) = [sqlglot.parse_one(q, read="bigquery") for q in action.queries if q.strip()]
    return [column.name for column in create.find_all(exp.ColumnDef)]


def test_tables_the_pipeline_writes_are_created_in_its_column_order(actions):
    """BigQuery's write (INSERT ... SELECT *) goes by position: Dataform's DDL must match the writers."""
    model = churn.train(features(20, customers=30))
    scored = churn.predictions(model, features(1, customers=5, labelled=False), TODAY, "churn-x", "run-1")
    assert _created_columns(actions[f"{GOLD}.fct_predictions_churn"]) == scored.column_names
    recorded = churn.metrics_row("churn-x", {"rows": 10.0, "roc_auc": 0.8}, TODAY, "run-1")
    assert _created_columns(actions[f"{GOLD}.fct_model_metrics_churn"]) == recorded.column_names


def test_driver_features_are_the_models_features(actions):
    query = actions[f"{GOLD}.rpt_churn_at_risk"].query
    assert re.findall(r"'(\w+)' AS feature\b", query)[:len(churn.NUMERIC_FEATURES)] == list(churn.NUMERIC_FEATURES)


def _view(wh, actions, name) -> list[dict]:
    wh.execute(f"CREATE OR REPLACE VIEW `{GOLD}.{name}` AS {actions[f'{GOLD}.{name}'].query}")
    return wh.query(f"SELECT * FROM `{GOLD}.{name}`")


def _predictions(probabilities: dict[str, float]) -> pa.Table:
    ids = list(probabilities)
    return pa.table({
        "customer_id": ids, "snapshot_date": [TODAY] * len(ids),
        "churn_probability": list(probabilities.values()),
        "risk_band": [churn.risk_band(p) for p in probabilities.values()],
        "model_version": ["churn-x"] * len(ids), "pipeline_run_id": ["run-1"] * len(ids),
        "scored_at": pa.array([dt.datetime(2026, 4, 2, tzinfo=dt.UTC)] * len(ids), pa.timestamp("us", tz="UTC")),
    })


def test_a_customers_drivers_are_the_features_on_the_churners_side_of_the_median(wh, actions):
    # history: churn follows recency (churners bought longer ago); today every feature is the same
    # for all five customers but recency, whose median is 3
    history = features(20, customers=30)
    today = {name: [1.0] * 5 for name in churn.NUMERIC_FEATURES}
    today["recency_days"] = [1, 2, 3, 4, 50]
    current = pa.table({"customer_id": [f"T{i}" for i in range(5)], "snapshot_date": [TODAY] * 5, **today,
                        "region": ["north"] * 5, "channel": ["web"] * 5, "churned_30d": [None] * 5,
                        "label_complete": [False] * 5}).cast(history.schema)
    wh.write_arrow(pa.concat_tables([history, current]), GOLD, "customer_churn_features")
    wh.write_arrow(_predictions({"T0": 0.1, "T1": 0.2, "T2": 0.3, "T3": 0.5, "T4": 0.9}), GOLD,
                   "fct_predictions_churn")

    rows = {r["customer_id"]: r for r in _view(wh, actions, "rpt_churn_at_risk")}
    assert [rows[c]["risk_rank"] for c in ("T4", "T3", "T2", "T1", "T0")] == [1, 2, 3, 4, 5]
    assert rows["T4"]["risk_percentile"] == 1.0 and rows["T0"]["risk_percentile"] == 0.0
    for above_median in ("T3", "T4"):
        row = rows[above_median]
        assert row["main_drivers"] == "days since the last purchase"
        assert (row["driver_1"], row["driver_1_median"], row["driver_2"]) == ("recency_days", 3.0, None)
    assert rows["T4"]["driver_1_value"] == 50.0
    assert all(rows[c]["main_drivers"] is None for c in ("T0", "T1", "T2"))  # at or below the median: no driver


def test_only_the_latest_scored_snapshot_is_listed(wh, actions):
    yesterday = TODAY - dt.timedelta(days=1)
    wh.write_arrow(features(2, customers=3, start=yesterday, labelled=False), GOLD, "customer_churn_features")
    earlier = _predictions({"C000": 0.9, "C001": 0.8}).set_column(1, "snapshot_date", pa.array([yesterday] * 2))
    wh.write_arrow(pa.concat_tables([earlier, _predictions({"C002": 0.4})]), GOLD, "fct_predictions_churn")
    assert [(r["customer_id"], r["snapshot_date"]) for r in _view(wh, actions, "rpt_churn_at_risk")] == [
        ("C002", TODAY)]


def test_the_latest_snapshot_with_features_is_listed_after_an_earlier_date_was_run_again(wh, actions):
    # predictions of TODAY stay, but re-running yesterday rebuilt the features up to yesterday
    yesterday = TODAY - dt.timedelta(days=1)
    wh.write_arrow(features(1, customers=2, start=yesterday, labelled=False), GOLD, "customer_churn_features")
    earlier = _predictions({"C000": 0.9, "C001": 0.8}).set_column(1, "snapshot_date", pa.array([yesterday] * 2))
    wh.write_arrow(pa.concat_tables([earlier, _predictions({"C000": 0.4, "C001": 0.3})]), GOLD,
                   "fct_predictions_churn")
    assert sorted((r["customer_id"], r["snapshot_date"]) for r in _view(wh, actions, "rpt_churn_at_risk")) == [
        ("C000", yesterday), ("C001", yesterday)]
    panel = _at_risk(Reports(wh, GOLD))  # the dashboard says which snapshot it shows, and why not the latest
    assert f"Customers most at risk, and their main drivers (snapshot {yesterday})" in panel
    assert f"Predictions of {TODAY} exist" in panel and f"showing {yesterday}, the latest snapshot with both" in panel


def test_probabilities_fall_in_twentieths_and_one_in_the_last(wh, actions):
    wh.write_arrow(_predictions({"a": 0.05, "b": 0.07, "c": 0.31, "d": 1.0, "e": 0.0}), GOLD,
                   "fct_predictions_churn")
    rows = _view(wh, actions, "rpt_churn_risk_distribution")
    assert sorted((r["probability_bucket"], r["risk_band"], r["customers"]) for r in rows) == [
        (0.0, "low", 1), (0.05, "low", 2), (0.3, "medium", 1), (0.95, "high", 1)]
