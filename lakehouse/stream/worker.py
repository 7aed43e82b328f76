"""The pull worker (`winterdays ingest`): micro-batches from a subscription into bronze.

A batch closes at `batch_size` messages or `batch_seconds` after its first message,
whichever comes first; it is landed (each file published whole) and only then
acknowledged. Killed at any point, the worker loses nothing (unacknowledged messages
come again) and duplicates nothing (landing.py skips event ids already in bronze).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from lakehouse.messaging import Message, MessageBus
from lakehouse.stream.landing import SOURCE, ClickLanding, Landed

log = logging.getLogger(__name__)
PULL_MAX = 1000  # messages one pull may return


@dataclass(frozen=True)
class BatchPolicy:
    batch_size: int = 5000
    batch_seconds: float = 2.0
    pull_timeout_s: float = 1.0


def run_worker(bus: MessageBus, subscription: str, landing: ClickLanding, policy: BatchPolicy,
               keep_going: Callable[[Landed], bool] = lambda total: True) -> Landed:
    """Pull, land, acknowledge, until keep_going(total so far) says stop."""
    landing.bronze.clear_staging(SOURCE)  # what a killed worker left half-written
    total = Landed()
    while keep_going(total):
        batch = _collect(bus, subscription, policy)
        if not batch:
            continue
        try:
            landed = landing.land(batch)
        except BaseException:
            bus.nack(subscription, [m.ack_id for m in batch])  # delivered again, to this or another worker
            raise
        bus.ack(subscription, [m.ack_id for m in batch])
        total.add(landed)
        log.info("batch landed", extra={"event": "stream_batch", "messages": len(batch), "events": landed.events,
                                        "duplicates": landed.duplicates, "dead_letters": landed.dead_letters})
    return total


def _collect(bus: MessageBus, subscription: str, policy: BatchPolicy) -> list[Message]:
    batch: list[Message] = []
    deadline = None
    while len(batch) < policy.batch_size:
        wait = policy.pull_timeout_s if deadline is None else deadline - time.monotonic()
        if wait <= 0:
            break
        pulled = bus.pull(subscription, min(PULL_MAX, policy.batch_size - len(batch)), max(wait, 0.1))
        if not pulled:
            if deadline is None:
                return batch  # idle: let the caller check whether to stop
            continue
        batch += pulled
        if deadline is None:
            deadline = time.monotonic() + policy.batch_seconds
    return batch
