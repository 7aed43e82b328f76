"""GET /docs: the Dataform project's lineage and documentation, next to the dashboard (local mode).

Server-rendered like the dashboard (inline SVG, no script, the same Content-Security-Policy):
the action graph, and each action's description and columns from its SQLX, its assertions, its
row count and the last run that built it (page.py). `winterdays docs --out DIR` writes the same
page as a static file, for a bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue

from lakehouse.settings import Settings
from lakehouse.warehouse import WarehouseBusy, WarehouseMissing, connect
from orchestrator.dashboard import POLICY, RETRY_AFTER_S, _local_and_authenticated, _page
from orchestrator.dashboard.reports import recent_runs
from orchestrator.docs.page import render

docs = Blueprint("docs", __name__, template_folder="templates")
docs.before_request(_local_and_authenticated)
RUNS_READ = 50  # the newest runs searched for each action's last run


@docs.get("/docs")
def show() -> ResponseReturnValue:
    service = current_app.extensions["winterdays"]
    settings = service.settings
    runs, ledger_error = recent_runs(service.resources.ledger, RUNS_READ)
    try:
        with service.reading_warehouse():
            html = page(settings, runs, ledger_error)
    except WarehouseBusy as busy:
        return _page("busy.html", 503, reason=str(busy), retry_after=RETRY_AFTER_S)
    return html, 200, {"Content-Security-Policy": POLICY, "Cache-Control": "no-store"}


def page(settings: Settings, runs: Sequence[Any] | None, ledger_error: str = "") -> str:
    """The page, with the warehouse opened read-only for the time it takes (None when nothing is built)."""
    try:
        warehouse = connect(settings.warehouse.uri, read_only=True)
    except WarehouseMissing:
        warehouse = None
    try:
        return render(settings, runs, warehouse, settings.today(), ledger_error)
    finally:
        if warehouse is not None:
            warehouse.close()
