"""The real SQLX project on DuckDB through the local runner: idempotence, incremental MERGE,
full refresh, point-in-time features, assertion failures and selective runs.

Bronze is synthetic (bench/synthetic_bronze.py) and arrives day by day, as the export
writes it: each run sees the partitions up to its run date. A share of sales is refunded
days later, as a second version of the same sale in a later partition.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.transform import TransformFailed
from lakehouse.transform.actions import Selection
from lakehouse.transform.local import LocalTransformRunner
from lakehouse.warehouse import connect

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "bench"))
from synthetic_bronze import write_bronze  # noqa: E402

pytestmark = pytest.mark.dataform
START, D1, D2 = dt.date(2026, 1, 1), dt.date(2026, 2, 28), dt.date(2026, 3, 10)
GOLD = ("fct_sales", "dim_customer", "fct_click_features", "dim_startup", "customer_churn_features")
FEATURES = ("customer_id", "snapshot_date", "recency_days", "tenure_days", "frequency_30d", "frequency_90d",
            "monetary_30d", "monetary_trend", "refunds_90d", "refund_rate_90d", "events_30d", "sessions_30d",
            "bounce_rate_30d", "add_to_carts_30d", "region", "channel")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("source")
    write_bronze(root, start=START, days=70, sales=6000, events=20000, startups=60, customers=150, refund_share=0.15)
    return root


class Lake:
    """A warehouse and a bronze folder that receives the source's partitions up to a date."""

    def __init__(self, home: Path, source: Path, dataform_dir: Path):
        self.home, self.source = home, source
        self.bronze = home / "bronze"
        self.runner = LocalTransformRunner(dataform_dir, f"duckdb:///{home / 'warehouse.duckdb'}", home / "dataform",
                                           pii_key="test-key")

    def arrive(self, until: dt.date) -> None:
        for partition in self.source.glob("*/dt=*"):
            day = dt.date.fromisoformat(partition.name.removeprefix("dt="))
            target = self.bronze / partition.parent.name / partition.name
            if day <= until and not target.exists():
                shutil.copytree(partition, target)

    def compile(self, run_date: dt.date, window_from: dt.date | None = None) -> str:
        """`window_from`: the first day without a run, as the orchestrator passes it after a gap."""
        extra = {"window_from": window_from.isoformat()} if window_from else {}
        return self.runner.compile({"bronze_uri": str(self.bronze), "pii_key": "test-key",
                                    "run_date": run_date.isoformat(), "snapshot_days": "40", **extra})

    def run(self, compilation: str, selection: Selection | None = None):
        return self.runner.wait(self.runner.invoke(compilation, selection or Selection()))

    def query(self, sql: str) -> list[dict]:
        warehouse = connect(self.runner.warehouse_uri)
        try:
            return warehouse.query(sql)
        finally:
            warehouse.close()

    def checksums(self) -> dict[str, tuple]:
        warehouse = connect(self.runner.warehouse_uri)
        try:
            return {t: warehouse.run_native(
                f"SELECT count(*), md5(string_agg(x::VARCHAR, '|' ORDER BY x::VARCHAR)) "
                f"FROM winter_days_warehouse.{t} AS x").fetchone() for t in GOLD}
        finally:
            warehouse.close()


@pytest.fixture(scope="module")
def lake(tmp_path_factory, source, dataform_dir):
    lake = Lake(tmp_path_factory.mktemp("home"), source, dataform_dir)
    lake.arrive(D1)
    lake.first = lake.compile(D1)
    result = lake.run(lake.first)
    result.raise_for_state()
    lake.after_d1 = lake.checksums()
    lake.features_d1 = lake.query(f"SELECT {', '.join(FEATURES)}, label_complete, churned_30d "
                                  "FROM winter_days_warehouse.customer_churn_features")
    return lake


