"""The gcp adapter of the ML pipeline runner: Vertex AI Pipelines through aiplatform.PipelineJob.

It submits the spec that `winterdays mlops compile` uploaded (settings.churn.spec_uri),
so what runs is what was compiled for the deployed image, and polls the job until it ends
or the step's timeout passes (then it reports RUNNING: a retry waits for the same job).
"""

from __future__ import annotations

import datetime as dt
import time

from lakehouse.settings import Settings
from mlops.runners import PipelineResult, PipelineState, churn_outputs

POLL_S = 30
STATES = {"PIPELINE_STATE_SUCCEEDED": PipelineState.SUCCEEDED, "PIPELINE_STATE_FAILED": PipelineState.FAILED,
          "PIPELINE_STATE_CANCELLED": PipelineState.CANCELLED}  # every other state is still RUNNING


class VertexPipelineRunner:
    def __init__(self, project: str, region: str, template_path: str, pipeline_root: str, service_account: str,
                 credentials=None, poll_s: float = POLL_S):
        self.project, self.region = project, region
        self.template_path = template_path
        self.pipeline_root = pipeline_root
        self.service_account = service_account
        self.credentials = credentials  # None: the environment's (the orchestrator's service account)
        self.poll_s = poll_s

    @classmethod
    def from_settings(cls, settings: Settings, credentials=None) -> VertexPipelineRunner:
        return cls(settings.gcp.project, settings.gcp.region, settings.churn.spec_uri, settings.churn.pipeline_root,
                   settings.churn.service_account, credentials)

    def submit(self, parameters: dict, run_id: str) -> str:
        from google.cloud import aiplatform

        from mlops.pipeline import PIPELINE_NAME

        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S")
        job = aiplatform.PipelineJob(
            display_name=f"{PIPELINE_NAME} {parameters['snapshot_date']}",
            template_path=self.template_path,
            job_id=f"churn-{run_id}-{stamp}",
            pipeline_root=self.pipeline_root,
            parameter_values={**parameters, "pipeline_run_id": run_id},
            labels={"app": "winter-days", "run_id": run_id, "logical_date": parameters["snapshot_date"]},
            enable_caching=False,  # every run trains on the day's data and writes the day's predictions
            **self._where(),
        )
        job.submit(service_account=self.service_account or None)
        return job.resource_name

    def wait(self, job: str, timeout_s: float) -> PipelineResult:
        from google.cloud import aiplatform

        pipeline_job = aiplatform.PipelineJob.get(job, **self._where())
        deadline = time.monotonic() + timeout_s
        while (state := STATES.get(pipeline_job.state.name, PipelineState.RUNNING)) == PipelineState.RUNNING:
            if time.monotonic() >= deadline:
                return PipelineResult(job, state, error=f"still running after {timeout_s:.0f} s")
            time.sleep(min(self.poll_s, max(0.0, deadline - time.monotonic())))
        if state != PipelineState.SUCCEEDED:
            return PipelineResult(job, state, error=pipeline_job.gca_resource.error.message or state)
        return PipelineResult(job, state, outputs=churn_outputs(_pipeline_outputs(pipeline_job)))

    def _where(self) -> dict:
        return {"project": self.project, "location": self.region, "credentials": self.credentials}


def _pipeline_outputs(pipeline_job) -> dict:
    """The pipeline's own outputs: the root task (no parent) records them as `output:NAME` metadata."""
    for task in pipeline_job.task_details:
        if not task.parent_task_id:
            return {k.removeprefix("output:"): v for k, v in task.execution.metadata.items()
                    if k.startswith("output:")}
    raise RuntimeError(f"{pipeline_job.resource_name} succeeded but reports no root task")
