"""Vertex AI of the cloud twin, at the client transport (Vertex has no emulator; DESIGN.md's seam).

Pipelines: PipelineServiceClient.create_pipeline_job receives the job our runner built from the
spec in the mlops bucket, refuses a pipeline root whose bucket does not exist, and runs that
submitted spec with kfp.local (the components in subprocesses of this interpreter, as the image
runs them on Vertex); get_pipeline_job reports its state and the root task's outputs as Vertex does.
Model Registry: ModelServiceClient's calls on a registry kept in a JSON file, so the components'
subprocesses share it (tests/support/cloud_twin/site/sitecustomize.py installs it there).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from types import SimpleNamespace

import yaml
from google.api_core.exceptions import FailedPrecondition, NotFound
from google.cloud.aiplatform_v1 import Model as GcaModel
from google.cloud.aiplatform_v1 import PipelineJob as GcaPipelineJob
from google.cloud.aiplatform_v1 import PipelineTaskDetail, UploadModelResponse
from google.cloud.aiplatform_v1.services.model_service import ModelServiceClient
from google.cloud.aiplatform_v1.services.pipeline_service import PipelineServiceClient

MODELS_ENV = "WINTERDAYS_TWIN_VERTEX_MODELS"  # the registry file; set, the components' processes use it
SITE = Path(__file__).resolve().parent / "site"
SUPPORT = Path(__file__).resolve().parents[1]  # on sys.path, as conftest.py puts it


class TwinPipelineService:
    def __init__(self, work_dir: Path):
        self.work_dir = Path(work_dir)
        self.jobs: dict[str, GcaPipelineJob] = {}
        self.created: list[GcaPipelineJob] = []

    def install(self, monkeypatch) -> None:
        from google.cloud.aiplatform.utils import gcs_utils

        monkeypatch.setattr(PipelineServiceClient, "create_pipeline_job", self.create)
        monkeypatch.setattr(PipelineServiceClient, "get_pipeline_job", self.get)
        # the SDK's own bucket check (and creation) before submitting: the service checks below
        monkeypatch.setattr(gcs_utils, "create_gcs_bucket_for_pipeline_artifacts_if_it_does_not_exist",
                            lambda **kwargs: None)

    def create(self, parent, pipeline_job, pipeline_job_id, timeout=None):
        from lakehouse.storage import filesystem_for

        root = pipeline_job.runtime_config.gcs_output_directory
        if not filesystem_for(root).exists(root.removeprefix("gs://").split("/")[0]):
            raise FailedPrecondition(f"the pipeline root {root} is not in a bucket the service account can use")
        job = GcaPipelineJob(pipeline_job)
        job.name = f"{parent}/pipelineJobs/{pipeline_job_id}"
        self.created.append(job)
        job.state, outputs, error = self._run(GcaPipelineJob.to_dict(pipeline_job)["pipeline_spec"],
                                              dict(pipeline_job.runtime_config.parameter_values), pipeline_job_id)
        root_task = PipelineTaskDetail(task_id=1, task_name=pipeline_job_id)
        root_task.execution.metadata = {f"output:{k}": v for k, v in outputs.items()}
        job.job_detail.task_details = [root_task]
        if error:
            job.error.message = error
        self.jobs[job.name] = job
        return job

    def _run(self, spec: dict, parameters: dict, job_id: str) -> tuple[str, dict, str]:
        from kfp import components, local

        path = self.work_dir / f"{job_id}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(spec))
        pipeline = components.load_component_from_file(str(path))
        local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(self.work_dir / job_id),
                   raise_on_error=True)
        kinds = {k: v["parameterType"] for k, v in spec["root"]["inputDefinitions"]["parameters"].items()}
        arguments = {k: int(v) if kinds.get(k) == "NUMBER_INTEGER" else v for k, v in parameters.items()}
        try:
            task = pipeline(**arguments)
        except Exception as error:  # kfp.local names the failed task
            return "PIPELINE_STATE_FAILED", {}, str(error)[-2000:]
        return "PIPELINE_STATE_SUCCEEDED", dict(task.outputs), ""

    def get(self, name, **kwargs):
        if name not in self.jobs:
            raise NotFound(name)
        return GcaPipelineJob(self.jobs[name])


def use_file_registry(monkeypatch, path: Path) -> None:
    """This process and the components' subprocesses (through sitecustomize) use the file registry."""
    path.write_text("[]")
    monkeypatch.setenv(MODELS_ENV, str(path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(SITE), str(SUPPORT), os.environ.get("PYTHONPATH", "")]))
    install_model_service(setattr_=monkeypatch.setattr)


def install_model_service(setattr_=setattr) -> None:
    import google.auth
    from google.auth.credentials import AnonymousCredentials

    registry = FileModelService(Path(os.environ[MODELS_ENV]))
    for method in ("get_model", "list_model_versions", "upload_model", "merge_version_aliases"):
        setattr_(ModelServiceClient, method, getattr(registry, method))
    # Vertex's clients ask for the environment's credentials; the twin's services take none
    setattr_(google.auth, "default", lambda *args, **kwargs: (AnonymousCredentials(), None))


class FileModelService:
    """The Model Registry's versions and aliases, in a JSON file (one writer at a time: the pipeline's tasks)."""

    def __init__(self, path: Path):
        self.path = path

    def _load(self) -> list[GcaModel]:
        return [GcaModel.from_json(m) for m in json.loads(self.path.read_text())]

    def _save(self, models: list[GcaModel]) -> None:
        with tempfile.NamedTemporaryFile("w", dir=self.path.parent, delete=False) as handle:
            json.dump([GcaModel.to_json(m) for m in models], handle)
        os.replace(handle.name, self.path)

    @staticmethod
    def _find(models: list[GcaModel], name: str) -> GcaModel:
        base, _, ref = name.partition("@")
        for model in models:
            if model.name == base and (ref or "default") in (model.version_id, *model.version_aliases):
                return model
        raise NotFound(name)

    def get_model(self, name, **kwargs):
        return self._find(self._load(), name)

    def list_model_versions(self, request, **kwargs):
        mine = [m for m in self._load() if m.name == request.name]
        if not mine:
            raise NotFound(request.name)
        label = request.filter.partition('labels.model_version="')[2].rstrip('"')
        return [m for m in mine if not label or m.labels.get("model_version") == label]

    def upload_model(self, request, **kwargs):
        models = self._load()
        name = request.parent_model or f"{request.parent}/models/{request.model_id}"
        model = GcaModel(request.model, name=name, version_id=str(len(models) + 1))
        _take_aliases(models, model.version_aliases)
        self._save([*models, model])
        response = UploadModelResponse(model=name, model_version_id=model.version_id)
        return SimpleNamespace(result=lambda *args, **kw: response, operation=SimpleNamespace(name="op"))

    def merge_version_aliases(self, name, version_aliases, **kwargs):
        models = self._load()
        _take_aliases(models, version_aliases)
        self._find(models, name).version_aliases.extend(version_aliases)
        self._save(models)

    def champion(self) -> GcaModel | None:
        return next((m for m in self._load() if "champion" in m.version_aliases), None)


def _take_aliases(models: list[GcaModel], aliases) -> None:
    """An alias given to one version leaves the version that had it."""
    for model in models:
        kept = [a for a in model.version_aliases if a not in aliases]
        del model.version_aliases[:]
        model.version_aliases.extend(kept)
