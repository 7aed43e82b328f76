"""The clickstream through Pub/Sub (the emulator) into bronze, exactly once, and on to silver.

One day of generated events is published with duplicates, a redelivery, events of a new minor
version and malformed events; the subscriber lands each valid event once, quarantines each
malformed one with its reason, and silver shows the new field once the registry declares it.
A pull worker killed mid-stream and restarted loses nothing and duplicates nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from lakehouse import bronze
from lakehouse.emulator import free_port
from lakehouse.messaging import ACK_DEADLINE_S, PubSubBus
from lakehouse.storage import ObjectStore
from lakehouse.stream import CLICK_SUBSCRIPTION, CLICK_TOPIC, DEAD_LETTER_TOPIC, declare
from lakehouse.stream.landing import WATERMARK, ClickLanding
from lakehouse.stream.worker import BatchPolicy, run_worker

DAY = dt.date(2026, 3, 1)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def event(n: int, **changes) -> dict:
    record = {"event_id": f"E{n:06d}", "session_id": f"W{n // 4:05d}", "customer_id": None,
              "event_type": "page_view", "page_url": "https://shop.example.com/", "referrer_domain": None,
              "device_type_category": "mobile", "is_bounce": False,
              "event_timestamp": f"{DAY}T{n // 3600 % 24:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000Z",
              "load_timestamp": f"{DAY}T23:00:00.000Z", "schema_version": "2.0.0"}
    return record | changes


def encoded(record: dict) -> bytes:
    return json.dumps(record, separators=(",", ":")).encode()


MALFORMED = {  # what is published -> the reason it must be quarantined with
    b"not json at all": "invalid_json",
    encoded(event(900_001, event_id=None)): "missing_event_id",
    encoded(event(900_002, event_type="teleport")): "unknown_event_type",
    encoded(event(900_003, page_url="https://x/" + "A" * 20_000)): "oversized",
    encoded(event(900_004, schema_version="3.0.0")): "unknown_schema_version",
    encoded(event(900_005, is_bounce="yes")): "type_changed:is_bounce",
}


@pytest.fixture
def stream(pubsub_emulator, settings):
    """A project of its own on the session's emulator, with the topics and subscription declared."""
    project = f"stream-{uuid.uuid4().hex[:8]}"
    bus = PubSubBus(project)
    declare(bus)
    bus.ensure_subscription("dead-letters-seen", DEAD_LETTER_TOPIC)
    return bus, settings.with_overrides(gcp={"project": project})


def bronze_events(store: ObjectStore, day: dt.date = DAY) -> list[dict]:
    return [json.loads(line) for rel in store.list(bronze.partition("clickstream", day))
            for line in store.read_bytes(rel).splitlines()]


def drain(bus, landing, idle_s: float = 2.0):
    idle = {"seen": -1, "since": time.monotonic()}

    def keep_going(total) -> bool:
        progress = (total.events, total.duplicates, total.dead_letters, len(total.closed))
        if progress != idle["seen"]:
            idle.update(seen=progress, since=time.monotonic())
        return time.monotonic() - idle["since"] < idle_s

    return run_worker(bus, CLICK_SUBSCRIPTION, landing, BatchPolicy(batch_size=150, batch_seconds=0.3,
                                                                    pull_timeout_s=0.5), keep_going)


def test_each_valid_event_lands_once_and_each_malformed_one_is_quarantined(stream, dataform_dir):
    bus, settings = stream
    store, quarantine = ObjectStore(settings.storage.bronze_uri), ObjectStore(settings.storage.quarantine_uri)
    valid = [event(n) for n in range(400)]
    valid.append(event(400, schema_version="2.1.0", campaign_id="spring-sale"))  # a new minor, declared
    valid.append(event(401, schema_version="2.2.0", experiment="b"))  # a newer minor, not declared yet
    bus.publish(CLICK_TOPIC, [(encoded(r), {}) for r in valid])
    bus.publish(CLICK_TOPIC, [(encoded(r), {}) for r in valid[:50]])  # published twice: other message ids
    bus.publish(CLICK_TOPIC, [(data, {}) for data in MALFORMED])
    landing = ClickLanding(store, quarantine, dead_letter=lambda items: bus.publish(DEAD_LETTER_TOPIC, items))

    # a redelivery: a batch lands, the worker dies before its ack, the messages come again
    first = bus.pull(CLICK_SUBSCRIPTION, 100, 5.0)
    assert first and landing.land(first).events > 0
    bus.nack(CLICK_SUBSCRIPTION, [m.ack_id for m in first])
    bus.publish(CLICK_TOPIC, [(b"", {WATERMARK: DAY.isoformat()})])
    restarted = ClickLanding(store, quarantine, dead_letter=lambda items: bus.publish(DEAD_LETTER_TOPIC, items))
    total = drain(bus, restarted)

    ids = [e["event_id"] for e in bronze_events(store)]
    assert sorted(ids) == sorted(r["event_id"] for r in valid)  # each valid event, once
    assert total.duplicates >= 50
    assert next(e for e in bronze_events(store) if e["event_id"] == "E000401")["experiment"] == "b"  # kept raw
    today = dt.datetime.now(dt.UTC).date()  # dead letters go by the day they were published
    letters = [json.loads(line) for rel in quarantine.list(bronze.partition("clickstream", today))
               for line in quarantine.read_bytes(rel).splitlines()]
    assert sorted((d["raw"].encode(), d["reason"]) for d in letters) == sorted(MALFORMED.items())
    on_topic = {m.attributes["reason"] for m in bus.pull("dead-letters-seen", 100, 5.0)}
    assert on_topic == set(MALFORMED.values())
    assert total.closed == [bronze.closed_marker("clickstream", DAY)] and store.exists(total.closed[0])
    assert bronze.missing_sources(store, DAY) == ["sales", "startups"]  # the clickstream is complete

    silver, rejects = _silver(settings, dataform_dir)
    assert silver["E000400"] == "spring-sale" and silver["E000001"] is None and len(silver) == len(valid)
    assert rejects == {(today, f"dead_letter:{reason}"): 1 for reason in MALFORMED.values()}  # rpt_rejects

    _drop_column(settings, "campaign_id")  # stg_click as built before 2.1.0 was declared
    silver, _ = _silver(settings, dataform_dir)  # an incremental run adds the column, nothing is rebuilt
    assert "E000400" in silver and len(silver) == len(valid)
    # the merge's columns were the table's before the run: the next run of the window fills the value
    silver, _ = _silver(settings, dataform_dir)
    assert silver["E000400"] == "spring-sale" and len(silver) == len(valid)


