"""Backfill: a range of logical dates, oldest first, each an ordinary ledger run.

Resumable by construction: a date that already has a SUCCEEDED run covering the wanted steps
is skipped, a date whose run failed or was interrupted resumes from its first unfinished step
(the engine's claim), and the backfill stops at the first date that fails, since each later
date's incremental build starts from the state the earlier ones leave.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from orchestrator import engine
from orchestrator.errors import OrchestratorError
from orchestrator.ledger import Ledger
from orchestrator.records import RunRecord, RunState
from orchestrator.resources import Resources
from orchestrator.steps import RunOptions


class BadRange(OrchestratorError, ValueError):
    """The range ends before it starts."""


@dataclass
class DateOutcome:
    logical_date: dt.date
    state: str  # SKIPPED (already succeeded) | SUCCEEDED | FAILED
    run_id: str
    duration_s: float = 0.0
    error: str = ""


def dates(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    if last < first:
        raise BadRange(f"the range ends ({last}) before it starts ({first})")
    for n in range((last - first).days + 1):
        yield first + dt.timedelta(days=n)


def backfill(resources: Resources, first: dt.date, last: dt.date, template: RunOptions,
             report: Callable[[int, int, DateOutcome], None] = lambda index, total, outcome: None,
             ) -> list[DateOutcome]:
    """Run each date with `template`'s options; `report(index, total, outcome)` after each date."""
    days = list(dates(first, last))
    outcomes = []
    for index, day in enumerate(days, start=1):
        outcome = _one_date(resources, replace(template, logical_date=day))
        outcomes.append(outcome)
        report(index, len(days), outcome)
        if outcome.state == "FAILED":
            break
    return outcomes


def _one_date(resources: Resources, options: RunOptions) -> DateOutcome:
    done = succeeded_run(resources.ledger, options)
    if done:
        return DateOutcome(options.logical_date, "SKIPPED", done["run_id"])
    started = time.perf_counter()
    try:
        run = engine.execute(resources, options, trigger="backfill")
    except engine.RunFailed as failure:
        return DateOutcome(options.logical_date, "FAILED", failure.run["run_id"],
                           time.perf_counter() - started, failure.run.get("error") or str(failure))
    return DateOutcome(options.logical_date, "SUCCEEDED", run["run_id"], time.perf_counter() - started)


def succeeded_run(ledger: Ledger, options: RunOptions) -> RunRecord | None:
    """A SUCCEEDED run of the date that ran at least the wanted steps with the same other options
    (a daily run of all five steps covers a backfill of the transform)."""
    wanted = options.to_record()
    for run in ledger.for_date(options.logical_date.isoformat()):
        record = run["options"]
        if run["state"] == RunState.SUCCEEDED and set(wanted["steps"]) <= set(record["steps"]) and (
                record["full_export"], record["full_refresh"], record["tags"]) == (
                wanted["full_export"], wanted["full_refresh"], wanted["tags"]):
            return run
    return None
