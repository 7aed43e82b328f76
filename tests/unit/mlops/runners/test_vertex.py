"""The gcp side of the churn pipeline, faked only where Google has no emulator.

Cloud Storage is fake-gcs-server (a real server); Vertex AI has no emulator, so its
two services are faked at the transport: PipelineServiceClient (submit, poll) and
ModelServiceClient (the Model Registry), and each test asserts on the requests.
"""

import datetime as dt
import json
import os
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest
import yaml
from fake_gcs import fake_gcs_server
from google.api_core.exceptions import NotFound
from google.auth.credentials import AnonymousCredentials
from google.cloud.aiplatform import initializer
from google.cloud.aiplatform.utils import gcs_utils
from google.cloud.aiplatform_v1 import Model as GcaModel
from google.cloud.aiplatform_v1 import PipelineJob as GcaPipelineJob
from google.cloud.aiplatform_v1 import PipelineTaskDetail, UploadModelResponse
from google.cloud.aiplatform_v1.services.model_service import ModelServiceClient
from google.cloud.aiplatform_v1.services.pipeline_service import PipelineServiceClient

from lakehouse.settings import Settings
from lakehouse.storage import ObjectStore
from mlops.registry import open_registry
from mlops.runners import PipelineFailed
from mlops.runners.vertex import VertexPipelineRunner
from orchestrator import steps

PROJECT, REGION, BUCKET = "acme", "europe-west1", "acme-bronze"
MLOPS = f"{BUCKET}-mlops"  # the pipelines' own bucket (settings.churn.mlops_uri)
IMAGE = "europe-west1-docker.pkg.dev/acme/images/winter-days:0123456789ab"
LOCATION = f"projects/{PROJECT}/locations/{REGION}"
MODEL = f"{LOCATION}/models/winter-days-churn"


@pytest.fixture(scope="module")
def gcs():
    with fake_gcs_server(BUCKET, MLOPS) as endpoint:
        yield endpoint


