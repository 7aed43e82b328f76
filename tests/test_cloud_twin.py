"""The cloud twin: one daily run with WINTERDAYS_MODE=gcp, every gcp adapter against a local stand-in
speaking its service's protocol, and its silver and gold row counts against local mode's run of the
same day (`make cloud-twin` runs this file).

  Firestore          the Firestore emulator (sales, the run ledger and leases)
  Cloud Storage      fake-gcs-server: bronze, the quarantine (gs://, through gcsfs and DuckDB)
  Cloud Run          the scheduler's ID token as IAM hands it on (signature removed; WINTERDAYS_OIDC_VERIFY=iam)
  Dataform           the gRPC fake, compiling the pushed workspace with the pinned CLI and running the
                     actions in BigQuery (tests/support/cloud_twin/dataform.py)
  BigQuery           the official client against a local REST endpoint over DuckDB (.../bigquery.py)
"""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from dataform_fake import FakeServer
from fake_gcs import fake_gcs_server
from support.cloud_twin.bigquery import bigquery_server
from support.cloud_twin.dataform import TwinDataform
from support.cloud_twin.oidc import token_through_cloud_run_iam

from generators.jobs import Shard, Volumes, generate
from lakehouse.settings import Settings
from lakehouse.transform.dataform_api import DataformTransformRunner
from lakehouse.transform.workspace import push_project
from lakehouse.warehouse import connect
from orchestrator import engine
from orchestrator.app import create_app
from orchestrator.resources import Resources
from orchestrator.steps import RunOptions

pytestmark = [pytest.mark.firestore, pytest.mark.dataform]
PROJECT = "winter-days-test"  # the emulator's project (conftest)
BUCKET = "twin-bronze"
REPO = f"projects/{PROJECT}/locations/europe-west1/repositories/winter-days"
AUDIENCE = "https://winter-days-dev-orchestrator-123.europe-west1.run.app"
SCHEDULER = f"scheduler@{PROJECT}.iam.gserviceaccount.com"
FIRST, DAY = dt.date(2026, 3, 1), dt.date(2026, 3, 3)
STEPS = ["export", "compile", "invoke", "wait"]
LAYERS = ("winter_days_staging", "winter_days_warehouse")
VOLUMES = Volumes(customers=40, events_per_day=150, startups=15, bad_ratio=0.02, oracle=False)
PII_KEY = "twin-pseudonymisation-key"


def gcp_settings(tmp_path) -> Settings:
    return Settings.from_env({
        "WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": PROJECT, "WINTERDAYS_HOME": str(tmp_path / "gcp"),
        "WINTERDAYS_BRONZE_URI": f"gs://{BUCKET}", "WINTERDAYS_PII_KEY": PII_KEY,
        "WINTERDAYS_DATAFORM_REPOSITORY": REPO, "WINTERDAYS_BIGQUERY_LOCATION": "EU",
        "WINTERDAYS_DATAFORM_SERVICE_ACCOUNT": f"dataform@{PROJECT}.iam.gserviceaccount.com",
        "WINTERDAYS_OIDC_AUDIENCE": AUDIENCE, "WINTERDAYS_ALLOWED_INVOKERS": SCHEDULER,
        "WINTERDAYS_OIDC_VERIFY": "iam", "WINTERDAYS_RUNS_COLLECTION": "twin_gcp_runs",
        "WINTERDAYS_LEASES_COLLECTION": "twin_gcp_leases"})


def local_settings(tmp_path) -> Settings:
    return Settings.from_env({
        "GOOGLE_CLOUD_PROJECT": PROJECT, "WINTERDAYS_HOME": str(tmp_path / "local"), "WINTERDAYS_PII_KEY": PII_KEY,
        "WINTERDAYS_RUNS_COLLECTION": "twin_local_runs", "WINTERDAYS_LEASES_COLLECTION": "twin_local_leases",
        "WINTERDAYS_TRANSFORM_WORKERS": "1"})


@pytest.fixture
def stand_ins(firestore, tmp_path, monkeypatch):
    with fake_gcs_server(BUCKET, f"{BUCKET}-mlops") as gcs, bigquery_server(str(tmp_path / "bq.duckdb")) as (bq, service):
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs)
        monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", bq)
        dataform = TwinDataform(PROJECT)
        with FakeServer(dataform) as server:
            yield server, service


def test_a_gcp_daily_run_against_the_stand_ins_builds_what_local_mode_builds(stand_ins, tmp_path):
    server, bigquery = stand_ins
    gcp, local = gcp_settings(tmp_path), local_settings(tmp_path)
    generate(gcp, ["sales", "clickstream", "startups"], FIRST, DAY, VOLUMES, Shard(), full_startups=True)
    generate(local, ["clickstream", "startups"], FIRST, DAY, VOLUMES, Shard(), full_startups=True)

    # the operator's deploy step, then the scheduler's daily call through Cloud Run IAM
    pushed = push_project(server.client(), REPO, gcp.dataform_workspace, gcp.dataform_dir, message="deploy",
                          author_name="ci", author_email="ci@example.com")
    assert pushed.created and pushed.committed and "package.json" not in pushed.written
    transform = DataformTransformRunner.from_settings(gcp, client=server.client())
    transform.poll_initial_s = 0.2
    with mock.patch("orchestrator.resources._transform_runner", return_value=transform):  # its client: the fake's
        resources = Resources.from_settings(gcp)
    app = create_app(gcp, resources).test_client()
    assert app.get("/readyz").status_code == 200
    token = token_through_cloud_run_iam(AUDIENCE, SCHEDULER)
    response = app.post("/runs", json={"date": DAY.isoformat(), "steps": STEPS, "full_export": True},
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

    local_run = engine.execute(Resources.from_settings(local), RunOptions(DAY, full_export=True, steps=tuple(STEPS)))
    assert local_run["state"] == "SUCCEEDED"
    assert local_run["steps"]["export"]["outputs"]["exported"] == exported["exported"]
    warehouse = connect(local.warehouse_uri, read_only=True)
    try:
        expected = {f"{layer}.{table}": warehouse.query(f"SELECT count(*) AS n FROM `{layer}.{table}`")[0]["n"]
                    for layer in LAYERS for table in warehouse.tables(layer)}
    finally:
        warehouse.close()
    twin = {key: bigquery.row_count(*key.split(".")) for key in expected}
    assert twin == expected
    assert sum(expected.values()) > 0 and expected["winter_days_warehouse.fct_sales"] > 0
