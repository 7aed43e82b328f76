"""The cloud twin: one daily run with WINTERDAYS_MODE=gcp, every gcp adapter against a local stand-in
speaking its service's protocol, and its silver and gold row counts against local mode's run of the
same day (`make cloud-twin` runs this file).

  Firestore          the Firestore emulator (sales, the run ledger and leases)
  Cloud Storage      fake-gcs-server: bronze, the quarantine (gs://, through gcsfs and DuckDB)
  Cloud Run          the scheduler's ID token as IAM hands it on (signature removed; WINTERDAYS_OIDC_VERIFY=iam)
  Dataform           the gRPC fake, compiling the pushed workspace with the pinned CLI and running the
                     actions in BigQuery (tests/support/cloud_twin/dataform.py)
  BigQuery           the official client against a local REST endpoint over DuckDB (.../bigquery.py)
  Vertex AI          Pipelines and the Model Registry at the client transport: the submitted spec runs with
                     kfp.local, its components reading and writing BigQuery and GCS through the stand-ins
                     (.../vertex.py)
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from unittest import mock

import pytest
from cloud_twin.bigquery import bigquery_server
from cloud_twin.dataform import TwinDataform
from cloud_twin.oidc import token_through_cloud_run_iam
from cloud_twin.vertex import TwinPipelineService, use_file_registry
from dataform_fake import FakeServer
from fake_gcs import fake_gcs_server

from generators.jobs import Shard, Volumes, generate
from lakehouse.settings import Settings
from lakehouse.transform.dataform_api import DataformTransformRunner
from lakehouse.transform.workspace import push_project
from lakehouse.warehouse import connect
from mlops.registry import open_registry
from orchestrator import engine
from orchestrator.app import create_app
from orchestrator.resources import Resources, document_source
from orchestrator.steps import RunOptions

pytestmark = [pytest.mark.firestore, pytest.mark.dataform]
PROJECT = "winter-days-test"  # the emulator's project (conftest)
BUCKET = "twin-bronze"
REPO = f"projects/{PROJECT}/locations/europe-west1/repositories/winter-days"
AUDIENCE = "https://winter-days-dev-orchestrator-123.europe-west1.run.app"
SCHEDULER = f"scheduler@{PROJECT}.iam.gserviceaccount.com"
# 76 days: the churn model needs 43 labelled snapshot days and 30 more to label them (tests/demo_history.py)
FIRST, DAY = dt.date(2026, 1, 1), dt.date(2026, 3, 17)
IMAGE = "europe-west1-docker.pkg.dev/winter-days-test/winter-days-dev/winter-days:0123456789ab"
LAYERS = ("winter_days_staging", "winter_days_warehouse")
VOLUMES = Volumes(customers=150, events_per_day=150, startups=15, bad_ratio=0.01, oracle=False)
PII_KEY = "twin-pseudonymisation-key"


def gcp_env(tmp_path) -> dict:
    return {
        "WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": PROJECT, "WINTERDAYS_HOME": str(tmp_path / "gcp"),
        "WINTERDAYS_BRONZE_URI": f"gs://{BUCKET}", "WINTERDAYS_PII_KEY": PII_KEY,
        "WINTERDAYS_DATAFORM_REPOSITORY": REPO, "WINTERDAYS_BIGQUERY_LOCATION": "EU",
        "WINTERDAYS_DATAFORM_SERVICE_ACCOUNT": f"dataform@{PROJECT}.iam.gserviceaccount.com",
        "WINTERDAYS_OIDC_AUDIENCE": AUDIENCE, "WINTERDAYS_ALLOWED_INVOKERS": SCHEDULER,
        "WINTERDAYS_OIDC_VERIFY": "iam", "WINTERDAYS_RUNS_COLLECTION": "twin_gcp_runs",
        "WINTERDAYS_LEASES_COLLECTION": "twin_gcp_leases", "WINTERDAYS_CHURN_MIN_AUC": "0",
        "WINTERDAYS_PIPELINE_SERVICE_ACCOUNT": f"pipeline@{PROJECT}.iam.gserviceaccount.com", "WINTERDAYS_IMAGE": IMAGE}


def local_settings(tmp_path) -> Settings:
    return Settings.from_env({
        "GOOGLE_CLOUD_PROJECT": PROJECT, "WINTERDAYS_HOME": str(tmp_path / "local"), "WINTERDAYS_PII_KEY": PII_KEY,
        "WINTERDAYS_RUNS_COLLECTION": "twin_local_runs", "WINTERDAYS_LEASES_COLLECTION": "twin_local_leases",
        "WINTERDAYS_TRANSFORM_WORKERS": "1", "WINTERDAYS_CHURN_MIN_AUC": "0"})


def upload_pipeline_spec(env: dict) -> dict:
    """`winterdays mlops compile` as the operator runs it (a process of its own: the image is compiled in)."""
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "mlops", "compile", "--image", IMAGE],
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def stand_ins(firestore, tmp_path, monkeypatch):
    bigquery = bigquery_server(str(tmp_path / "bq.duckdb"))
    with fake_gcs_server(BUCKET, f"{BUCKET}-mlops") as gcs, bigquery as (endpoint, service):
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs)
        monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", endpoint)
        vertex = TwinPipelineService(tmp_path / "vertex")
        vertex.install(monkeypatch)
        use_file_registry(monkeypatch, tmp_path / "vertex-models.json")
        with FakeServer(TwinDataform(PROJECT)) as server:
            yield server, service, vertex


def test_a_gcp_daily_run_against_the_stand_ins_builds_what_local_mode_builds(stand_ins, tmp_path):
    server, bigquery, vertex = stand_ins
    env = gcp_env(tmp_path)
    gcp, local = Settings.from_env(env), local_settings(tmp_path)
    generate(gcp, document_source(gcp), ["sales", "clickstream", "startups"], FIRST, DAY, VOLUMES, Shard(),
             full_startups=True)
    generate(local, document_source(local), ["clickstream", "startups"], FIRST, DAY, VOLUMES, Shard(),
             full_startups=True)

    # the operator's deploy step, then the scheduler's daily call through Cloud Run IAM
    pushed = push_project(server.client(), REPO, gcp.transform.workspace, gcp.transform.dataform_dir, message="deploy",
                          author_name="ci", author_email="ci@example.com")
    assert pushed.created and pushed.committed and "package.json" not in pushed.written
    assert upload_pipeline_spec(env)["spec"] == f"gs://{BUCKET}-mlops/churn_pipeline.yaml"
    transform = DataformTransformRunner.from_settings(gcp, client=server.client())
    transform.poll_initial_s, transform.poll_max_s = 0.2, 1.0
    with mock.patch("orchestrator.resources._transform_runner", return_value=transform):  # its client: the fake's
        resources = Resources.from_settings(gcp)
    app = create_app(gcp, resources).test_client()
    assert app.get("/readyz").status_code == 200
    token = token_through_cloud_run_iam(AUDIENCE, SCHEDULER)
    response = app.post("/runs", json={"date": DAY.isoformat(), "full_export": True},
                        headers={"Authorization": f"Bearer {token}"})
    run = response.get_json()
    assert response.status_code == 200, run
    assert run["state"] == "SUCCEEDED" and run["steps"]["wait"]["outputs"]["assertions_failed"] == 0, run

    # what crossed each wire: bronze and the quarantine in GCS, the SQL in BigQuery
    exported = run["steps"]["export"]["outputs"]
    assert exported["exported"] > 0 and exported["rejected"] > 0
    assert ("POST", f"/bigquery/v2/projects/{PROJECT}/jobs") in bigquery.calls
    (compiled,) = server.fake.called("CreateCompilationResult")
    assert compiled.compilation_result.code_compilation_config.default_location == "EU"

    (job,) = vertex.created  # the spec from the mlops bucket, its root there, as the pipeline's account
    assert job.runtime_config.gcs_output_directory == f"gs://{BUCKET}-mlops/pipeline_root"
    assert job.service_account == f"pipeline@{PROJECT}.iam.gserviceaccount.com"
    churn = run["steps"]["churn"]["outputs"]
    assert churn["gate"]["passed"] and churn["scored_rows"] > 0, churn
    champion = open_registry(gcp.churn.registry_uri).champion()  # the Vertex registry, as components left it
    assert champion["version"] == churn["scored_version"]

    local_run = engine.execute(Resources.from_settings(local), RunOptions(DAY, full_export=True))
    assert local_run["state"] == "SUCCEEDED"
    assert local_run["steps"]["export"]["outputs"]["exported"] == exported["exported"]
    warehouse = connect(local.warehouse.uri, read_only=True)
    try:
        expected = {f"{layer}.{table}": warehouse.query(f"SELECT count(*) AS n FROM `{layer}.{table}`")[0]["n"]
                    for layer in LAYERS for table in warehouse.tables(layer)}
    finally:
        warehouse.close()
    twin = {key: bigquery.row_count(*key.split(".")) for key in expected}
    assert twin == expected
    assert expected["winter_days_warehouse.fct_sales"] > 0
    assert expected["winter_days_warehouse.fct_predictions_churn"] == churn["scored_rows"]
    assert local_run["steps"]["churn"]["outputs"]["scored_version"] == churn["scored_version"]  # the same model