@pytest.fixture
def gcp(gcs, tmp_path, monkeypatch):
    """gcp-mode settings whose bucket lives on fake-gcs-server; no Google credentials anywhere."""
    env = {"WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": PROJECT, "WINTERDAYS_REGION": REGION,
           "WINTERDAYS_BRONZE_URI": f"gs://{BUCKET}", "WINTERDAYS_HOME": str(tmp_path),
           "WINTERDAYS_PIPELINE_SERVICE_ACCOUNT": f"pipeline@{PROJECT}.iam.gserviceaccount.com",
           "WINTERDAYS_IMAGE": IMAGE,
           "STORAGE_EMULATOR_HOST": gcs, "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # components on Vertex use the environment's credentials; here they are anonymous
    monkeypatch.setattr("google.auth.default", lambda *args, **kwargs: (AnonymousCredentials(), PROJECT))
    for name in ("_project", "_location", "_credentials"):  # what aiplatform.init sets, restored after the test
        monkeypatch.setattr(initializer.global_config, name, None)
    return Settings.from_env()


def compile_for_gcp(settings) -> dict:
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "mlops", "compile", "--image", IMAGE],
                          env=os.environ.copy(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


class FakePipelineService:
    """PipelineServiceClient at the transport: records creates, answers polls with scripted states."""

    def __init__(self, monkeypatch, states=("PIPELINE_STATE_SUCCEEDED",), outputs=None):
        self.created, self.states, self.outputs = [], list(states), outputs or {}
        monkeypatch.setattr(PipelineServiceClient, "create_pipeline_job", self.create)
        monkeypatch.setattr(PipelineServiceClient, "get_pipeline_job", self.get)
        monkeypatch.setattr(gcs_utils, "create_gcs_bucket_for_pipeline_artifacts_if_it_does_not_exist",
                            lambda **kwargs: None)

    def create(self, parent, pipeline_job, pipeline_job_id, timeout=None):
        self.created.append({"parent": parent, "job": pipeline_job, "job_id": pipeline_job_id})
        job = GcaPipelineJob(pipeline_job)
        job.name = f"{parent}/pipelineJobs/{pipeline_job_id}"
        job.state = "PIPELINE_STATE_PENDING"
        return job

    def get(self, name, **kwargs):
        state = self.states.pop(0) if len(self.states) > 1 else self.states[0]
        job = GcaPipelineJob(name=name, state=state)
        if state == "PIPELINE_STATE_FAILED":
            job.error.message = "The DAG failed because some tasks failed: [train-model]"
        root = PipelineTaskDetail(task_id=1, task_name=name.rsplit("/", 1)[-1])
        root.execution.metadata = {f"output:{k}": v for k, v in self.outputs.items()}
        child = PipelineTaskDetail(task_id=2, parent_task_id=1, task_name="gate-model")
        child.execution.metadata = {"output:passed": True}
        job.job_detail.task_details = [child, root]
        return job


OUTCOME = {"roc_auc": 0.91, "metrics_json": json.dumps({"roc_auc": 0.91, "brier": 0.1}),
           "candidate_version": "churn-bbb", "gate_passed": False,
           "gate_reason": "ROC AUC 0.9100 is 0.0300 below champion churn-aaa (0.9400); the allowed drop is 0.0200",
           "scored_version": "churn-aaa", "scored_rows": 321.0}


def churn_step(settings, runner, timeout_s=60):
    ctx = steps.StepContext(resources=SimpleNamespace(settings=settings, pipelines=runner), run_id="20260331-abc",
                            options=steps.RunOptions(dt.date(2026, 3, 31), timeout_s=timeout_s))
    return steps.churn(ctx)


def test_compile_uploads_a_spec_that_runs_every_component_in_our_image(gcp):
    printed = compile_for_gcp(gcp)
    assert printed["spec"] == f"gs://{MLOPS}/churn_pipeline.yaml" == gcp.churn.spec_uri
    spec = yaml.safe_load(ObjectStore(f"gs://{MLOPS}").read_bytes("churn_pipeline.yaml"))
    assert spec["pipelineInfo"]["name"] == "winter-days-churn"
    images = {e["container"]["image"] for e in spec["deploymentSpec"]["executors"].values()}
    assert images == {IMAGE}


def test_the_churn_step_submits_the_uploaded_spec_and_reports_the_gate(gcp, monkeypatch):
    compile_for_gcp(gcp)
    service = FakePipelineService(monkeypatch, states=["PIPELINE_STATE_RUNNING", "PIPELINE_STATE_SUCCEEDED"],
                                  outputs=OUTCOME)
    runner = VertexPipelineRunner.from_settings(gcp, credentials=AnonymousCredentials())
    runner.poll_s = 0.01
    outputs = churn_step(gcp, runner)

    (created,) = service.created
    job = created["job"]
    assert created["parent"] == LOCATION
    assert created["job_id"].startswith("churn-20260331-abc-")
    assert job.service_account == f"pipeline@{PROJECT}.iam.gserviceaccount.com"
    # the pipelines' own bucket, where the pipeline identity has a bucket-wide grant (not a prefix of bronze)
    assert job.runtime_config.gcs_output_directory == f"gs://{MLOPS}/pipeline_root"
    uploaded = yaml.safe_load(ObjectStore(f"gs://{MLOPS}").read_bytes("churn_pipeline.yaml"))
    submitted = GcaPipelineJob.to_dict(job)["pipeline_spec"]
    assert submitted["deploymentSpec"] == uploaded["deploymentSpec"]  # read from the bucket, as compiled
    assert submitted["root"]["inputDefinitions"] == uploaded["root"]["inputDefinitions"]
    # caching is off: every run trains on the day's data and writes the day's predictions
    assert {t["cachingOptions"]["enableCache"] for t in submitted["root"]["dag"]["tasks"].values()} == {False}
    parameters = {k: v for k, v in job.runtime_config.parameter_values.items()}
    assert parameters == {
        "warehouse_uri": f"bigquery://{PROJECT}/winter_days_warehouse", "warehouse_dataset": "winter_days_warehouse",
        "registry_uri": f"vertex://{PROJECT}/{REGION}/winter-days-churn?artifacts=gs://{MLOPS}/models",
        "snapshot_date": "2026-03-31", "seed": 42, "min_auc": 0.7, "max_auc_drop": 0.02,
        "pipeline_run_id": "20260331-abc"}
    assert dict(job.labels) == {"app": "winter-days", "run_id": "20260331-abc", "logical_date": "2026-03-31"}

    assert outputs["job"] == f"{LOCATION}/pipelineJobs/{created['job_id']}"
    assert outputs["gate"] == {"passed": False, "reason": OUTCOME["gate_reason"]}
    assert outputs["scored_version"] == "churn-aaa" and outputs["scored_rows"] == 321
    assert outputs["metrics"] == {"roc_auc": 0.91, "brier": 0.1}
    assert outputs["summary"].startswith("kept champion churn-aaa: candidate churn-bbb failed the gate")


def test_a_failed_job_fails_the_step_with_vertexs_error(gcp, monkeypatch):
    compile_for_gcp(gcp)
    FakePipelineService(monkeypatch, states=["PIPELINE_STATE_FAILED"])
    with pytest.raises(PipelineFailed, match=r"ended FAILED: The DAG failed .*\[train-model\]"):
        churn_step(gcp, VertexPipelineRunner.from_settings(gcp, credentials=AnonymousCredentials()))


def test_a_job_still_running_at_the_timeout_is_reported_running(gcp, monkeypatch):
    FakePipelineService(monkeypatch, states=["PIPELINE_STATE_RUNNING"])
    runner = VertexPipelineRunner.from_settings(gcp, credentials=AnonymousCredentials())
    result = runner.wait(f"{LOCATION}/pipelineJobs/churn-x", timeout_s=0)
    assert (result.state, result.error) == ("RUNNING", "still running after 0 s")


class FakeModelService:
    """ModelServiceClient at the transport: an in-memory Model Registry with versions and aliases."""

    def __init__(self, monkeypatch):
        self.versions: list[GcaModel] = []
        self.uploads, self.merges = [], []
        for method in ("get_model", "list_model_versions", "upload_model", "merge_version_aliases"):
            monkeypatch.setattr(ModelServiceClient, method, getattr(self, method))

    def _find(self, name: str) -> GcaModel:
        base, _, ref = name.partition("@")
        for model in self.versions:
            if model.name == base and (ref or "default") in (model.version_id, *model.version_aliases):
                return model
        raise NotFound(name)

    def get_model(self, name, **kwargs):
        return GcaModel(self._find(name))

    def list_model_versions(self, request, **kwargs):
        mine = [m for m in self.versions if m.name == request.name]
        if not mine:
            raise NotFound(request.name)
        wanted = re.fullmatch(r'labels\.model_version="(.*)"', request.filter)
        return [m for m in mine if not wanted or m.labels.get("model_version") == wanted.group(1)]

    def upload_model(self, request, **kwargs):
        self.uploads.append(request)
        name = request.parent_model or f"{request.parent}/models/{request.model_id}"
        model = GcaModel(request.model, name=name, version_id=str(len(self.versions) + 1))
        self._take_aliases(model.version_aliases)
        self.versions.append(model)
        response = UploadModelResponse(model=name, model_version_id=model.version_id)
        return SimpleNamespace(result=lambda *args, **kw: response, operation=SimpleNamespace(name="op"))

    def merge_version_aliases(self, name, version_aliases, **kwargs):
        self.merges.append((name, list(version_aliases)))
        self._take_aliases(version_aliases)
        self._find(name).version_aliases.extend(version_aliases)

    def _take_aliases(self, aliases):
        """An alias given to one version leaves the version that had it."""
        for model in self.versions:
            kept = [a for a in model.version_aliases if a not in aliases]
            del model.version_aliases[:]
            model.version_aliases.extend(kept)


def test_vertex_registry_versions_promotes_and_moves_the_champion_alias(gcp, monkeypatch):
    service = FakeModelService(monkeypatch)
    registry = open_registry(gcp.churn.registry_uri)
    assert registry.champion() is None

    registry.promote("churn-aaa", b"model a", {"roc_auc": 0.94}, {"snapshot_date": "2026-03-30",
                                                                   "pipeline_run_id": "20260330-x"})
    first = service.uploads[0]
    assert (first.parent, first.model_id, first.parent_model) == (LOCATION, "winter-days-churn", "")
    assert first.model.artifact_uri == f"gs://{MLOPS}/models/churn-aaa"
    assert set(first.model.version_aliases) == {"champion", "default"}
    assert dict(first.model.labels) == {"model_version": "churn-aaa", "snapshot_date": "2026-03-30",
                                        "pipeline_run_id": "20260330-x"}
    assert first.model.container_spec.image_uri.endswith("/vertex-ai/prediction/sklearn-cpu.1-5:latest")
    files = ObjectStore(f"gs://{MLOPS}/models")
    assert files.read_bytes("churn-aaa/model.pkl") == b"model a"
    assert registry.champion() == {"version": "churn-aaa", "metrics": {"roc_auc": 0.94}, "resource": f"{MODEL}@1",
                                   "snapshot_date": "2026-03-30"}  # what the gate compares a run's date with

    registry.promote("churn-bbb", b"model b", {"roc_auc": 0.95}, {})
    assert (service.uploads[1].model_id, service.uploads[1].parent_model) == ("", MODEL)
    assert registry.champion()["version"] == "churn-bbb"

    registry.promote("churn-aaa", b"model a", {"roc_auc": 0.94}, {})  # a re-run of an old version
    assert len(service.uploads) == 2
    assert service.merges == [(f"{MODEL}@1", ["champion"])]
    assert registry.champion()["version"] == "churn-aaa"
    assert registry.load("churn-bbb") == b"model b"
