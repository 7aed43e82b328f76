"""`winterdays ingest`: the clickstream subscriber as a pull worker (local use; gcp pushes to the service).

Locally it starts (or reuses) the Pub/Sub emulator under WINTERDAYS_HOME and declares the
topics and the subscription that Terraform creates in gcp.
"""

from __future__ import annotations

import argparse
import json
import time

from lakehouse.settings import Settings
from lakehouse.stream.landing import Landed
from orchestrator.cli.common import Subcommands


def register(sub: Subcommands) -> None:
    ingest = sub.add_parser(
        "ingest", help="land the clickstream topic's events in bronze, exactly once (a pull worker)",
        description="Pull the clickstream subscription in micro-batches (--batch-size messages or "
                    "--batch-seconds), land each batch as one bronze file per day, then acknowledge it.")
    ingest.add_argument("--batch-size", type=int, help="messages per micro-batch (WINTERDAYS_STREAM_BATCH_SIZE)")
    ingest.add_argument("--batch-seconds", type=float,
                        help="seconds a micro-batch waits for more (WINTERDAYS_STREAM_BATCH_SECONDS)")
    ingest.add_argument("--idle-exit", type=float, default=0.0,
                        help="stop after this many seconds without a message (default: run until stopped)")
    ingest.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from lakehouse.stream import CLICK_SUBSCRIPTION, DEAD_LETTER_TOPIC
    from lakehouse.stream.landing import ClickLanding
    from lakehouse.stream.worker import BatchPolicy, run_worker
    from orchestrator.resources import Resources

    policy = BatchPolicy(args.batch_size or settings.stream.batch_size,
                         args.batch_seconds or settings.stream.batch_seconds)
    resources = Resources.from_settings(settings)
    bus = resources.messages
    with bus.session():
        landing = ClickLanding(resources.bronze, resources.quarantine,
                               dead_letter=lambda items: bus.publish(DEAD_LETTER_TOPIC, items),
                               on_closed=resources.notify_landing)
        idle = _IdleClock(args.idle_exit)
        total = run_worker(bus, CLICK_SUBSCRIPTION, landing, policy, keep_going=idle.keep_going)
    print(json.dumps({"events": total.events, "duplicates": total.duplicates, "dead_letters": total.dead_letters,
                      "closed": total.closed}))
    return 0


class _IdleClock:
    """keep_going for run_worker: stop once nothing new has landed for `limit` seconds (0: never)."""

    def __init__(self, limit: float):
        self.limit = limit
        self.seen = -1
        self.since = time.monotonic()

    def keep_going(self, total: Landed) -> bool:
        progress = total.events + total.duplicates + total.dead_letters + len(total.closed)
        if progress != self.seen:
            self.seen, self.since = progress, time.monotonic()
        return not self.limit or time.monotonic() - self.since < self.limit