def test_every_action_reports_state_duration_and_rows(lake):
    result = lake.run(lake.first)
    assert result.state == "SUCCEEDED"
    by_target = {a["target"]: a for a in result.actions}
    fct = by_target["winter_days_warehouse.fct_sales"]
    assert fct["state"] == "SUCCEEDED" and fct["duration_s"] > 0 and fct["file"].endswith("fct_sales.sqlx")
    assert by_target["winter_days_staging.stg_sales"]["rows"] > 0
    assert all(a["state"] == "SUCCEEDED" for a in result.actions)


def test_invoke_reports_each_action_as_it_ends(lake):
    heard = []
    result = lake.runner.wait(lake.runner.invoke(lake.first, Selection(), on_action=heard.append))
    assert [r.n for r in heard] == list(range(1, len(result.actions) + 1))
    assert {r.total for r in heard} == {len(result.actions)}
    assert sorted(r.target for r in heard) == sorted(a["target"] for a in result.actions)
    fct = next(r for r in heard if r.target == "winter_days_warehouse.fct_sales")
    assert fct.state == "SUCCEEDED" and fct.kind == "incremental" and fct.duration_s > 0
    assert any(r.kind == "assertion" and r.state == "SUCCEEDED" for r in heard)
    order = [r.target for r in heard]  # a dependency ends before what needs it
    assert order.index("winter_days_staging.stg_sales") < order.index("winter_days_warehouse.fct_sales")


def test_running_twice_gives_identical_gold_tables(lake):
    lake.run(lake.first).raise_for_state()
    assert lake.checksums() == lake.after_d1


def test_a_second_day_merges_into_fct_sales_without_duplicates_and_a_full_refresh_agrees(lake):
    refunded_before = lake.query("SELECT COUNT(*) AS n FROM winter_days_warehouse.fct_sales WHERE is_refunded")[0]["n"]
    lake.arrive(D2)
    second = lake.compile(D2, window_from=D1 + dt.timedelta(days=1))
    result = lake.run(second)
    result.raise_for_state()
    fct = next(a for a in result.actions if a["target"] == "winter_days_warehouse.fct_sales")
    assert fct["rows"] > 0  # rows the MERGE touched
    counts = lake.query("SELECT COUNT(*) AS n, COUNT(DISTINCT sale_id) AS ids, COUNTIF(is_refunded) AS refunded, "
                        "MAX(sale_date) AS latest FROM winter_days_warehouse.fct_sales")[0]
    assert counts["n"] == counts["ids"]
    assert counts["latest"] == D2
    assert counts["refunded"] > refunded_before  # later versions of earlier sales were merged in
    incremental = lake.checksums()

    lake.run(second, Selection(full_refresh=True)).raise_for_state()
    assert lake.checksums() == incremental


def test_churn_features_of_past_snapshots_do_not_see_later_refunds(lake):
    """Refunds that arrived after D1 changed fct_sales, yet every snapshot up to D1 keeps its features."""
    if lake.query("SELECT MAX(sale_date) AS d FROM winter_days_warehouse.fct_sales")[0]["d"] < D2:
        lake.arrive(D2)
        lake.run(lake.compile(D2, window_from=D1 + dt.timedelta(days=1))).raise_for_state()
    later = lake.query(f"SELECT {', '.join(FEATURES)}, label_complete, churned_30d "
                       f"FROM winter_days_warehouse.customer_churn_features WHERE snapshot_date <= DATE '{D1}'")
    key = lambda r: (r["customer_id"], r["snapshot_date"])  # noqa: E731
    before = {key(r): r for r in lake.features_d1}
    assert len(later) > 100
    for row in later:
        was = before[key(row)]
        assert {f: row[f] for f in FEATURES} == {f: was[f] for f in FEATURES}
        if was["label_complete"]:
            assert row["churned_30d"] == was["churned_30d"]
    refunds_seen_late = lake.query(
        "SELECT COUNT(*) AS n FROM winter_days_staging.stg_sales_versions "
        f"WHERE status = 'refunded' AND sale_date <= DATE '{D1}' AND DATE(updated_at) > DATE '{D1}'")[0]["n"]
    assert refunds_seen_late > 0  # the test is meaningful: the future did change for these snapshots


