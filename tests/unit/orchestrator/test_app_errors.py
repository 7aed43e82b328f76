"""orchestrator/app.py's one table: an error of each package's root becomes a JSON answer, never a traceback."""

import logging

import pytest

from generators.errors import GeneratorInputError
from lakehouse.transform import TransformFailed
from lakehouse.warehouse import WarehouseBusy
from mlops.runners import PipelineFailed
from orchestrator.api_input import BadRequest
from orchestrator.app import create_app
from orchestrator.auth import Unauthorized
from orchestrator.engine import NotRetryable, RunInProgress, RunNotFound
from orchestrator.lease import LeaseLost
from orchestrator.ledger import Contended

ERRORS = {
    "bad-request": (BadRequest("logical_date must be YYYY-MM-DD"), 400, {}),
    "unauthorized": (Unauthorized("no bearer token"), 401, {"WWW-Authenticate": "Bearer"}),
    "not-found": (RunNotFound("no run 20260301-abcdef12"), 404, {}),
    "not-retryable": (NotRetryable("run 20260301-abcdef12 already succeeded"), 409, {}),
    "contended": (Contended("too many writers"), 503, {"Retry-After": "5"}),
    "lease-lost": (LeaseLost("another trigger took the lease"), 500, {}),  # orchestrator's root
    "warehouse-busy": (WarehouseBusy("run X is writing the warehouse"), 503, {"Retry-After": "5"}),
    "transform": (TransformFailed("Dataform invocation i ended FAILED"), 500, {}),  # lakehouse's root
    "pipeline": (PipelineFailed("the churn pipeline failed"), 500, {}),  # mlops's root
    "generator": (GeneratorInputError("customers must be at least 1, got 0"), 500, {}),  # generators' root
}


@pytest.fixture
def client(settings):
    app = create_app(settings)
    app.add_url_rule("/raise/<name>", "raise", lambda name: (_ for _ in ()).throw(ERRORS[name][0]))
    return app.test_client()


@pytest.mark.parametrize("name", ERRORS)
def test_each_error_answers_its_status_with_its_message(client, name, caplog):
    error, status, headers = ERRORS[name]
    with caplog.at_level(logging.ERROR):
        response = client.get(f"/raise/{name}")
    assert response.status_code == status
    assert response.get_json() == {"error": str(error)}
    assert "Traceback" not in response.get_data(as_text=True)
    for header, value in headers.items():
        assert response.headers[header] == value
    failures = [r for r in caplog.records if getattr(r, "event", None) == "request_failed"]
    assert bool(failures) == (status >= 500)  # a failure of ours is logged with its traceback
    assert all(r.exc_info and r.exc_info[1] is error for r in failures)


def test_a_run_in_progress_names_the_run_to_poll(client):
    ERRORS["in-progress"] = (RunInProgress("20260301-abcdef12", "2026-03-01"), 409, {})
    try:
        response = client.get("/raise/in-progress")
    finally:
        del ERRORS["in-progress"]
    assert response.status_code == 409
    assert response.headers["Location"] == "/runs/20260301-abcdef12"
    assert response.get_json()["run_id"] == "20260301-abcdef12"
    assert response.get_json()["logical_date"] == "2026-03-01"
