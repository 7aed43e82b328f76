"""Streaming ingestion: the clickstream subscriber against the raw Pub/Sub emulator pull rate.

One Pub/Sub emulator of its own, a scratch WINTERDAYS_HOME, two phases:

1. **Throughput.** N generated events are published once to the clickstream topic, which has
   two subscriptions: `raw` is drained by a bare pull-and-acknowledge loop (the floor of any
   subscriber: the emulator's own rate), the subscriber's by `run_worker` as `winterdays ingest`
   runs it (check each event, land micro-batches as published files, acknowledge). Both in this
   process, one after the other; the ratio is subscriber / raw.
2. **Latency and memory.** `winterdays ingest` runs as its own process while events are published
   at a steady rate, day after day, each day closed by its watermark. Each event carries the
   wall-clock time it was published; its latency is its bronze file's modification time (the file
   is staged, then published by a rename) minus that. The worker's RSS is sampled every second.

  .venv/bin/python bench/streaming.py [--events 60000] [--rate 1000] [--days 6] [--per-day 15000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lakehouse import bronze  # noqa: E402
from lakehouse.emulator import PubSubEmulator, free_port  # noqa: E402
from lakehouse.messaging import PubSubBus  # noqa: E402
from lakehouse.storage import ObjectStore  # noqa: E402
from lakehouse.stream import CLICK_SUBSCRIPTION, CLICK_TOPIC, declare  # noqa: E402
from lakehouse.stream.landing import WATERMARK, ClickLanding  # noqa: E402
from lakehouse.stream.worker import BatchPolicy, run_worker  # noqa: E402

FIRST_DAY = dt.date(2026, 3, 1)
PROJECT = "winter-days-bench"
LONG_RUN_PROJECT = "winter-days-bench-long"


def event(n: int, day: dt.date, published: float | None = None) -> bytes:
    second = n % 86_400
    record = {"event_id": f"E{day:%Y%m%d}-{n:07d}", "session_id": f"W{n // 5:06d}", "customer_id": f"C{n % 300:05d}",
              "event_type": "page_view", "page_url": "https://shop.example.com/category/home",
              "referrer_domain": "google.com", "device_type_category": "mobile", "is_bounce": False,
              "event_timestamp": f"{day}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}.000Z",
              "load_timestamp": f"{day}T23:00:00.000Z", "schema_version": "2.0.0"}
    if published is not None:
        record["bench_published"] = published
    return json.dumps(record, separators=(",", ":")).encode()


def throughput(bus: PubSubBus, home: Path, events: int) -> dict:
    bus.ensure_subscription("raw", CLICK_TOPIC)
    for start in range(0, events, 5000):
        bus.publish(CLICK_TOPIC, [(event(n, FIRST_DAY), {}) for n in range(start, min(events, start + 5000))])
    started, pulled = time.perf_counter(), 0
    while pulled < events:
        batch = bus.pull("raw", 1000, 5.0)
        bus.ack("raw", [m.ack_id for m in batch])
        pulled += len(batch)
    raw_s = time.perf_counter() - started

    landing = ClickLanding(ObjectStore(str(home / "bronze")), ObjectStore(str(home / "quarantine")))
    started = time.perf_counter()
    total = run_worker(bus, CLICK_SUBSCRIPTION, landing, BatchPolicy(),
                       keep_going=lambda t: t.events + t.duplicates < events)
    subscriber_s = time.perf_counter() - started
    files = len(landing.bronze.list(bronze.partition("clickstream", FIRST_DAY)))
    return {"events": events, "raw_s": raw_s, "raw_per_s": events / raw_s, "subscriber_s": subscriber_s,
            "subscriber_per_s": total.events / subscriber_s, "landed": total.events, "files": files,
            "ratio": (total.events / subscriber_s) / (events / raw_s)}


def long_run(home: Path, rate: float, days: int, per_day: int) -> dict:
    bus = PubSubBus(LONG_RUN_PROJECT)  # a project of its own: phase 1's `raw` subscription would hoard copies
    declare(bus)
    env = {**os.environ, "WINTERDAYS_HOME": str(home), "GOOGLE_CLOUD_PROJECT": LONG_RUN_PROJECT,
           "WINTERDAYS_STREAM_BATCH_SECONDS": "1",
           # no service listens: the closes' landing notifications must not reach one on :8080
           "WINTERDAYS_LANDING_PUSH_ENDPOINT": f"http://127.0.0.1:{free_port()}/events/gcs"}
    worker = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "ingest", "--idle-exit", "5"], env=env,
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set() and worker.poll() is None:
            samples.append((time.monotonic(), _rss_kb(worker.pid)))
            stop.wait(1.0)

    threading.Thread(target=sample, daemon=True).start()
    started = time.monotonic()
    for d in range(days):
        day = FIRST_DAY + dt.timedelta(days=d)
        for start in range(0, per_day, 100):  # 100 events every 100/rate seconds
            time.sleep(max(0.0, started + (d * per_day + start) / rate - time.monotonic()))
            bus.publish(CLICK_TOPIC, [(event(n, day, time.time()), {}) for n in range(start, start + 100)])
        bus.publish(CLICK_TOPIC, [(b"", {WATERMARK: day.isoformat()})])
    published_s = time.monotonic() - started
    summary = json.loads(worker.communicate(timeout=600)[0].decode().strip().splitlines()[-1])
    stop.set()
    latencies = _latencies(ObjectStore(str(home / "bronze")), days)
    rss = [kb for _, kb in samples if kb]
    quarter = max(1, len(rss) // 4)
    return {"events": days * per_day, "published_s": published_s, "landed": summary["events"],
            "closed_days": len(summary["closed"]), "latency_p50_s": statistics.median(latencies),
            "latency_p99_s": statistics.quantiles(latencies, n=100)[98], "rss_samples": len(rss),
            "rss_first_quarter_mb": max(rss[:quarter]) / 1024, "rss_last_quarter_mb": max(rss[-quarter:]) / 1024,
            "rss_peak_mb": max(rss) / 1024}


def _latencies(store: ObjectStore, days: int) -> list[float]:
    found = []
    for d in range(days):
        for rel in store.list(bronze.partition("clickstream", FIRST_DAY + dt.timedelta(days=d))):
            landed = os.path.getmtime(store.full_path(rel))
            found += [landed - json.loads(line)["bench_published"] for line in store.read_bytes(rel).splitlines()]
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=60_000, help="phase 1: events published once")
    parser.add_argument("--rate", type=float, default=1000.0, help="phase 2: events published a second")
    parser.add_argument("--days", type=int, default=6, help="phase 2: days published, each closed by a watermark")
    parser.add_argument("--per-day", type=int, default=15_000, help="phase 2: events a day")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as scratch, PubSubEmulator(PROJECT) as emulator:
        os.environ.update(emulator.environ())
        bus = PubSubBus(PROJECT)
        declare(bus)
        first = throughput(bus, Path(scratch) / "throughput", args.events)
        print(json.dumps({"throughput": first}, indent=1), flush=True)
        second = long_run(Path(scratch) / "long", args.rate, args.days, args.per_day)
        print(json.dumps({"long_run": second}, indent=1), flush=True)


if __name__ == "__main__":
    main()
