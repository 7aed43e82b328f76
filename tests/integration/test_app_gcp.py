"""The service in gcp mode: its probes use only what its own identity may use."""

import pytest
from dataform_fake import FakeDataform, FakeServer
from fake_gcs import fake_gcs_server

from lakehouse.settings import Settings
from lakehouse.transform.dataform_api import DataformTransformRunner
from orchestrator.app import create_app
from orchestrator.resources import Resources

pytestmark = pytest.mark.firestore
REPO = "projects/winter-days-test/locations/europe-west1/repositories/winter-days"


def test_readyz_in_gcp_never_queries_bigquery(firestore, tmp_path, monkeypatch):
    """The orchestrator's service account has no BigQuery role (Dataform and Vertex query as theirs), so a
    BigQuery probe answered 503 for ever; the probe asks the Dataform repository instead."""
    from google.cloud import bigquery

    def no_bigquery_role(*args, **kwargs):
        raise AssertionError("the orchestrator's identity has no BigQuery role: /readyz must not use BigQuery")

    monkeypatch.setattr(bigquery, "Client", no_bigquery_role)
    fake = FakeDataform()
    with fake_gcs_server("acme-bronze") as gcs, FakeServer(fake) as dataform:
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs)
        settings = Settings.from_env({"WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": "winter-days-test",
                                      "WINTERDAYS_HOME": str(tmp_path), "WINTERDAYS_BRONZE_URI": "gs://acme-bronze",
                                      "WINTERDAYS_DATAFORM_REPOSITORY": REPO})
        resources = _gcp_resources(settings, DataformTransformRunner(dataform.client(), REPO))
        response = create_app(settings, resources).test_client().get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["checks"] == {"firestore": "ok", "transform": "ok", "bronze": "ok"}
    assert [name for name, _ in fake.calls] == ["GetRepository"]


def _gcp_resources(settings, transform) -> Resources:
    from unittest import mock

    with mock.patch("orchestrator.resources._transform_runner", return_value=transform):
        return Resources.from_settings(settings)
