"""Incremental silver and gold on the real SQLX project, DuckDB and the Dataform CLI.

Bronze arrives day by day, and some of it late: refunds and clickstream events written into
a partition two days after that partition's own run (inside the three-day lookback). After a
sequence of daily runs, every silver and gold table must equal a --full-refresh build from the
same bronze; and a run for a past date (with or without data) must change no row.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sys
from pathlib import Path

import duckdb
import pytest

from lakehouse.transform.actions import Selection
from lakehouse.transform.local import LocalTransformRunner
from lakehouse.warehouse import connect
from orchestrator.steps import transform_window_from

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from synthetic_bronze import write_bronze  # noqa: E402

pytestmark = pytest.mark.dataform
START = dt.date(2026, 1, 1)
FIRST = START + dt.timedelta(days=37)  # the first run builds everything up to here
DAYS = [FIRST + dt.timedelta(days=n) for n in range(1, 6)]  # then one run a day
LATE_BY = 2  # late files reach their partition this many days after its date (lookback: 3)
DATASETS = ("winter_days_staging", "winter_days_warehouse")


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    root = tmp_path_factory.mktemp("source")
    write_bronze(root / "on_time", start=START, days=45, sales=4500, events=9000, startups=30, customers=120,
                 refund_share=0.15)
    late = root / "late"
    late_days = [FIRST - dt.timedelta(days=1), *DAYS[:-LATE_BY]]
    _late_refunds(root / "on_time" / "sales", late / "sales", late_days)
    _late_events(root / "on_time" / "clickstream", late / "clickstream", late_days)
    return root


def _late_refunds(sales: Path, late: Path, days: list[dt.date]) -> None:
    """Refunds of sales made the day before, written into each day's partition late (with a reject)."""
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    for day in days:
        target = late / f"dt={day}"
        target.mkdir(parents=True)
        con.execute(f"""
            COPY ((SELECT * REPLACE ('refunded' AS status, TIMESTAMPTZ '{day} 20:00:00+00' AS updated_at,
                                     TIMESTAMPTZ '{day} 20:00:00+00' + INTERVAL {LATE_BY} DAY AS exported_at)
                   FROM read_parquet('{sales}/dt={day - dt.timedelta(days=1)}/*.parquet')
                   WHERE status = 'completed' ORDER BY sale_id LIMIT 8)
                  UNION ALL  -- and one that breaks a silver rule, for the rejects
                  (SELECT * REPLACE (CAST(amount + 1 AS DECIMAL(18, 2)) AS amount)
                   FROM read_parquet('{sales}/dt={day}/*.parquet') ORDER BY sale_id LIMIT 1))
            TO '{target}/part-late.parquet' (FORMAT PARQUET)""")
    con.close()


def _late_events(clicks: Path, late: Path, days: list[dt.date]) -> None:
    """Events of each day loaded two days later: new event ids, in the day's partition."""
    for day in days:
        lines = (clicks / f"dt={day}").glob("*.json")
        events = [json.loads(line) for path in lines for line in path.read_text().splitlines()][:40]
        for event in events:
            event["event_id"] = "L" + event["event_id"]
            event["load_timestamp"] = f"{day + dt.timedelta(days=LATE_BY)}T09:00:00.000Z"
        target = late / f"dt={day}"
        target.mkdir(parents=True)
        lines = [json.dumps(e) for e in events] + ['{"event_id": "cut off']  # and a line to reject
        (target / "part-late.json").write_text("".join(line + "\n" for line in lines))


