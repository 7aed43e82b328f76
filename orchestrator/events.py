"""Event-driven runs: a date's run starts when bronze holds every source of that date.

Each object-finalize notification of the bronze bucket (gcp: Cloud Storage through Pub/Sub,
pushed to POST /events/gcs; locally: the same message, published by the writer that completed
a source) names an object; if it belongs to a date and nothing of that date is missing any more
(lakehouse/bronze.py missing_sources), the date is claimed as POST /runs claims it. The
scheduler's daily call stays as a safety net: the ledger's single flight gives both triggers
the same run, and a date that already succeeded is not run again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from lakehouse import bronze
from orchestrator import engine
from orchestrator.resources import Resources
from orchestrator.steps import RunOptions

log = logging.getLogger(__name__)
WATCHED = tuple(bronze.SOURCES) + (bronze.CONTROL_PREFIX,)


@dataclass
class Landing:
    logical_date: dt.date | None
    missing: list[str] = field(default_factory=list)
    claim: engine.Claim | None = None  # set when this event claimed (or found) the date's run
    in_progress: str | None = None  # the run id another trigger is executing


def on_object_finalized(resources: Resources, name: str) -> Landing:
    day = bronze.partition_date(name)
    if day is None or name.split("/", 1)[0] not in WATCHED:
        return Landing(None)
    missing = bronze.missing_sources(resources.bronze, day)
    if missing:
        log.info("date not complete", extra={"event": "landing_waiting", "day": day.isoformat(), "missing": missing})
        return Landing(day, missing)
    try:
        claimed = engine.claim(resources, RunOptions(logical_date=day), trigger="event")
    except engine.RunInProgress as busy:
        return Landing(day, in_progress=busy.run_id)
    return Landing(day, claim=claimed)
