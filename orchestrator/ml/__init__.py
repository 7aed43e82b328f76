"""The ML pipeline runner port: submit the churn pipeline, wait for it.

  gcp    vertex.VertexRunner      aiplatform.PipelineJob on Vertex AI Pipelines
  local  local.KfpLocalRunner     kfp.local SubprocessRunner, in this interpreter
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class PipelineFailed(RuntimeError):
    pass


@dataclass
class PipelineResult:
    name: str
    state: str  # RUNNING | SUCCEEDED | FAILED | CANCELLED
    outputs: dict = field(default_factory=dict)
    error: str | None = None


class PipelineRunner(Protocol):
    def submit(self, parameters: dict, run_id: str) -> str:
        """Start the churn pipeline; returns the job's name."""

    def wait(self, job: str, timeout_s: float) -> PipelineResult: ...
