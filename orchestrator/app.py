"""The orchestrator service: a Flask app factory, served by gunicorn on Cloud Run.

Cloud Scheduler calls `POST /runs` once a day; engineers read `GET /runs/<id>`.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Blueprint, Flask, current_app, jsonify, request

from lakehouse import logs
from lakehouse.settings import Settings
from orchestrator.engine import RunFailed, execute
from orchestrator.resources import Resources
from orchestrator.steps import RunOptions

log = logging.getLogger(__name__)
runs = Blueprint("runs", __name__)
MAX_BODY = 16 * 1024


class BadRequest(ValueError):
    pass


def create_app(settings: Settings | None = None, resources: Resources | None = None) -> Flask:
    logs.configure()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY
    settings = settings or Settings.from_env()
    app.extensions["winterdays"] = resources or Resources.from_settings(settings)
    app.register_blueprint(runs)
    app.register_error_handler(BadRequest, lambda e: (jsonify(error=str(e)), 400))
    app.register_error_handler(413, lambda e: (jsonify(error=f"request body over {MAX_BODY} bytes"), 413))
    return app


def _resources() -> Resources:
    return current_app.extensions["winterdays"]


def parse_date(value: object) -> dt.date:
    if not isinstance(value, str):
        raise BadRequest('"date" must be a string YYYY-MM-DD')
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(f'"date" must be YYYY-MM-DD, got {value[:40]!r}') from None
    if len(value) != 10:
        raise BadRequest(f'"date" must be YYYY-MM-DD, got {value[:40]!r}')
    return day


@runs.post("/runs")
def create_run():
    if not request.is_json:
        raise BadRequest("send a JSON body with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest('the body must be a JSON object like {"date": "2026-01-31"}')
    options = RunOptions(logical_date=parse_date(body.get("date")))
    try:
        run = execute(_resources(), options, trigger="http")
    except RunFailed as failure:
        return jsonify(_public(failure.run)), 500
    return jsonify(_public(run)), 200


@runs.get("/runs/<run_id>")
def get_run(run_id: str):
    if not run_id.replace("-", "").isalnum() or len(run_id) > 64:
        raise BadRequest("malformed run id")
    run = _resources().ledger.get(run_id)
    if run is None:
        return jsonify(error=f"no run {run_id}"), 404
    return jsonify(_public(run))


@runs.get("/healthz")
def healthz():
    return jsonify(status="ok")


def _public(run: dict) -> dict:
    """JSON-safe copy (datetimes as ISO strings)."""
    def convert(value):
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, (dt.datetime, dt.date)):
            return value.isoformat()
        return value

    return convert(run)