class History:
    """A warehouse fed by daily runs; bronze arrives on time, late files LATE_BY days later."""

    def __init__(self, home: Path, source: Path, dataform_dir: Path):
        self.source, self.bronze = source, home / "bronze"
        self.runner = LocalTransformRunner(dataform_dir, f"duckdb:///{home / 'warehouse.duckdb'}", home / "dataform",
                                  workers=1)

    def arrive(self, day: dt.date) -> None:
        for kind, due in (("on_time", day), ("late", day - dt.timedelta(days=LATE_BY))):
            for path in (self.source / kind).glob("*/dt=*/*"):
                if dt.date.fromisoformat(path.parent.name.removeprefix("dt=")) <= due:
                    target = self.bronze / path.relative_to(self.source / kind)
                    if not target.exists():
                        target.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copy2(path, target)

    def run(self, day: dt.date, full_refresh: bool = False) -> None:
        compilation = self.runner.compile({"bronze_uri": str(self.bronze), "pii_key": "test-key",
                                           "run_date": day.isoformat(), "snapshot_days": "40",
                                           "lookback_days": "3"})
        self.runner.wait(self.runner.invoke(compilation, Selection(full_refresh=full_refresh))).raise_for_state()

    def checksums(self) -> dict[str, tuple]:
        """Row count and an order-free checksum of every silver and gold table."""
        warehouse = connect(self.runner.warehouse_uri)
        try:
            tables = warehouse.run_native(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                f"WHERE table_type = 'BASE TABLE' AND table_schema IN {DATASETS}").fetchall()
            return {t: warehouse.run_native(
                f"SELECT count(*), md5(string_agg(x::VARCHAR, '|' ORDER BY x::VARCHAR)) FROM {t} AS x").fetchone()
                for (t,) in tables}
        finally:
            warehouse.close()

    def count(self, sql: str) -> int:
        warehouse = connect(self.runner.warehouse_uri)
        try:
            return warehouse.run_native(sql).fetchone()[0]
        finally:
            warehouse.close()


@pytest.fixture(scope="module")
def history(tmp_path_factory, source, dataform_dir):
    history = History(tmp_path_factory.mktemp("home"), source, dataform_dir)
    for day in [FIRST, *DAYS]:
        history.arrive(day)
        history.run(day)
    history.incremental = history.checksums()
    return history


def test_daily_runs_with_late_refunds_and_events_equal_a_full_refresh(history):
    late_refunds = history.count(
        "SELECT count(*) FROM winter_days_staging.stg_sales_versions WHERE updated_at = "
        "CAST(bronze_date AS TIMESTAMP) + INTERVAL 20 HOUR AND exported_at > updated_at + INTERVAL 1 DAY")
    late_events = history.count("SELECT count(*) FROM winter_days_staging.stg_click WHERE event_id LIKE 'L%'")
    assert late_refunds >= 8 * 4 and late_events >= 40 * 4  # the late files did reach silver
    empty = {t for t, (rows, _) in history.incremental.items() if not rows}
    assert len(history.incremental) >= 14 and empty <= {  # the ML pipeline's; the startups feed has no bad line
        "winter_days_warehouse.fct_predictions_churn", "winter_days_warehouse.fct_model_metrics_churn",
        "winter_days_staging.stg_startups_rejects"}

    history.run(DAYS[-1], full_refresh=True)
    assert history.checksums() == history.incremental


@pytest.mark.parametrize("day", [dt.date(2000, 1, 1), DAYS[1]], ids=["no-data", "already-run"])
def test_a_run_for_a_past_date_changes_no_row(history, day):
    before = history.checksums()
    history.run(day)
    assert history.checksums() == before


class _Ledger:
    """Runs of earlier dates, latest date first, as orchestrator.ledger.Ledger.before streams them."""

    def __init__(self, runs: list[dict]):
        self.runs = runs

    def before(self, logical_date: str):
        return (r for r in sorted(self.runs, key=lambda r: r["logical_date"], reverse=True)
                if r["logical_date"] < logical_date)


def _run(day: str, wait: str) -> dict:
    return {"logical_date": day, "steps": {"wait": {"state": wait}}}


def test_after_days_without_a_transform_the_window_reaches_back_to_them():
    ledger = _Ledger([_run("2026-03-01", "SUCCEEDED"), _run("2026-03-04", "FAILED")])
    assert transform_window_from(ledger, dt.date(2026, 3, 6)) == dt.date(2026, 3, 2)
    assert transform_window_from(ledger, dt.date(2026, 3, 2)) is None  # the daily case: the lookback suffices
    assert transform_window_from(_Ledger([]), dt.date(2026, 3, 2)) is None
