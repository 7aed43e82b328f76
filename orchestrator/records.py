"""What the run ledger stores and the API returns: run and step states, and a run's record.

The states are StrEnums: Firestore and JSON keep their plain string values ("SUCCEEDED"), so
ledgers written before keep reading the same, and a stored string equals its member.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, NotRequired, TypedDict


class RunState(StrEnum):
    """The state of a run, and of each of its steps."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


UNFINISHED = (RunState.PENDING, RunState.RUNNING)

StepOutputs = dict[str, Any]  # what a step returns: counts, names of remote jobs, quality figures


class OptionsRecord(TypedDict):
    """A run's options (steps.RunOptions) as kept in the ledger; two triggers with the same are one request."""

    full_export: bool
    full_refresh: bool
    tags: list[str]
    steps: list[str]


class StepRecord(TypedDict):
    state: RunState
    started_at: NotRequired[dt.datetime]
    ended_at: NotRequired[dt.datetime]
    duration_s: NotRequired[float]
    outputs: NotRequired[StepOutputs]
    error: NotRequired[str]
    redo_from: NotRequired[str]  # the earlier step a retry must start from
    checkpoint: NotRequired[dict[str, Any]]  # what an interrupted attempt saved (steps.StepContext)


class RunRecord(TypedDict):
    """One run document (id `YYYYMMDD-<8 hex>`), saved each time a step changes state."""

    run_id: str
    logical_date: str  # ISO date
    state: RunState
    trigger: str  # cli | http | http-retry | cli-retry | ...
    attempt: int
    options: OptionsRecord
    options_key: str
    created_at: dt.datetime
    steps: dict[str, StepRecord]  # by step name, in the order they run
    updated_at: NotRequired[dt.datetime]
    resumed_at: NotRequired[dt.datetime]
    ended_at: NotRequired[dt.datetime]
    error: NotRequired[str]
    failed_step: NotRequired[str]
    interrupted: NotRequired[bool]  # GET /runs/<id> only: unfinished, and no live lease holds it
