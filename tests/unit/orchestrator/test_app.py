"""The HTTP API on the real Firestore emulator: validation, answers, single flight, probes."""

import datetime as dt
import json
import logging
import threading
import time
from collections import Counter

import pytest

from lakehouse.logs import JsonFormatter
from orchestrator.app import create_app
from orchestrator.resources import Resources
from orchestrator.steps import STEPS

pytestmark = pytest.mark.firestore
DAY = "2026-03-01"


def make_client(settings, **overrides):
    settings = settings.with_overrides(**overrides)
    return create_app(settings, Resources.from_settings(settings)).test_client()


@pytest.fixture
def client(settings, firestore):
    return make_client(settings)


def stored(firestore, settings):
    return {c: [d.id for d in firestore.collection(c).stream()]
            for c in (settings.firestore.runs_collection, settings.firestore.leases_collection)}


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_checks_firestore_the_transform_and_bronze(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ready", "checks": {"firestore": "ok", "transform": "ok", "bronze": "ok"}}


def test_readyz_reports_an_unreachable_dependency(settings, firestore, tmp_path):
    (tmp_path / "not-a-folder").write_text("x")  # the warehouse path's folder is a file: DuckDB cannot open it
    client = make_client(settings, storage={"home": tmp_path / "not-a-folder" / "home"})
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["transform"].startswith("unreachable")
    assert response.get_json()["checks"]["firestore"] == "ok"


@pytest.mark.parametrize(
    "kwargs, status, message",
    [
        ({"data": "date=2026-03-01"}, 415, "Content-Type: application/json"),
        ({"data": "{not json", "content_type": "application/json"}, 400, "not valid JSON"),
        ({"json": ["2026-03-01"]}, 400, "JSON object"),
        ({"json": {"date": "2026-13-01"}}, 400, "real date"),
        ({"json": {"date": "2026-02-30"}}, 400, "real date"),
        ({"json": {"date": "1999-12-31"}}, 400, "between 2000-01-01 and today"),
        ({"json": {"date": "2999-01-01"}}, 400, "between 2000-01-01 and today"),
        ({"json": {"date": "20260301"}}, 400, "YYYY-MM-DD"),
        ({"json": {"date": "2026-03-01'; DROP TABLE x; --"}}, 400, "YYYY-MM-DD"),
        ({"json": {"date": "2026-03-01T00:00:00"}}, 400, "YYYY-MM-DD"),
        ({"json": {"date": 20260301}}, 400, "must be a string"),
        ({"json": {"date": DAY, "steps": ["export", "drop_tables"]}}, 400, "unknown step(s) ['drop_tables']"),
        ({"json": {"date": DAY, "steps": "export"}}, 400, "list of step names"),
        ({"json": {"date": DAY, "steps": ["export", "export"]}}, 400, "twice"),
        ({"json": {"date": DAY, "steps": ["wait"]}}, 400, "needs step invoke"),
        ({"json": {"date": DAY, "tags": ["gold'); DELETE FROM x; --"]}}, 400, "malformed tag"),
        ({"json": {"date": DAY, "tags": ["../../etc/passwd"]}}, 400, "malformed tag"),
        ({"json": {"date": DAY, "tags": [f"t{i}" for i in range(21)]}}, 400, "at most 20"),
        ({"json": {"date": DAY, "force": "yes"}}, 400, '"force" must be true or false'),
        ({"json": {"date": DAY, "full_refresh": 1}}, 400, '"full_refresh" must be true or false'),
        ({"json": {"date": DAY, "dataset": "x"}}, 400, "unknown field(s) ['dataset']"),
        ({"json": {"date": "x" * 20000}}, 413, "request body over"),
    ],
)
def test_malformed_requests_get_a_clear_4xx_and_leave_the_ledger_alone(client, settings, firestore, kwargs, status,
                                                                        message):
    response = client.post("/runs", **kwargs)
    assert response.status_code == status
    assert message in response.get_json()["error"]
    collections = settings.firestore
    assert stored(firestore, settings) == {collections.runs_collection: [], collections.leases_collection: []}


@pytest.mark.parametrize(
    "method, path, kwargs, status, message",
    [
        ("get", "/runs/..%2F..%2Fetc", {}, 404, "not found"),  # decoded to a path no route matches
        ("get", "/runs/20260301-abcdef12'%20OR%201=1", {}, 400, "malformed run id"),
        ("get", "/runs/20260301-abcdef12", {}, 404, "no run 20260301-abcdef12"),
        ("get", "/runs?date=yesterday", {}, 400, "YYYY-MM-DD"),
        ("get", "/runs?state=DONE", {}, 400, '"state" must be one of'),
        ("get", "/runs?limit=1000", {}, 400, '"limit" must be a whole number from 1 to 100'),
        ("get", "/runs?order=created_at", {}, 400, "unknown query parameter(s) ['order']"),
        ("post", "/runs/20260301-abcdef12/retry", {}, 404, "no run 20260301-abcdef12"),
        ("post", "/runs/20260301-abcdef12/retry", {"json": {"force": True}}, 400, "unknown field(s) ['force']"),
        ("post", "/runs/20260301-abcdef12/retry", {"json": {"from": "load"}}, 400, '"from" must be a step name'),
        ("post", "/runs/20260301-abcdef12/retry", {"data": "x", "content_type": "text/plain"}, 415, "application/json"),
        ("delete", "/runs/20260301-abcdef12", {}, 405, "not allowed"),
        ("get", "/nowhere", {}, 404, "not found"),
    ],
)
def test_malformed_paths_and_queries_get_a_clear_4xx(client, settings, firestore, method, path, kwargs, status,
                                                      message):
    response = getattr(client, method)(path, **kwargs)
    assert response.status_code == status
    assert message in response.get_json()["error"]
    collections = settings.firestore
    assert stored(firestore, settings) == {collections.runs_collection: [], collections.leases_collection: []}


def test_a_run_and_its_idempotent_repeat(client, blocking_step):
    started, release = blocking_step
    release.set()
    first = client.post("/runs", json={"date": DAY})
    assert first.status_code == 200 and first.get_json()["outcome"] == "new"
    run = first.get_json()
    assert run["state"] == "SUCCEEDED" and run["steps"]["export"]["outputs"] == {"exported": 3}

    again = client.post("/runs", json={"date": DAY})
    assert again.status_code == 200 and again.get_json()["outcome"] == "existing"
    assert again.get_json()["run_id"] == run["run_id"]

    forced = client.post("/runs", json={"date": DAY, "force": True})
    assert forced.get_json()["outcome"] == "new" and forced.get_json()["run_id"] != run["run_id"]

    listed = client.get(f"/runs?date={DAY}&state=succeeded").get_json()["runs"]
    assert [r["run_id"] for r in listed] == [forced.get_json()["run_id"], run["run_id"]]
    assert listed[0]["steps"]["export"] == "SUCCEEDED"
    assert client.post(f"/runs/{run['run_id']}/retry").status_code == 409


def test_async_answers_202_and_a_second_trigger_gets_409_with_the_run_id(client, blocking_step):
    started, release = blocking_step
    accepted = client.post("/runs", json={"date": DAY, "wait": False})
    assert accepted.status_code == 202
    run_id = accepted.get_json()["run_id"]
    assert accepted.headers["Location"] == f"/runs/{run_id}"
    assert started.wait(10)

    busy = client.post("/runs", json={"date": DAY})
    assert busy.status_code == 409
    assert busy.get_json()["run_id"] == run_id and "in progress" in busy.get_json()["error"]
    running = client.get(f"/runs/{run_id}").get_json()
    assert running["steps"]["export"]["state"] == "RUNNING" and running["interrupted"] is False
    assert client.get("/readyz").get_json()["checks"]["transform"] == f"ok (in use by run {run_id})"

    release.set()
    assert poll(client, run_id)["state"] == "SUCCEEDED"


def test_the_dashboard_answers_busy_while_a_run_of_this_process_writes(settings, firestore, blocking_step):
    app = create_app(settings, Resources.from_settings(settings))
    client = app.test_client()
    started, release = blocking_step
    run_id = client.post("/runs", json={"date": DAY, "wait": False}).get_json()["run_id"]
    assert started.wait(10)
    busy = client.get("/dashboard")
    assert busy.status_code == 503 and busy.headers["Retry-After"] == "5"
    assert "Warehouse busy" in busy.text and f"run {run_id} is writing the warehouse" in busy.text
    running = app.extensions["winterdays"].active[run_id]
    release.set()
    assert running.result(timeout=30)["state"] == "SUCCEEDED"
    assert client.get("/dashboard").status_code == 200


def test_sync_answers_202_at_the_deadline_while_the_run_goes_on(settings, firestore, blocking_step):
    started, release = blocking_step
    client = make_client(settings, service={"request_deadline_s": 0.5})
    accepted = client.post("/runs", json={"date": DAY})
    assert accepted.status_code == 202 and accepted.get_json()["state"] == "RUNNING"
    release.set()
    assert poll(client, accepted.get_json()["run_id"])["state"] == "SUCCEEDED"


def test_a_failed_run_answers_500_and_retry_resumes_it(client, monkeypatch):
    outcomes = iter([RuntimeError("BigQuery quota exceeded"), {"exported": 1}])

    def flaky_export(ctx):
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setitem(STEPS, "export", flaky_export)
    failed = client.post("/runs", json={"date": DAY, "steps": ["export"]})
    assert failed.status_code == 500
    body = failed.get_json()
    assert body["state"] == "FAILED" and body["failed_step"] == "export" and "quota" in body["error"]

    retried = client.post(f"/runs/{body['run_id']}/retry", json={"wait": True})
    assert retried.status_code == 200
    assert retried.get_json()["outcome"] == "resumed" and retried.get_json()["attempt"] == 2


def test_retry_from_a_named_step_runs_it_and_every_later_step_again(client, monkeypatch):
    ran = []

    def step(name):
        def body(ctx):
            ran.append(name)
            if name == "wait" and ran.count("export") == 1:  # the source data is fixed before the retry
                raise RuntimeError("assert_daily_sources_fresh failed: stg_sales is stale")
            return {"step": name}
        return body

    for name in ("export", "compile", "invoke", "wait"):
        monkeypatch.setitem(STEPS, name, step(name))
    failed = client.post("/runs", json={"date": DAY, "steps": ["export", "compile", "invoke", "wait"]}).get_json()
    assert failed["failed_step"] == "wait"
    run_id = failed["run_id"]
    assert client.post(f"/runs/{run_id}/retry", json={"from": "wait", "wait": True}).status_code == 500
    assert client.post(f"/runs/{run_id}/retry", json={"from": "churn", "wait": True}).status_code == 409  # not its step
    retried = client.post(f"/runs/{run_id}/retry", json={"from": "export", "wait": True})
    assert retried.status_code == 200 and retried.get_json()["attempt"] == 3
    assert ran == ["export", "compile", "invoke", "wait", "wait", "export", "compile", "invoke", "wait"]


def test_fifty_concurrent_triggers_run_one_export(client, settings, firestore, monkeypatch):
    """The real export step (of an empty day), wrapped to count how often it runs."""
    real_export, runs = STEPS["export"], []

    def counted(ctx):
        runs.append(ctx.run_id)
        time.sleep(0.5)  # let the burst overlap the run
        return real_export(ctx)

    monkeypatch.setitem(STEPS, "export", counted)
    answers = []

    def trigger():
        response = client.post("/runs", json={"date": DAY, "steps": ["export"]})
        answers.append((response.status_code, response.get_json(), response.headers.get("Retry-After")))

    threads = [threading.Thread(target=trigger) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    statuses = Counter(status for status, _, _ in answers)
    # 503 is the documented answer when the ledger stays contended past its retries: "try again"
    assert sum(statuses.values()) == 50 and set(statuses) <= {200, 409, 503}, statuses
    assert all(retry_after for status, _, retry_after in answers if status == 503)
    assert len(runs) == 1
    run_ids = {body["run_id"] for status, body, _ in answers if status != 503}
    assert run_ids == {runs[0]}  # every 409 and every 200 names the one run
    assert [b["outcome"] for s, b, _ in answers if s == 200].count("new") == 1
    assert stored(firestore, settings)[settings.firestore.runs_collection] == runs


class JsonLines(logging.Handler):
    """Formats each record as it is emitted, in the logging thread's context, as the real handler does."""

    def __init__(self):
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.entries = []

    def emit(self, record):
        self.entries.append(json.loads(self.format(record)))


def test_request_logs_carry_the_cloud_trace(client, settings, blocking_step):
    _, release = blocking_step
    release.set()
    handler = JsonLines()
    logging.getLogger().addHandler(handler)
    trace = "105445aa7843bc8bf206b12000100000"
    try:
        client.post("/runs", json={"date": DAY}, headers={"X-Cloud-Trace-Context": f"{trace}/1;o=1"})
    finally:
        logging.getLogger().removeHandler(handler)
    steps = [e for e in handler.entries if e.get("event") == "step_started"]
    assert len(steps) == 5
    for entry in steps:
        assert entry["logging.googleapis.com/trace"] == f"projects/{settings.gcp.project}/traces/{trace}"
        assert entry["run_id"].startswith("20260301-") and entry["severity"] == "INFO"
        assert entry["logging.googleapis.com/labels"] == {"run_id": entry["run_id"]}


def poll(client, run_id, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.get(f"/runs/{run_id}").get_json()
        if run["state"] in ("SUCCEEDED", "FAILED"):
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} did not end within {timeout} s")


def test_an_empty_post_runs_yesterday(client, settings, blocking_step):
    _, release = blocking_step
    release.set()
    response = client.post("/runs")
    assert response.status_code == 200
    assert response.get_json()["logical_date"] == (settings.today() - dt.timedelta(days=1)).isoformat()
