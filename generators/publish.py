"""The clickstream generator's streaming output (`winterdays generate clickstream --sink pubsub`).

The day's events (the same lines the batch job writes, defects included) are published
to the clickstream topic at up to `rate` events a second, then one watermark message
says that every event of the day has been published: the subscriber closes the day in
bronze when it lands it, and the day's run can start.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable

from generators.clickstream import click_blocks
from generators.defects import Defects
from generators.jobs import Shard, Volumes, chunks, click_lines
from generators.population import Population
from lakehouse.messaging import MessageBus
from lakehouse.settings import Settings
from lakehouse.stream import CLICK_TOPIC
from lakehouse.stream.landing import WATERMARK

PUBLISH_CHUNK = 500  # messages handed to the client at once


def publish_clickstream(settings: Settings, bus: MessageBus, start: dt.date, end: dt.date, volumes: Volumes,
                        rate: float = 0.0, topic: str = CLICK_TOPIC) -> int:
    """Publish each day's events, then its watermark; rate 0 publishes as fast as the client can."""
    population = Population(settings.general.seed, volumes.customers)
    published = 0
    for state in population.days(start, end):
        defects = Defects("clickstream", settings.general.seed, state.day, volumes.bad_ratio)
        lines = click_lines(click_blocks(state, settings.general.seed, volumes.events_per_day), Shard(), defects)
        published += publish_lines(bus, topic, lines, rate)
        bus.publish(topic, [(b"", {WATERMARK: state.day.isoformat()})])
    return published


def publish_lines(bus: MessageBus, topic: str, lines: Iterable[str], rate: float = 0.0) -> int:
    started, published = time.monotonic(), 0
    for chunk in chunks(lines, PUBLISH_CHUNK):
        if rate > 0:  # hold back until the chunk is due
            time.sleep(max(0.0, started + published / rate - time.monotonic()))
        bus.publish(topic, [(line.encode(), {}) for line in chunk])
        published += len(chunk)
    return published

