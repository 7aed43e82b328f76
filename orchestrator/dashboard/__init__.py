"""GET /dashboard: the local dashboard of the gold layer, churn risk and pipeline health.

Server-rendered HTML with inline SVG (charts.py), no script and nothing fetched: it works
offline, and its Content-Security-Policy lets the browser load nothing else. It reads the gold
rpt_* views through the warehouse port, read-only, one connection per request, between this
process's runs (Service.reading_warehouse); while a run writes, it answers 503 "warehouse busy".
Local mode only: in gcp, Looker Studio is the dashboard (`winterdays looker-url`). When
WINTERDAYS_OIDC_AUDIENCE is set it asks for the same Google-signed ID token as /runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from lakehouse.settings import Settings
from lakehouse.warehouse import Warehouse, WarehouseBusy, WarehouseCorrupt, WarehouseMissing, connect
from orchestrator.dashboard import panels
from orchestrator.dashboard.reports import Reports, Row, recent_runs
from orchestrator.records import RunRecord

dashboard = Blueprint("dashboard", __name__, template_folder="templates")
RETRY_AFTER_S = 5
# nothing but this page: no script, no external style, font or image
POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; "
          "frame-ancestors 'none'")


@dashboard.before_request
def _local_and_authenticated() -> ResponseReturnValue | None:
    service = current_app.extensions["winterdays"]  # orchestrator.app.Service, which imports this blueprint
    if not service.resources.local_dashboard:
        return _page("local_only.html", 404)
    if service.verifier is not None:
        service.verifier.verify(request.headers.get("Authorization"))
    return None


@dashboard.get("/dashboard")
def show() -> ResponseReturnValue:
    service = current_app.extensions["winterdays"]  # orchestrator.app.Service, which imports this blueprint
    settings = service.settings
    runs, ledger_error = recent_runs(service.resources.ledger)
    try:
        with service.reading_warehouse():
            sections, facts = _read(settings, runs, ledger_error)
    except WarehouseBusy as busy:
        return _page("busy.html", 503, reason=str(busy), retry_after=RETRY_AFTER_S)
    except WarehouseCorrupt as corrupt:  # waiting would not help, unlike busy
        return _page("corrupt.html", 500, reason=str(corrupt))
    return _page("dashboard.html", 200, sections=sections, facts=facts)


def _read(settings: Settings, runs: list[RunRecord] | None,
          ledger_error: str) -> tuple[dict[str, list[Markup]], dict[str, Any]]:
    warehouse: Warehouse | None
    try:
        warehouse = connect(settings.warehouse.uri, read_only=True)
    except WarehouseMissing:
        warehouse = None  # no run yet: every chart says so
    try:
        reports = Reports(warehouse or _Nothing(), settings.warehouse.dataset)
        sections = {"before": panels.before_ml(reports), "after": panels.after_ml(reports),
                    "health": panels.health(reports, runs, ledger_error)}
        window = reports.sales_window() or {}
    finally:
        if warehouse is not None:
            warehouse.close()
    facts = {"as_of": window.get("last_day"), "warehouse": settings.warehouse.path,
             "built": warehouse is not None, "latest_run": runs[0] if runs else None,
             "rendered": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")}
    return sections, facts


class _Nothing:
    """The warehouse before any run: no views."""

    def tables(self, dataset: str) -> list[str]:
        return []

    def query(self, sql: str) -> list[Row]:
        raise WarehouseMissing("no run has built the warehouse yet")


def _page(template: str, status: int, **context: Any) -> ResponseReturnValue:
    headers = {"Content-Security-Policy": POLICY, "Cache-Control": "no-store"}
    if status == 503:
        headers["Retry-After"] = str(RETRY_AFTER_S)
    return render_template(template, **context), status, headers
