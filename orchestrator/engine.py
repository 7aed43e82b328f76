"""The run engine: claims a logical date, then runs its steps in order, recording each in the ledger.

A trigger first *claims* the date, in one Firestore transaction with the lease (lease.py):
  - a live lease on it: RunInProgress (the API answers 409 with the running run's id);
  - the latest run of the date with the same options succeeded: that run is the answer
    (nothing runs again), unless forced;
  - it failed or was interrupted: the same run resumes from its first unfinished step,
    keeping the outputs of the steps that succeeded;
  - otherwise a new run.
Then `run_claimed` executes it while a heartbeat renews the lease, and releases it at the end.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.cloud import firestore

from lakehouse.logs import run_context
from lakehouse.retry import retrying
from orchestrator.errors import Busy, OrchestratorError
from orchestrator.lease import Lease, LeaseLost, LeaseRecord
from orchestrator.ledger import now
from orchestrator.records import UNFINISHED, OptionsRecord, RunRecord, RunState, StepOutputs, StepRecord
from orchestrator.resources import Resources
from orchestrator.steps import STEPS, RunOptions, StepContext

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted: the process running it stopped before it ended (its lease expired)"


class RunFailed(OrchestratorError, RuntimeError):
    def __init__(self, run: RunRecord, message: str):
        super().__init__(f"run {run['run_id']} failed: {message}")
        self.run = run


class RunInProgress(Busy, RuntimeError):
    def __init__(self, run_id: str, logical_date: str):
        super().__init__(f"run {run_id} for {logical_date} is in progress; poll GET /runs/{run_id}")
        self.run_id, self.logical_date = run_id, logical_date


class NotRetryable(OrchestratorError, ValueError):
    pass


class RunNotFound(OrchestratorError, LookupError):
    pass


@dataclass
class Claim:
    run: RunRecord
    lease: Lease | None  # None: `run` already succeeded and is the answer; nothing to execute
    outcome: str  # new | resumed | existing
    took_over_from: str | None = None  # the run id of a dead holder whose lease expired

    @property
    def run_id(self) -> str:
        return self.run["run_id"]


def new_run(options: RunOptions, trigger: str) -> RunRecord:
    run_id = f"{options.logical_date:%Y%m%d}-{uuid.uuid4().hex[:8]}"
    record = options.to_record()
    return {
        "run_id": run_id,
        "logical_date": options.logical_date.isoformat(),
        "state": RunState.PENDING,
        "trigger": trigger,
        "attempt": 1,
        "options": record,
        "options_key": options_key(record),
        "created_at": now(),
        "steps": {name: {"state": RunState.PENDING} for name in record["steps"]},
    }


def options_key(record: OptionsRecord) -> str:
    return "|".join(f"{k}={v}" for k, v in sorted(record.items()))


_CLAIMS = threading.Lock()  # one claim transaction at a time per process: a burst queues here, not in Firestore


def claim(resources: Resources, options: RunOptions, trigger: str, force: bool = False) -> Claim:
    """Decide, atomically with taking the lease, what a trigger for `options` does."""
    day = options.logical_date.isoformat()
    wanted = options_key(options.to_record())
    key = resources.lease_key(day)

    def settled(
            transaction: firestore.Transaction | None = None,
    ) -> tuple[Claim | None, LeaseRecord | None, list[RunRecord]]:
        """A success that stands (nothing runs again), or RunInProgress; else the lease a dead
        holder left (or None) and the date's runs, for the claim to decide on."""
        runs = resources.ledger.for_date(day, transaction)
        latest = _latest(runs, wanted)
        if latest and latest["state"] == RunState.SUCCEEDED and not force:
            return Claim(latest, None, "existing"), None, runs
        live, expired = resources.leases.read(transaction, key)
        if live:
            raise RunInProgress(live["run_id"], live["logical_date"])
        return None, expired, runs

    def decide(transaction: firestore.Transaction) -> Claim:
        answer, expired, runs = settled(transaction)
        if answer is not None:
            return answer
        latest = _latest(runs, wanted)
        if latest and not force:
            run, outcome = _resumed(latest, trigger), "resumed"
        else:
            run, outcome = new_run(options, trigger), "new"
        for stale in runs:  # no lease is live, so no other run of the date is really running
            if stale["state"] in UNFINISHED and stale["run_id"] != run["run_id"]:
                stale.update({"state": RunState.FAILED, "error": INTERRUPTED, "ended_at": now()})
                resources.ledger.save(stale, transaction)
        resources.ledger.save(run, transaction)
        return Claim(run, resources.leases.take(transaction, key, run["run_id"], day), outcome,
                     expired["run_id"] if expired else None)

    # Plain reads answer most triggers of a burst without a transaction; the transaction
    # (the only thing that makes single flight true across instances) decides for the rest.
    with _CLAIMS:
        return settled()[0] or resources.leases.transact(decide)