def _drop_column(settings, column: str) -> None:
    import duckdb

    with duckdb.connect(str(settings.warehouse.path)) as connection:
        connection.execute(f"ALTER TABLE winter_days_staging.stg_click DROP COLUMN {column}")


def _silver(settings, dataform_dir) -> tuple[dict, dict]:
    from lakehouse.transform.actions import Selection
    from lakehouse.transform.local import LocalTransformRunner
    from lakehouse.warehouse import connect
    from orchestrator.steps import compile_variables, dead_letters_uri

    _other_sources_empty(ObjectStore(settings.storage.bronze_uri))  # rpt_rejects reads every source's rejects
    runner = LocalTransformRunner(dataform_dir, settings.warehouse.uri, settings.storage.home / "dataform",
                                  pii_key="test-key")
    variables = compile_variables(settings, settings.storage.bronze_uri, DAY,
                                  dead_letters_uri(ObjectStore(settings.storage.quarantine_uri)))
    compiled = runner.compile(variables)
    runner.wait(runner.invoke(compiled, Selection(targets=("stg_click", "rpt_rejects"), include_dependencies=True))
                ).raise_for_state()
    warehouse = connect(settings.warehouse.uri)
    try:
        rows = warehouse.query("SELECT event_id, campaign_id FROM winter_days_staging.stg_click")
        rejects = warehouse.query("SELECT bronze_date, reject_reason, records FROM winter_days_warehouse.rpt_rejects "
                                  "WHERE reject_reason LIKE 'dead_letter:%'")
    finally:
        warehouse.close()
    return ({row["event_id"]: row["campaign_id"] for row in rows},
            {(row["bronze_date"], row["reject_reason"]): row["records"] for row in rejects})


def _other_sources_empty(store: ObjectStore) -> None:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from lakehouse.contracts import SALES

    sales = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([], schema=SALES), sales)
    store.write_bytes(f"{bronze.partition('sales', DAY)}/part-00000.parquet", sales.getvalue())
    store.write_bytes(f"{bronze.partition('startups', DAY)}/part-00000-of-00001.jsonl", b"\n")


def test_a_worker_killed_mid_stream_loses_nothing_and_duplicates_nothing(stream):
    bus, settings = stream
    store = ObjectStore(settings.storage.bronze_uri)
    records = [event(n) for n in range(6000)]
    bus.publish(CLICK_TOPIC, [(encoded(r), {}) for r in records])
    env = {**os.environ, "GOOGLE_CLOUD_PROJECT": settings.gcp.project, "WINTERDAYS_HOME": str(settings.storage.home),
           "WINTERDAYS_STREAM_BATCH_SIZE": "100", "WINTERDAYS_STREAM_BATCH_SECONDS": "0.2",
           "WINTERDAYS_LANDING_PUSH_ENDPOINT": f"http://127.0.0.1:{free_port()}/events/gcs"}  # no service
    command = [sys.executable, "-m", "orchestrator.cli", "ingest", "--idle-exit", "3"]
    # the killed worker's unacknowledged batch comes again once its ack deadline has passed
    restart = command[:-1] + [str(ACK_DEADLINE_S + 5)]
    worker = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(store.list(bronze.partition("clickstream", DAY))) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        os.killpg(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=10)
    landed_before = len(bronze_events(store))
    assert 0 < landed_before < len(records), "the kill came before or after the stream, not in it"

    restarted = subprocess.run(restart, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    ids = [e["event_id"] for e in bronze_events(store)]
    assert len(ids) == len(set(ids)) == len(records)
    assert not store.list("_staging/clickstream")  # what the killed worker staged is gone
