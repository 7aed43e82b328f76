"""The five steps of a run, as plain functions of (context) -> outputs.

Each depends only on the ports in `ctx.resources`, so the same code runs in both modes:
  export   Firestore sales changed since the last export (or all) -> Parquet in bronze
  compile  the Dataform project, with the run's vars
  invoke   a workflow invocation of the compiled project (silver and gold)
  wait     poll the invocation until it ends; fail on any failed action or assertion
  churn    the KFP churn pipeline: train, evaluate, gate, register, score into fct_predictions_churn
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse.documents import stream_documents
from lakehouse.export.sales import export_sales
from lakehouse.export.watermark import export_window
from lakehouse.progress import Ticker
from lakehouse.settings import Settings
from lakehouse.storage import ObjectStore
from lakehouse.transform import TERMINAL_STATES, ActionReport, InvocationResult, TransformFailed
from lakehouse.transform.actions import Selection
from mlops.runners import PipelineFailed, PipelineState
from orchestrator.errors import OrchestratorError
from orchestrator.ledger import Ledger
from orchestrator.records import OptionsRecord, RunRecord, RunState, StepOutputs
from orchestrator.resources import Resources

log = logging.getLogger(__name__)


class StepFailed(OrchestratorError, RuntimeError):
    """A step failed; `redo_from` names the earlier step a retry must start from, if not this one."""

    def __init__(self, message: str, redo_from: str | None = None):
        super().__init__(message)
        self.redo_from = redo_from


@dataclass
class RunOptions:
    logical_date: dt.date
    full_export: bool = False
    full_refresh: bool = False
    tags: tuple[str, ...] = ()
    steps: tuple[str, ...] = ()  # empty: all five, in order
    timeout_s: float = 3600

    def selected_steps(self) -> list[str]:
        unknown = [s for s in self.steps if s not in STEPS]
        if unknown:
            raise ValueError(f"unknown step(s) {unknown}; steps are {list(STEPS)}")
        chosen = [s for s in STEPS if not self.steps or s in self.steps]
        for step, needs in NEEDS.items():
            if step in chosen and needs not in chosen:
                raise ValueError(f"step {step} needs step {needs} in the same run")
        return chosen

    def to_record(self) -> OptionsRecord:
        """What the ledger keeps; two triggers with the same record are the same request."""
        return {"full_export": self.full_export, "full_refresh": self.full_refresh,
                "tags": sorted(self.tags), "steps": self.selected_steps()}

    @classmethod
    def from_record(cls, logical_date: str, record: OptionsRecord) -> RunOptions:
        return cls(logical_date=dt.date.fromisoformat(logical_date), full_export=record["full_export"],
                   full_refresh=record["full_refresh"], tags=tuple(record["tags"]), steps=tuple(record["steps"]))


@dataclass
class StepContext:
    resources: Resources
    run_id: str
    options: RunOptions
    outputs: dict[str, StepOutputs] = field(default_factory=dict)  # earlier steps' outputs, by step name
    # What this step saved with save_checkpoint in an earlier attempt that was interrupted:
    # e.g. the name of a job still running remotely, to wait for it instead of starting another.
    checkpoint: dict[str, Any] = field(default_factory=dict)
    on_checkpoint: Callable[[dict[str, Any]], None] = lambda checkpoint: None  # the engine saves it in the ledger

    def save_checkpoint(self, **values: Any) -> None:
        self.checkpoint.update(values)
        self.on_checkpoint(dict(self.checkpoint))


def export(ctx: StepContext) -> StepOutputs:
    """The outputs keep the watermark (the latest updated_at exported): the next export starts after it."""
    settings = ctx.resources.settings
    day = ctx.options.logical_date
    previous = None if ctx.options.full_export else previous_export(ctx.resources.ledger, day)
    window = export_window(previous, day, full=ctx.options.full_export)
    documents = stream_documents(ctx.resources.firestore(), settings.firestore.sales_collection, **window.bounds(),
                                 page_size=settings.export.page_size, backoff=settings.storage.backoff)
    result = export_sales(documents, window, ctx.resources.bronze, ctx.resources.quarantine,
                          settings.export.reject_threshold, row_group_rows=settings.export.row_group,
                          progress=Ticker("export", "documents"))
    return {"exported": result.exported, "rejected": result.rejected, "reasons": result.reasons,
            "reject_ratio": round(result.reject_ratio, 6), "partitions": len(result.partitions),
            "watermark": result.watermark.isoformat() if result.watermark else None,
            "window_from": window.first.isoformat() if window.first else None,
            "window_to": None if window.full else (window.logical_date + dt.timedelta(days=1)).isoformat()}


def previous_export(ledger: Ledger, logical_date: dt.date) -> StepOutputs | None:
    """The outputs of the successful export of the latest logical date before `logical_date`
    (of its newest run, if the date was run again): where the next incremental export starts."""
    found: list[RunRecord] = []
    for run in ledger.before(logical_date.isoformat()):
        if found and run["logical_date"] != found[0]["logical_date"]:
            break
        step = (run.get("steps") or {}).get("export")
        if step and step["state"] == RunState.SUCCEEDED and "watermark" in (step.get("outputs") or {}):
            found.append(run)
    if not found:
        return None
    return max(found, key=lambda run: run["created_at"])["steps"]["export"]["outputs"]


def compile_variables(settings: Settings, bronze_uri: str, logical_date: dt.date,
                      dead_letters_uri: str = "") -> dict[str, str]:
    """The Dataform vars of a run (the pseudonymisation key is not one: see lakehouse/pii.py)."""
    return {
        "bronze_uri": bronze_uri,
        "run_date": logical_date.isoformat(),
        "snapshot_days": "90",
        "lookback_days": str(settings.transform.lookback_days),
        "dead_letters_uri": dead_letters_uri,
    }


def dead_letters_uri(quarantine: ObjectStore) -> str:
    """The subscriber's dead letters for rpt_rejects, or "" while there are none (an empty prefix fails a read)."""
    return quarantine.uri("clickstream") if quarantine.exists("clickstream") else ""


