"""Event-driven runs: POST /events/gcs (a Cloud Storage notification in a Pub/Sub push envelope)
starts a date's run once bronze holds every source of it, on the real Firestore emulator; the
scheduler's POST /runs at the same moment gets the same run."""

import base64
import concurrent.futures
import datetime as dt
import threading

import pytest

from lakehouse import bronze
from lakehouse.stream.notifications import object_finalized
from orchestrator.app import create_app
from orchestrator.resources import Resources

pytestmark = pytest.mark.firestore
DAY = dt.date(2026, 3, 1)


def envelope(name: str, message_id: str = "1") -> dict:
    data, attributes = object_finalized("winter-days-test-bronze", name)
    return {"message": {"messageId": message_id, "data": base64.b64encode(data).decode(), "attributes": attributes},
            "subscription": "projects/p/subscriptions/winter-bronze-landing-runs"}


@pytest.fixture
def service(settings, firestore, blocking_step):
    """The app, with `export` held until the test releases it and the other steps instant."""
    resources = Resources.from_settings(settings)
    return create_app(settings, resources).test_client(), resources, *blocking_step


def land(resources, name: str) -> str:
    resources.bronze.write_bytes(name, b"{}\n")
    return name


def test_the_last_source_landing_starts_the_run_and_the_scheduler_gets_the_same_run(service):
    client, resources, started, release = service
    land(resources, f"{bronze.partition('sales', DAY)}/part-00000.parquet")
    startups = land(resources, f"{bronze.partition('startups', DAY)}/part-00000-of-00001.jsonl")
    waiting = client.post("/events/gcs", json=envelope(startups))
    assert waiting.status_code == 200
    assert waiting.get_json() == {"object": startups, "logical_date": DAY.isoformat(),
                                   "waiting_for": ["clickstream"], "outcome": "no_run"}

    closed = land(resources, bronze.closed_marker("clickstream", DAY))  # the subscriber's watermark
    barrier = threading.Barrier(2)

    def event():
        barrier.wait()
        return client.post("/events/gcs", json=envelope(closed, "2"))

    def scheduler():
        barrier.wait()
        return client.post("/runs", json={"date": DAY.isoformat(), "wait": False})

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        answers = [f.result() for f in [pool.submit(event), pool.submit(scheduler)]]
    assert started.wait(10)
    run_ids = {a.get_json()["run_id"] for a in answers}
    assert len(run_ids) == 1, [a.get_json() for a in answers]  # one run, whoever came first
    assert sorted(a.status_code for a in answers) in ([200, 202], [202, 409])  # one started it, one was told
    run_id = run_ids.pop()
    again = client.post("/events/gcs", json=envelope(closed, "3"))  # a redelivered notification
    assert again.get_json()["run_id"] == run_id and again.get_json()["outcome"] == "in_progress"

    release.set()
    deadline = dt.datetime.now() + dt.timedelta(seconds=30)
    while client.get(f"/runs/{run_id}").get_json()["state"] != "SUCCEEDED" and dt.datetime.now() < deadline:
        threading.Event().wait(0.1)
    assert client.get(f"/runs/{run_id}").get_json()["state"] == "SUCCEEDED"
    assert [r["run_id"] for r in resources.ledger.for_date(DAY.isoformat())] == [run_id]
    late = client.post("/runs", json={"date": DAY.isoformat()})  # the daily safety net, after the event's run
    assert late.get_json()["run_id"] == run_id and late.get_json()["outcome"] == "existing"


def test_an_object_of_no_date_or_no_source_starts_nothing(service):
    client, _, started, _ = service
    for name in ("mlops/churn_pipeline.yaml", f"{bronze.partition('clickstream', DAY)}/stream-ab.jsonl"):
        answer = client.post("/events/gcs", json=envelope(name))
        assert answer.status_code == 200 and answer.get_json()["outcome"] == "no_run"
    assert not started.is_set()


def test_a_body_that_is_no_push_envelope_is_refused(service):
    client = service[0]
    answer = client.post("/events/gcs", json={"name": "sales/dt=2026-03-01/x"})
    assert answer.status_code == 400 and "push envelope" in answer.get_json()["error"]
