"""Local adapter of the ML pipeline runner: the same pipeline, run by kfp.local.

SubprocessRunner(use_venv=False) runs each component in a subprocess of this
interpreter, which has our packages installed, as our image does on Vertex.
The run completes inside `submit`; `wait` reads its stored result.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

from mlops.runners import PipelineResult, PipelineState, churn_outputs


class LocalPipelineRunner:
    def __init__(self, pipeline_root: str, state_dir: Path, image: str):
        self.pipeline_root = pipeline_root
        self.state_dir = Path(state_dir)
        self.image = image  # compiled into the components; kfp.local's subprocesses run in this interpreter

    def submit(self, parameters: dict[str, Any], run_id: str) -> str:
        from kfp import local

        from mlops.pipeline import churn_pipeline

        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=self.pipeline_root,
                   raise_on_error=True)
        name = f"pipelineJobs/{run_id}"
        output: collections.deque[str] = collections.deque(maxlen=500)
        try:
            with _stdout_to_stderr(output), warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Task .* have no effect in the current local runner")
                # our interpreter has what our image has: the "custom base image" caveat does not apply
                warnings.filterwarnings("ignore", message="You may be attemping to run a task that uses custom")
                task = churn_pipeline(self.image)(**parameters, pipeline_run_id=run_id)
            result = {"name": name, "state": PipelineState.SUCCEEDED, "outputs": churn_outputs(task.outputs)}
        except Exception as error:  # kfp.local raises RuntimeError naming the failed task, not why it failed
            result = {"name": name, "state": PipelineState.FAILED, "outputs": {}, "error": _failure(error, output)}
        path = self.state_dir / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result))
        return name

    def wait(self, job: str, timeout_s: float = 0) -> PipelineResult:
        record = json.loads((self.state_dir / f"{job}.json").read_text())
        return PipelineResult(record["name"], PipelineState(record["state"]), record["outputs"], record.get("error"))


def _failure(error: Exception, output) -> str:
    """kfp.local's message (which task failed) with the component's own exception (why)."""
    plain = _ANSI.sub("", str(error)).strip()
    cause = next((line.strip() for line in reversed(output) if _EXCEPTION.match(line)), "")
    return f"{cause} ({plain})"[-2000:] if cause else plain[-2000:]


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_EXCEPTION = re.compile(r"\s*[A-Za-z_.]*(Error|Exception): ")


@contextlib.contextmanager
def _stdout_to_stderr(lines: collections.deque):
    """kfp.local and its component subprocesses print to fd 1; keep stdout for our results.

    Their output goes on to stderr as it comes, and its last lines are kept in `lines`.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 1)
    os.close(write_end)

    def pump():
        with os.fdopen(read_end, "rb") as pipe:
            for raw in pipe:
                os.write(2, raw)
                lines.append(raw.decode(errors="replace"))

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)  # the pipe's last writer closes: the pump reads to the end and stops
        os.close(saved)
        thread.join(timeout=10)
