"""Local adapter of the ML pipeline runner: the same pipeline, run by kfp.local.

SubprocessRunner(use_venv=False) runs each component in a subprocess of this
interpreter, which has our packages installed, as our image does on Vertex.
The run completes inside `submit`; `wait` reads its stored result.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import warnings
from pathlib import Path

from orchestrator.ml import PipelineResult, churn_outputs


class KfpLocalRunner:
    def __init__(self, pipeline_root: str, state_dir: Path):
        self.pipeline_root = pipeline_root
        self.state_dir = Path(state_dir)

    def submit(self, parameters: dict, run_id: str) -> str:
        from kfp import local

        from mlops.pipeline import churn_pipeline

        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=self.pipeline_root,
                   raise_on_error=True)
        name = f"pipelineJobs/{run_id}"
        try:
            with _stdout_to_stderr(), warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Task .* have no effect in the current local runner")
                # our interpreter has what our image has: the "custom base image" caveat does not apply
                warnings.filterwarnings("ignore", message="You may be attemping to run a task that uses custom")
                task = churn_pipeline(**parameters, pipeline_run_id=run_id)
            result = {"name": name, "state": "SUCCEEDED", "outputs": churn_outputs(task.outputs)}
        except Exception as error:  # kfp.local raises RuntimeError naming the failed task
            result = {"name": name, "state": "FAILED", "outputs": {}, "error": str(error)[-2000:]}
        path = self.state_dir / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result))
        return name

    def wait(self, job: str, timeout_s: float = 0) -> PipelineResult:
        record = json.loads((self.state_dir / f"{job}.json").read_text())
        return PipelineResult(**record)


@contextlib.contextmanager
def _stdout_to_stderr():
    """kfp.local and its component subprocesses print to fd 1; keep stdout for our results."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