def _latest(runs: list[RunRecord], wanted: str) -> RunRecord | None:
    return next((r for r in runs if r.get("options_key") == wanted), None)


def claim_retry(resources: Resources, run_id: str, trigger: str, from_step: str | None = None) -> Claim:
    """Resume one run by id (POST /runs/<id>/retry), whatever its options: from its first unfinished
    step, or from `from_step` on (its earlier steps' outputs stand): after a fix to the source data,
    `from_step="export"` reads it again, where resuming at the failed step would not."""
    def decide(transaction: firestore.Transaction) -> Claim:
        run = resources.ledger.get(run_id, transaction)
        if run is None:
            raise RunNotFound(f"no run {run_id}")
        key = resources.lease_key(run["logical_date"])
        live, expired = resources.leases.read(transaction, key)
        if live:
            raise RunInProgress(live["run_id"], live["logical_date"])
        if run["state"] == RunState.SUCCEEDED:
            raise NotRetryable(f"run {run_id} already succeeded; POST /runs with \"force\": true runs the date again")
        run = _resumed(run, trigger)
        if from_step:
            _redo_from(run, from_step)
        resources.ledger.save(run, transaction)
        lease = resources.leases.take(transaction, key, run_id, run["logical_date"])
        return Claim(run, lease, "resumed", expired["run_id"] if expired else None)

    return resources.leases.transact(decide)


def _resumed(run: RunRecord, trigger: str) -> RunRecord:
    resumed = run.copy()
    resumed.update({"state": RunState.PENDING, "trigger": trigger, "attempt": run.get("attempt", 1) + 1,
                    "resumed_at": now()})
    resumed.pop("error", None)
    resumed.pop("failed_step", None)
    resumed.pop("ended_at", None)
    return resumed


def _redo_from(run: RunRecord, from_step: str) -> None:
    """Reset `from_step` and every later step of the run, so the run resumes there."""
    names = run["options"]["steps"]
    if from_step not in names:
        raise NotRetryable(f"run {run['run_id']} has no step {from_step!r}; its steps are {names}")
    for name in names[names.index(from_step):]:
        run["steps"][name] = {"state": RunState.PENDING}


def resume_point(run: RunRecord) -> int:
    """Index of the first step to (re)run: the first unfinished one, or the earlier one it asks to redo."""
    names = run["options"]["steps"]
    for index, name in enumerate(names):
        record = run["steps"][name]
        if record["state"] != RunState.SUCCEEDED:
            redo = record.get("redo_from")
            return names.index(redo) if redo in names else index
    return len(names)


def execute(resources: Resources, options: RunOptions, trigger: str = "cli", force: bool = False) -> RunRecord:
    """Claim and run; returns the run record (an existing successful one, or this one), or raises."""
    claimed = claim(resources, options, trigger, force)
    if claimed.lease is None:
        return claimed.run
    return run_claimed(resources, claimed)


def run_claimed(resources: Resources, claimed: Claim) -> RunRecord:
    """Run the claimed run's steps from its resume point; raises RunFailed, or LeaseLost."""
    run, lease = claimed.run, claimed.lease
    if lease is None:
        raise ValueError(f"run {run['run_id']} was not claimed to run: it already succeeded")
    options = RunOptions.from_record(run["logical_date"], run["options"])
    ctx = StepContext(resources=resources, run_id=run["run_id"], options=options)

    def save() -> None:
        # The run keeps its own retry budget through a ledger outage (requests give up in seconds); past
        # it the run stops unrecorded, its lease expires, and the next trigger resumes it.
        retrying(lambda: lease.renew(write=lambda transaction: resources.ledger.save(run, transaction)),
                 f"save run {run['run_id']}", resources.settings.storage.backoff)

    with run_context(run["run_id"]):
        try:
            with lease.heartbeat():
                return _run_steps(ctx, run, claimed, save)
        finally:
            _release(lease)


