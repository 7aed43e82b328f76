"""The five steps of a run, as plain functions of (context) -> outputs.

Each depends only on the ports in `ctx.resources`, so the same code runs in both modes:
  export   Firestore sales of the logical date -> Parquet in bronze
  compile  the Dataform project, with the run's vars
  invoke   a workflow invocation of the compiled project (silver and gold)
  wait     poll the invocation until it ends; fail on any failed action or assertion
  churn    the KFP churn pipeline: train, evaluate, score into fact_predictions_churn
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from lakehouse.documents import stream_documents
from orchestrator.export import export_sales
from orchestrator.ml import PipelineFailed
from orchestrator.transform.actions import Selection


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


@dataclass
class StepContext:
    resources: object  # orchestrator.resources.Resources
    run_id: str
    options: RunOptions
    outputs: dict[str, dict] = field(default_factory=dict)  # earlier steps' outputs, by step name


def export(ctx: StepContext) -> dict:
    settings = ctx.resources.settings
    day = ctx.options.logical_date
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    bounds = {} if ctx.options.full_export else {"changed_from": start, "changed_to": start + dt.timedelta(days=1)}
    documents = stream_documents(ctx.resources.firestore(), settings.sales_collection, **bounds)
    result = export_sales(documents, day, ctx.resources.bronze, ctx.resources.quarantine,
                          settings.reject_threshold, by_change_date=ctx.options.full_export)
    return {"exported": result.exported, "rejected": result.rejected, "reasons": result.reasons,
            "reject_ratio": round(result.reject_ratio, 6), "partitions": len(result.partitions)}


def compile_variables(settings, bronze_uri: str, logical_date: dt.date) -> dict[str, str]:
    """The Dataform vars of a run; in gcp WINTERDAYS_PII_KEY comes from Secret Manager."""
    return {
        "bronze_uri": bronze_uri,
        "pii_key": settings.pii_key,
        "run_date": logical_date.isoformat(),
        "snapshot_days": "90",
    }


def compile(ctx: StepContext) -> dict:  # noqa: A001 - the step's name in the ledger
    variables = compile_variables(ctx.resources.settings, ctx.resources.bronze.uri(), ctx.options.logical_date)
    return {"compilation": ctx.resources.transform.compile(variables)}


def invoke(ctx: StepContext) -> dict:
    selection = Selection(tags=ctx.options.tags, include_dependencies=bool(ctx.options.tags),
                          full_refresh=ctx.options.full_refresh)
    return {"invocation": ctx.resources.transform.invoke(ctx.outputs["compile"]["compilation"], selection)}


def wait(ctx: StepContext) -> dict:
    result = ctx.resources.transform.wait(ctx.outputs["invoke"]["invocation"], ctx.options.timeout_s)
    result.raise_for_state()
    summary = result.summary()
    summary["rows"] = {a["target"]: a["rows"] for a in result.actions
                       if a.get("rows") is not None and a.get("kind") != "assertion"}
    return summary


def churn(ctx: StepContext) -> dict:
    settings = ctx.resources.settings
    parameters = {
        "warehouse_uri": settings.warehouse_uri,
        "warehouse_dataset": settings.warehouse_dataset,
        "snapshot_date": ctx.options.logical_date.isoformat(),
        "seed": settings.seed,
    }
    job = ctx.resources.pipelines.submit(parameters, run_id=ctx.run_id)
    result = ctx.resources.pipelines.wait(job, ctx.options.timeout_s)
    if result.state != "SUCCEEDED":
        raise PipelineFailed(f"churn pipeline {job} ended {result.state}: {result.error or 'no detail'}")
    return {"job": job, **result.outputs}


NEEDS = {"invoke": "compile", "wait": "invoke"}  # steps that use an earlier step's output
STEPS = {"export": export, "compile": compile, "invoke": invoke, "wait": wait, "churn": churn}