def test_concurrent_and_sequential_execution_build_the_same_tables(lake, tmp_path, source, dataform_dir):
    sequential = Lake(tmp_path, source, dataform_dir)
    sequential.runner.workers = 1
    sequential.arrive(D1)
    sequential.run(sequential.compile(D1)).raise_for_state()
    assert sequential.checksums() == lake.after_d1


def test_a_failing_assertion_fails_the_run_with_its_name_and_offending_rows(lake):
    stale = lake.compile(D2 + dt.timedelta(days=5))  # nothing arrived for five days
    result = lake.run(stale, Selection(tags=("daily",), include_dependencies=True))
    assert result.state == "FAILED"
    (failed,) = result.failures
    assert failed["target"] == "winter_days_assertions.assert_daily_sources_fresh"
    assert {row["source"] for row in failed["sample"]} == {"stg_sales", "stg_click"}
    with pytest.raises(TransformFailed, match=r"assert_daily_sources_fresh.sqlx: assertion .* 2 offending row\(s\)"):
        result.raise_for_state()


def test_selective_runs_by_tag_and_target(lake):
    only_gold = lake.run(lake.first, Selection(tags=("gold",)))
    assert {a["target"].split(".")[0] for a in only_gold.actions} <= {"winter_days_warehouse", "winter_days_assertions"}
    fct = lake.run(lake.first, Selection(targets=("fct_sales",), include_dependencies=True))
    assert [a["target"] for a in fct.actions] == [
        "winter_days_staging.src_sales", "winter_days_staging.stg_sales_checked",
        "winter_days_staging.stg_sales_versions", "winter_days_staging.stg_sales", "winter_days_warehouse.fct_sales"]
    dependents = lake.run(lake.first, Selection(targets=("dim_startup",), include_dependents=True))
    assert {a["target"] for a in dependents.actions} == {
        "winter_days_warehouse.dim_startup", "winter_days_warehouse.rpt_startups_by_stage",
        "winter_days_assertions.winter_days_warehouse_dim_startup_assertions_uniqueKey_0",
        "winter_days_assertions.winter_days_warehouse_dim_startup_assertions_rowConditions"}


def test_reports_exist_before_any_prediction_and_show_predictions_written_later(lake):
    """Steps 2-4 build the rpt_* views before step 5 first scores: over the empty table Dataform
    creates, then, being views, they show what the pipeline writes, and a later run keeps it."""
    gold = "winter_days_warehouse"
    assert lake.query(f"SELECT COUNT(*) AS n FROM {gold}.rpt_churn_at_risk") == [{"n": 0}]
    assert lake.query(f"SELECT COUNT(*) AS n FROM {gold}.rpt_model_metrics") == [{"n": 0}]
    assert lake.query(f"SELECT COUNT(*) AS n FROM {gold}.rpt_revenue_daily")[0]["n"] > 0
    customers = lake.query(f"SELECT customer_id FROM {gold}.customer_churn_features "
                           f"WHERE snapshot_date = DATE '{D1}' ORDER BY customer_id LIMIT 3")
    written = pa.table({
        "customer_id": [c["customer_id"] for c in customers], "snapshot_date": [D1] * 3,
        "churn_probability": [0.9, 0.5, 0.1], "risk_band": ["high", "medium", "low"],
        "model_version": ["churn-x"] * 3, "pipeline_run_id": ["run-1"] * 3,
        "scored_at": pa.array([dt.datetime(2026, 3, 1, tzinfo=dt.UTC)] * 3, pa.timestamp("us", tz="UTC"))})
    warehouse = connect(lake.runner.warehouse_uri)
    try:  # as the score component writes
        warehouse.write_arrow(written, gold, "fct_predictions_churn", replace_where=f"snapshot_date = DATE '{D1}'")
    finally:
        warehouse.close()
    lake.run(lake.first, Selection(tags=("gold",))).raise_for_state()
    at_risk = lake.query(f"SELECT customer_id, risk_rank FROM {gold}.rpt_churn_at_risk ORDER BY risk_rank")
    assert [r["customer_id"] for r in at_risk] == [c["customer_id"] for c in customers]
