"""Resources: every port the steps use, built from settings in one place.

As with Dagster's resources, the environment is configuration: this is the only module
that looks at the mode, and steps receive ports, never `if local:`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from google.cloud import firestore

from lakehouse.settings import Settings
from lakehouse.storage import ObjectStore
from lakehouse.transform import TransformRunner
from mlops.runners import PipelineRunner
from orchestrator.lease import Leases
from orchestrator.ledger import Ledger

if TYPE_CHECKING:
    from lakehouse.documents import FirestoreSource


@dataclass
class Resources:
    settings: Settings
    documents: FirestoreSource  # the document source (sales, the run ledger, the leases)
    bronze: ObjectStore
    quarantine: ObjectStore
    firestore: Callable[[], firestore.Client]  # made on first use
    transform: TransformRunner
    pipelines: PipelineRunner
    ledger: Ledger
    leases: Leases
    # One run per logical date may proceed. Locally one run at all: DuckDB allows one writer
    # process, and the churn step's components are processes of their own.
    lease_per_date: bool = True
    # GET /dashboard reads the warehouse of this machine; in gcp, Looker Studio is the dashboard
    local_dashboard: bool = False

    def lease_key(self, logical_date: str) -> str:
        return logical_date if self.lease_per_date else "warehouse"

    @classmethod
    def from_settings(cls, settings: Settings) -> Resources:
        documents = document_source(settings)
        firestore_client = _firestore_client(documents)
        return cls(
            settings=settings,
            documents=documents,
            bronze=ObjectStore(settings.storage.bronze_uri, backoff=settings.storage.backoff),
            quarantine=ObjectStore(settings.storage.quarantine_uri, backoff=settings.storage.backoff),
            firestore=firestore_client,
            transform=_transform_runner(settings),
            pipelines=_pipeline_runner(settings),
            ledger=Ledger(firestore_client, settings.firestore.runs_collection),
            leases=Leases(firestore_client, settings.firestore.leases_collection, settings.service.lease_ttl_s),
            lease_per_date=not one_writer_process(settings),
            local_dashboard=_local(settings),
        )


def ledger_of(settings: Settings) -> Ledger:
    """The run ledger alone, for readers (`winterdays status`): without the runners' imports (kfp's take seconds)."""
    return Ledger(_firestore_client(document_source(settings)), settings.firestore.runs_collection)


def _firestore_client(documents: FirestoreSource) -> Callable[[], firestore.Client]:
    """A client made on first use, then shared."""
    client_cache: list[firestore.Client] = []

    def firestore_client() -> firestore.Client:
        if not client_cache:
            client_cache.append(documents.client())
        return client_cache[0]

    return firestore_client


def _local(settings: Settings) -> bool:
    return settings.mode == "local"


def one_writer_process(settings: Settings) -> bool:
    """Locally the warehouse is a DuckDB file, which one process at a time may write."""
    return _local(settings)


def document_source(settings: Settings) -> FirestoreSource:
    from lakehouse.documents import EmulatedFirestoreSource, FirestoreSource

    if _local(settings):
        return EmulatedFirestoreSource(settings.gcp.project, settings.storage.home / "firestore",
                                       settings.firestore.emulator)
    return FirestoreSource(settings.gcp.project)


def _transform_runner(settings: Settings) -> TransformRunner:
    if _local(settings):
        from lakehouse.transform.local import LocalTransformRunner

        return LocalTransformRunner(settings.transform.dataform_dir, settings.warehouse.uri,
                                    settings.storage.home / "dataform", workers=settings.transform.workers or None,
                                    pii_key=settings.general.pii_key)
    from lakehouse.transform.dataform_api import DataformTransformRunner

    return DataformTransformRunner.from_settings(settings)


def _pipeline_runner(settings: Settings) -> PipelineRunner:
    if _local(settings):
        from mlops.runners.local import LocalPipelineRunner

        return LocalPipelineRunner(settings.churn.pipeline_root, settings.storage.home / "pipelines",
                                   settings.churn.image)
    from mlops.runners.vertex import VertexPipelineRunner

    return VertexPipelineRunner.from_settings(settings)
