"""The ML pipeline runner port: submit the churn pipeline, wait for it.

  gcp    vertex.VertexPipelineRunner      aiplatform.PipelineJob on Vertex AI Pipelines
  local  local.LocalPipelineRunner     kfp.local SubprocessRunner, in this interpreter
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from mlops.errors import MlopsError


class PipelineFailed(MlopsError, RuntimeError):
    pass


class PipelineState(StrEnum):
    RUNNING = "RUNNING"  # or still queued
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


@dataclass
class PipelineResult:
    name: str
    state: PipelineState
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


class PipelineRunner(Protocol):
    def submit(self, parameters: dict[str, Any], run_id: str) -> str:
        """Start the churn pipeline; returns the job's name."""

    def wait(self, job: str, timeout_s: float) -> PipelineResult: ...


def churn_outputs(outcome: dict[str, Any]) -> dict[str, Any]:
    """The churn step's outputs from the pipeline's (mlops.pipeline.Outcome), with a sentence saying
    what happened to the model and to the predictions."""
    gate = {"passed": bool(outcome["gate_passed"]), "reason": outcome["gate_reason"]}
    scored_by, rows = outcome["scored_version"], int(outcome["scored_rows"])
    if gate["passed"]:
        summary = f"promoted {scored_by} to champion ({gate['reason']}); it scored {rows} customers"
    elif scored_by:
        summary = (f"kept champion {scored_by}: candidate {outcome['candidate_version']} failed the gate "
                   f"({gate['reason']}); the champion scored {rows} customers")
    else:
        summary = (f"candidate {outcome['candidate_version']} failed the gate ({gate['reason']}) and there is no "
                   "champion yet: fct_predictions_churn is unchanged")
    return {
        "roc_auc": float(outcome["roc_auc"]),
        "metrics": json.loads(outcome["metrics_json"]),
        "candidate_version": outcome["candidate_version"],
        "gate": gate,
        "scored_version": scored_by,
        "scored_rows": rows,
        "summary": summary,
    }
