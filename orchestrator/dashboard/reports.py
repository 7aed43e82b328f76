"""What the dashboard reads: the gold rpt_* views through the warehouse port, and the run ledger.

Each read answers None when its view is not built yet (no transform has run), and plain
Python values otherwise (DuckDB hands integers of SUMs over as Decimal).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Protocol

from orchestrator.ledger import Ledger, LedgerUnavailable, within
from orchestrator.records import RunRecord

LEDGER_TIMEOUT_S = 10
TREND_DAYS = 60  # the lines over time
WINDOW_DAYS = 30  # the totals (regions, channels, funnel)


Row = dict[str, Any]


class Views(Protocol):
    """What the reports read of the warehouse port."""

    def tables(self, dataset: str) -> list[str]: ...

    def query(self, sql: str) -> list[Row]: ...


def plain(row: Row) -> Row:
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in row.items()}


class Reports:
    """The rpt_* views of one warehouse connection (opened read-only by the caller)."""

    def __init__(self, warehouse: Views, dataset: str):
        self.warehouse, self.dataset = warehouse, dataset
        self.built = set(warehouse.tables(dataset))

    def _rows(self, view: str, sql: str) -> list[Row] | None:
        if view not in self.built:
            return None
        return [plain(r) for r in self.warehouse.query(sql.replace("{view}", f"`{self.dataset}.{view}`"))]

    # -- before ML ---------------------------------------------------------------------------
    def sales_window(self) -> Row | None:
        """The latest sale day and the currency with the most revenue: the frame of the revenue charts."""
        rows = self._rows("rpt_revenue_daily", "SELECT currency, SUM(revenue) AS revenue, MAX(sale_date) AS last_day "
                                               "FROM {view} GROUP BY currency ORDER BY revenue DESC, currency")
        if not rows:
            return None if rows is None else {}
        return {"currency": rows[0]["currency"], "last_day": max(r["last_day"] for r in rows),
                "other_currencies": [r["currency"] for r in rows[1:]]}

    def revenue_by_day(self, window: Row) -> list[Row] | None:
        return self._rows("rpt_revenue_daily", f"""
            SELECT sale_date, SUM(revenue) AS revenue, SUM(orders) AS orders FROM {{view}}
            WHERE currency = '{_literal(window["currency"])}' AND sale_date > {_days_before(window, TREND_DAYS)}
            GROUP BY sale_date ORDER BY sale_date""")

    def revenue_by(self, dimension: str, window: Row) -> list[Row] | None:
        if dimension not in ("region", "channel"):  # a column name: never from a request
            raise ValueError(f"no revenue by {dimension!r}")
        return self._rows("rpt_revenue_daily", f"""
            SELECT {dimension} AS label, SUM(revenue) AS revenue FROM {{view}}
            WHERE currency = '{_literal(window["currency"])}' AND sale_date > {_days_before(window, WINDOW_DAYS)}
            GROUP BY {dimension} ORDER BY revenue DESC, label""")

    def top_products(self, window: Row, limit: int = 10) -> list[Row] | None:
        return self._rows("rpt_top_products", f"""
            SELECT product_id, product_category, revenue_30d, units_30d FROM {{view}}
            WHERE currency = '{_literal(window["currency"])}' AND revenue_30d > 0
            ORDER BY revenue_rank LIMIT {int(limit)}""")

    def active_customers(self) -> list[Row] | None:
        return self._rows("rpt_active_customers", f"""
            SELECT * FROM {{view}}
            WHERE activity_date > DATE_SUB((SELECT MAX(activity_date) FROM {{view}}), INTERVAL {TREND_DAYS} DAY)
            ORDER BY activity_date""")

    def click_days(self) -> list[Row] | None:
        return self._rows("rpt_click_funnel", f"""
            SELECT * FROM {{view}}
            WHERE event_date > DATE_SUB((SELECT MAX(event_date) FROM {{view}}), INTERVAL {TREND_DAYS} DAY)
            ORDER BY event_date""")

    def startups_by_stage(self) -> list[Row] | None:
        return self._rows("rpt_startups_by_stage", "SELECT * FROM {view} ORDER BY stage_order, funding_stage")

    # -- after ML ----------------------------------------------------------------------------
    def risk_distribution(self) -> list[Row] | None:
        return self._rows("rpt_churn_risk_distribution", """
            SELECT snapshot_date, model_version, probability_bucket, risk_band, customers FROM {view}
            WHERE snapshot_date = (SELECT MAX(snapshot_date) FROM {view})
            ORDER BY probability_bucket, risk_band""")

    def at_risk(self, limit: int = 15) -> list[Row] | None:
        return self._rows("rpt_churn_at_risk", f"SELECT * FROM {{view}} ORDER BY risk_rank LIMIT {int(limit)}")

    def latest_predictions(self) -> dt.date | None:
        """The latest snapshot with predictions, features or not (None before any)."""
        rows = self._rows("fct_predictions_churn", "SELECT MAX(snapshot_date) AS latest FROM {view}")
        return rows[0]["latest"] if rows else None

    def model_metrics(self) -> list[Row] | None:
        return self._rows("rpt_model_metrics", "SELECT * FROM {view} ORDER BY registered_at, model_version")

    # -- pipeline health ---------------------------------------------------------------------
    def rejects(self) -> list[Row] | None:
        return self._rows("rpt_rejects", """
            SELECT source, reject_reason, SUM(records) AS records FROM {view}
            GROUP BY source, reject_reason ORDER BY records DESC, source, reject_reason""")


def recent_runs(ledger: Ledger, limit: int = 12) -> tuple[list[RunRecord] | None, str]:
    """The newest runs, or None and why when the ledger (Firestore) does not answer in time."""
    try:
        return within(LEDGER_TIMEOUT_S, lambda: ledger.recent(limit)), ""
    except LedgerUnavailable as silent:
        return None, str(silent)
    except Exception as error:
        return None, f"the run ledger (Firestore) is unreachable: {str(error).splitlines()[0][:200]}"


def _days_before(window: Row, days: int) -> str:
    return f"DATE '{(window['last_day'] - dt.timedelta(days=days)).isoformat()}'"


def _literal(text: str) -> str:
    """A value read from the warehouse itself (a currency code), quoted for a SQL string."""
    return str(text).replace("\\", "\\\\").replace("'", "\\'")