def transform_window_from(ledger: Ledger, logical_date: dt.date) -> dt.date | None:
    """After days without a transform, the first of them: the run reads their bronze too (plus its
    lookback), so no partition is skipped. None after a daily run, or when no earlier run built."""
    for run in ledger.before(logical_date.isoformat()):
        wait_step = run["steps"].get("wait")
        if wait_step is not None and wait_step["state"] == RunState.SUCCEEDED:
            after = dt.date.fromisoformat(run["logical_date"]) + dt.timedelta(days=1)
            return after if after < logical_date else None
    return None


def compile(ctx: StepContext) -> StepOutputs:  # noqa: A001 - the step's name in the ledger
    variables = compile_variables(ctx.resources.settings, ctx.resources.bronze.uri(), ctx.options.logical_date,
                                  dead_letters_uri(ctx.resources.quarantine))
    window_from = transform_window_from(ctx.resources.ledger, ctx.options.logical_date)
    if window_from:
        variables["window_from"] = window_from.isoformat()
    return {"compilation": ctx.resources.transform.compile(variables)}


def invoke(ctx: StepContext) -> StepOutputs:
    selection = Selection(tags=ctx.options.tags, include_dependencies=bool(ctx.options.tags),
                          full_refresh=ctx.options.full_refresh)
    return {"invocation": ctx.resources.transform.invoke(ctx.outputs["compile"]["compilation"], selection,
                                                         on_action=report_action)}


def report_action(report: ActionReport) -> None:
    """A Dataform action that ended, as a log line (the CLI shows it as `12 of 49 OK table ...`)."""
    log.info("dataform action ended", extra={"event": "action_ended", **asdict(report)})


def wait(ctx: StepContext) -> StepOutputs:
    result: InvocationResult | None = None
    try:
        result = ctx.resources.transform.wait(ctx.outputs["invoke"]["invocation"], ctx.options.timeout_s,
                                              on_action=report_action)
        result.raise_for_state()
    except TransformFailed as failed:
        # An invocation that ended (failed, or cancelled at the timeout) cannot be waited into
        # success: a retry invokes anew. One reported still running, or a process that died while
        # polling (the step stays RUNNING), is polled again by the retry.
        still_running = result is not None and result.state not in TERMINAL_STATES
        raise StepFailed(str(failed), redo_from=None if still_running else "invoke") from failed
    summary = result.summary()
    summary["rows"] = {a["target"]: a["rows"] for a in result.actions
                       if a.get("rows") is not None and a.get("kind") != "assertion"}
    return summary


def churn(ctx: StepContext) -> StepOutputs:
    settings = ctx.resources.settings
    parameters = {
        "warehouse_uri": settings.warehouse.uri,
        "warehouse_dataset": settings.warehouse.dataset,
        "registry_uri": settings.churn.registry_uri,
        "snapshot_date": ctx.options.logical_date.isoformat(),
        "seed": settings.general.seed,
        "min_auc": settings.churn.min_auc,
        "max_auc_drop": settings.churn.max_auc_drop,
    }
    job = ctx.checkpoint.get("job")  # submitted by an interrupted attempt: wait for it, never submit twice
    if not job:
        job = ctx.resources.pipelines.submit(parameters, run_id=ctx.run_id)
        ctx.save_checkpoint(job=job)
    result = ctx.resources.pipelines.wait(job, ctx.options.timeout_s)
    if result.state != PipelineState.SUCCEEDED:
        if result.state in (PipelineState.FAILED, PipelineState.CANCELLED):
            ctx.save_checkpoint(job=None)  # it ended: the next attempt submits a new job
        raise PipelineFailed(f"churn pipeline {job} ended {result.state}: {result.error or 'no detail'}")
    return {"job": job, **result.outputs}


NEEDS = {"invoke": "compile", "wait": "invoke"}  # steps that use an earlier step's output
STEPS: dict[str, Callable[[StepContext], StepOutputs]] = {
    "export": export, "compile": compile, "invoke": invoke, "wait": wait, "churn": churn}
