"""A Firestore outage mid-run (the real emulator SIGSTOPped): /healthz answers at once, requests that need
the ledger answer 503 with Retry-After within their deadline, the running step keeps its own retry budget,
and once the ledger answers again the run's record is written: no run is lost (issue 19, point 4)."""

import concurrent.futures
import os
import signal
import threading
import time

import pytest
from conftest import started_emulator

from orchestrator.app import LEDGER_DEADLINE_S, create_app
from orchestrator.health import CHECK_TIMEOUT_S
from orchestrator.resources import Resources

pytestmark = pytest.mark.firestore
DAY = "2026-03-01"
SLACK_S = 2.0  # scheduling noise on a shared machine


@pytest.fixture
def paused_emulator(monkeypatch):
    """An emulator of this test's own (the session's stays up), and a switch that stops and resumes it."""
    emulator = started_emulator()
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)

    def pause(stopped: bool) -> None:
        os.killpg(emulator.process.pid, signal.SIGSTOP if stopped else signal.SIGCONT)

    yield pause
    pause(False)
    emulator.stop(save=False)


def timed(call, limit_s: float):
    """(the answer, seconds taken); fails, not hangs, when the call takes longer than `limit_s`."""
    began = time.monotonic()
    future = concurrent.futures.Future()
    threading.Thread(target=lambda: future.set_result(call()), daemon=True).start()
    try:
        answer = future.result(timeout=limit_s)
    except concurrent.futures.TimeoutError:
        pytest.fail(f"no answer within {limit_s} s")
    return answer, time.monotonic() - began


def test_a_ledger_outage_leaves_the_service_answering_and_loses_no_run(settings, paused_emulator,
                                                                        blocking_step):
    started, release = blocking_step
    settings = settings.with_overrides(storage={"retry_deadline_s": 90.0})
    client = create_app(settings, Resources.from_settings(settings)).test_client()
    accepted = client.post("/runs", json={"date": DAY, "wait": False})
    assert accepted.status_code == 202
    run_id = accepted.get_json()["run_id"]
    assert started.wait(30)

    paused_emulator(True)
    try:
        for _ in range(3):  # at once: well inside the ledger's deadline, which the other answers wait out
            health, _ = timed(lambda: client.get("/healthz"), SLACK_S)
            assert health.status_code == 200
        for request in (lambda: client.get("/runs"), lambda: client.get(f"/runs/{run_id}"),
                        lambda: client.post("/runs", json={"date": "2026-03-02", "wait": False})):
            answer, _ = timed(request, LEDGER_DEADLINE_S + SLACK_S)
            assert answer.status_code == 503, answer.get_json()
            assert answer.headers["Retry-After"] and "ledger (Firestore)" in answer.get_json()["error"]
        ready, _ = timed(lambda: client.get("/readyz"), CHECK_TIMEOUT_S + SLACK_S)
        assert ready.status_code == 503
        assert ready.get_json()["checks"]["firestore"].startswith("unreachable")
        release.set()  # the step ends while the ledger is silent: saving its end waits within the run's budget
        time.sleep(2)
    finally:
        paused_emulator(False)

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        answer, _ = timed(lambda: client.get(f"/runs/{run_id}"), LEDGER_DEADLINE_S + SLACK_S)
        if answer.status_code == 200 and answer.get_json()["state"] == "SUCCEEDED":
            break
        time.sleep(0.5)
    run = answer.get_json()
    assert run["state"] == "SUCCEEDED", run
    assert run["steps"]["export"]["outputs"] == {"exported": 3}
    assert [r["run_id"] for r in client.get("/runs").get_json()["runs"] if r["logical_date"] == DAY] == [run_id]
