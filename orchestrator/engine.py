"""The run engine: runs the steps of one logical date in order and records each in the ledger."""

from __future__ import annotations

import logging
import time
import uuid

from lakehouse.logs import run_context
from orchestrator.ledger import now
from orchestrator.steps import STEPS, RunOptions, StepContext

log = logging.getLogger(__name__)


class RunFailed(RuntimeError):
    def __init__(self, run: dict, message: str):
        super().__init__(message)
        self.run = run


def new_run(options: RunOptions, trigger: str) -> dict:
    run_id = f"{options.logical_date:%Y%m%d}-{uuid.uuid4().hex[:8]}"
    return {
        "run_id": run_id,
        "logical_date": options.logical_date.isoformat(),
        "state": "PENDING",
        "trigger": trigger,
        "options": {"full_export": options.full_export, "full_refresh": options.full_refresh,
                    "tags": list(options.tags), "steps": options.selected_steps()},
        "created_at": now(),
        "steps": {name: {"state": "PENDING"} for name in options.selected_steps()},
    }


def execute(resources, options: RunOptions, trigger: str = "cli") -> dict:
    """Run every step; returns the run record, or raises RunFailed carrying it."""
    run = new_run(options, trigger)
    ledger = resources.ledger
    ledger.create(run)
    ctx = StepContext(resources=resources, run_id=run["run_id"], options=options)
    with run_context(run["run_id"]):
        run["state"] = "RUNNING"
        log.info("run started", extra={"logical_date": run["logical_date"], "trigger": trigger})
        for name in options.selected_steps():
            step, record = STEPS[name], run["steps"][name]
            record.update(state="RUNNING", started_at=now())
            ledger.save(run)
            started = time.perf_counter()
            try:
                outputs = step(ctx)
            except Exception as error:
                record.update(state="FAILED", error=str(error)[:4000], ended_at=now(),
                              duration_s=round(time.perf_counter() - started, 3))
                run.update(state="FAILED", error=f"step {name} failed: {error}"[:4000], ended_at=now())
                ledger.save(run)
                log.error("step failed", extra={"step": name, "error": str(error)[:2000]})
                raise RunFailed(run, run["error"]) from error
            ctx.outputs[name] = outputs
            record.update(state="SUCCEEDED", outputs=outputs, ended_at=now(),
                          duration_s=round(time.perf_counter() - started, 3))
            ledger.save(run)
            log.info("step succeeded", extra={"step": name, "duration_s": record["duration_s"]})
        run.update(state="SUCCEEDED", ended_at=now())
        ledger.save(run)
        log.info("run succeeded")
    return run
