"""Locally, end to end on the two emulators: `winterdays generate clickstream --sink pubsub` publishes a
day and its watermark, the subscriber lands the day and closes it, the close's landing notification
goes through the Pub/Sub emulator's push subscription to the service's POST /events/gcs, and the
date's run starts there (the same message path as Cloud Storage's notification in gcp)."""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid

import pytest
from werkzeug.serving import make_server

from lakehouse import bronze
from lakehouse.emulator import free_port
from lakehouse.stream import CLICK_SUBSCRIPTION
from lakehouse.stream.landing import ClickLanding
from lakehouse.stream.worker import BatchPolicy, run_worker
from orchestrator.app import create_app
from orchestrator.cli import main
from orchestrator.resources import Resources
from orchestrator.steps import STEPS

pytestmark = pytest.mark.firestore
DAY = dt.date(2026, 3, 1)


@pytest.fixture
def service(settings, firestore, pubsub_emulator, monkeypatch):
    """`winterdays serve`'s app on a free port, the steps instant; settings point the push at it."""
    for name in STEPS:
        monkeypatch.setitem(STEPS, name, lambda ctx: {})
    port = free_port()
    project = f"to-run-{uuid.uuid4().hex[:8]}"
    settings = settings.with_overrides(
        gcp={"project": project}, stream={"landing_push_endpoint": f"http://127.0.0.1:{port}/events/gcs"})
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", project)
    monkeypatch.setenv("WINTERDAYS_LANDING_PUSH_ENDPOINT", f"http://127.0.0.1:{port}/events/gcs")
    resources = Resources.from_settings(settings)
    server = make_server("127.0.0.1", port, create_app(settings, resources), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield settings, resources
    server.shutdown()


def test_a_streamed_day_closed_by_its_watermark_starts_its_run(service):
    settings, resources = service
    store = resources.bronze
    store.write_bytes(f"{bronze.partition('sales', DAY)}/part-00000.parquet", b"exported")
    store.write_bytes(f"{bronze.partition('startups', DAY)}/part-00000-of-00001.jsonl", b"{}\n")
    with resources.messages.session():  # the emulator, with the topology declared as Terraform does in gcp
        assert main(["generate", "clickstream", "--date", DAY.isoformat(), "--sink", "pubsub",
                     "--events", "300", "--customers", "50"]) == 0
        landing = ClickLanding(store, resources.quarantine, on_closed=resources.notify_landing)
        total = run_worker(resources.messages, CLICK_SUBSCRIPTION, landing,
                           BatchPolicy(batch_size=100, batch_seconds=0.5, pull_timeout_s=0.5),
                           keep_going=lambda landed: not landed.closed)
        assert total.events == 300 and total.closed == [bronze.closed_marker("clickstream", DAY)]
        runs = _wait_for_runs(resources, DAY)
    assert [(r["trigger"], r["state"]) for r in runs] == [("event", "SUCCEEDED")]
    partition = bronze.partition("clickstream", DAY)
    lines = [line for rel in store.list(partition) for line in store.read_bytes(rel).splitlines()]
    assert len(lines) == len(set(lines)) == 300


def test_publishing_without_a_running_emulator_is_refused(settings, monkeypatch, capsys):
    monkeypatch.delenv("PUBSUB_EMULATOR_HOST", raising=False)
    assert main(["generate", "clickstream", "--date", DAY.isoformat(), "--sink", "pubsub"]) == 2  # setup
    assert "no Pub/Sub emulator is running: start the subscriber first" in capsys.readouterr().err


def _wait_for_runs(resources, day: dt.date, timeout_s: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = resources.ledger.for_date(day.isoformat())
        if runs and all(r["state"] == "SUCCEEDED" for r in runs):
            return runs
        time.sleep(0.2)
    return resources.ledger.for_date(day.isoformat())