def _run_steps(ctx: StepContext, run: RunRecord, claimed: Claim, save: Callable[[], None]) -> RunRecord:
    names = run["options"]["steps"]
    start = resume_point(run)
    run["state"] = RunState.RUNNING
    save()
    _log_start(run, claimed, names[start] if start < len(names) else None)
    began = time.perf_counter()
    for index, name in enumerate(names):
        if index < start:  # succeeded in an earlier attempt: its outputs stand
            ctx.outputs[name] = run["steps"][name].get("outputs", {})
        else:
            _run_step(ctx, run, name, save)
    run.update({"state": RunState.SUCCEEDED, "ended_at": now()})
    save()
    log.info("run succeeded", extra={
        "event": "run_succeeded", "logical_date": run["logical_date"], "attempt": run["attempt"],
        "duration_s": round(time.perf_counter() - began, 3),
        "step_durations_s": {n: run["steps"][n].get("duration_s") for n in names}})
    return run


def _run_step(ctx: StepContext, run: RunRecord, name: str, save: Callable[[], None]) -> None:
    record = run["steps"][name]

    def keep_checkpoint(checkpoint: dict[str, Any]) -> None:
        record["checkpoint"] = checkpoint
        save()

    ctx.checkpoint = dict(record.get("checkpoint") or {})
    ctx.on_checkpoint = keep_checkpoint
    _clear_attempt(record)
    record.update({"state": RunState.RUNNING, "started_at": now()})
    save()
    log.info("step started", extra={"event": "step_started", "step": name})
    started = time.perf_counter()
    try:
        outputs = STEPS[name](ctx)
    except LeaseLost:
        raise
    except Exception as error:
        record.update({"state": RunState.FAILED, "error": str(error)[:4000], "ended_at": now(),
                       "duration_s": round(time.perf_counter() - started, 3)})
        redo = getattr(error, "redo_from", None)
        if redo:
            record["redo_from"] = redo
        run.update({"state": RunState.FAILED, "failed_step": name, "error": f"step {name} failed: {error}"[:4000],
                    "ended_at": now()})
        save()
        log.error("run failed", extra={"event": "run_failed", "run_id": run["run_id"],
                                       "logical_date": run["logical_date"], "step": name,
                                       "error": str(error)[:2000]})
        raise RunFailed(run, run.get("error", "")) from error
    ctx.outputs[name] = outputs
    record.pop("checkpoint", None)
    record.update({"state": RunState.SUCCEEDED, "outputs": outputs, "ended_at": now(),
                   "duration_s": round(time.perf_counter() - started, 3)})
    save()
    log.info("step succeeded", extra={"event": "step_succeeded", "step": name, "duration_s": record["duration_s"],
                                      "counts": _counts(outputs)})


def _clear_attempt(record: StepRecord) -> None:
    """Forget what an earlier attempt of the step left (its checkpoint stays until it succeeds)."""
    record.pop("error", None)
    record.pop("redo_from", None)
    record.pop("outputs", None)
    record.pop("ended_at", None)
    record.pop("duration_s", None)


def _counts(outputs: StepOutputs) -> dict[str, Any]:
    """The numbers worth a metric: top-level ints and the per-table row counts."""
    counts = {k: v for k, v in outputs.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    if isinstance(outputs.get("rows"), dict):
        counts["rows"] = outputs["rows"]
    return counts


def _log_start(run: RunRecord, claimed: Claim, first_step: str | None) -> None:
    if claimed.took_over_from:
        log.warning("lease taken over", extra={"event": "lease_taken_over", "previous_run_id": claimed.took_over_from})
    event = "run_resumed" if claimed.outcome == "resumed" else "run_started"
    log.info(event.replace("_", " "), extra={"event": event, "logical_date": run["logical_date"],
                                              "trigger": run["trigger"], "attempt": run["attempt"],
                                              "from_step": first_step})


def _release(lease: Lease) -> None:
    if lease.lost.is_set():
        return
    try:
        lease.release()
    except Exception as error:  # it expires by itself; the next trigger waits at most its TTL
        log.warning("lease release failed", extra={"lease": lease.key, "error": str(error)[:500]})
