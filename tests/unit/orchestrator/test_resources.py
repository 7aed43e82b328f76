"""orchestrator/resources.py is the one place the mode chooses adapters and capabilities."""

import pytest

from lakehouse.documents import EmulatedFirestoreSource, FirestoreSource
from lakehouse.settings import Settings
from lakehouse.transform.local import LocalTransformRunner
from mlops.runners.local import LocalPipelineRunner
from orchestrator.cli import main
from orchestrator.resources import Resources, document_source, one_writer_process

GCP = {"WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": "acme"}


def test_local_resources_are_this_machines(settings):
    resources = Resources.from_settings(settings)
    assert isinstance(resources.documents, EmulatedFirestoreSource) and resources.documents.emulated
    assert resources.documents.data_dir == settings.storage.home / "firestore"
    assert isinstance(resources.transform, LocalTransformRunner)
    assert isinstance(resources.pipelines, LocalPipelineRunner)
    assert resources.pipelines.image == settings.churn.image
    assert resources.local_dashboard and not resources.lease_per_date
    assert resources.lease_key("2026-03-01") == "warehouse"  # one run at all: DuckDB has one writer
    assert one_writer_process(settings)


def test_gcp_resources_are_the_projects():
    """Built without credentials: the document source and the flags (the Google clients need credentials)."""
    settings = Settings.from_env(GCP)
    documents = document_source(settings)
    assert type(documents) is FirestoreSource and not documents.emulated and documents.project == "acme"
    assert not one_writer_process(settings)


def test_the_emulated_source_needs_its_session(settings, monkeypatch):
    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)
    with pytest.raises(RuntimeError, match="FIRESTORE_EMULATOR_HOST is not set"):
        document_source(settings).client()


def test_the_demo_never_writes_into_a_real_firestore(monkeypatch, capsys):
    for name, value in GCP.items():
        monkeypatch.setenv(name, value)
    assert main(["demo"]) == 2
    assert "winterdays demo runs in local mode only" in capsys.readouterr().err
