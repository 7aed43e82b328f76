"""Resources: every port the steps use, built from settings in one place.

As with Dagster's resources, the environment is configuration: this is the only module
that looks at the mode, and steps receive ports, never `if local:`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lakehouse.messaging import MessageBus, PubSubBus
from lakehouse.settings import Settings
from lakehouse.storage import ObjectStore
from lakehouse.transform import TransformRunner
from mlops.runners import PipelineRunner
from orchestrator.lease import Leases
from orchestrator.ledger import Ledger


@dataclass
class Resources:
    settings: Settings
    bronze: ObjectStore
    quarantine: ObjectStore
    firestore: Callable[[], object]  # a google.cloud.firestore.Client, made on first use
    transform: TransformRunner
    pipelines: PipelineRunner
    ledger: Ledger
    leases: Leases
    # One run per logical date may proceed. Locally one run at all: DuckDB allows one writer
    # process, and the churn step's components are processes of their own.
    lease_per_date: bool = True
    messages: Callable[[], MessageBus] | None = None  # Pub/Sub (the emulator locally), made on first use
    # told the name of each object that completes a source: gcp has the bucket's own notification
    notify_landing: Callable[[str], object] = lambda name: None

    def lease_key(self, logical_date: str) -> str:
        return logical_date if self.lease_per_date else "warehouse"

    @classmethod
    def from_settings(cls, settings: Settings) -> Resources:
        from lakehouse import documents

        client_cache: list = []

        def firestore_client():
            if not client_cache:
                client_cache.append(documents.client(settings))
            return client_cache[0]

        bus_cache: list = []

        def message_bus() -> MessageBus:
            if not bus_cache:
                bus_cache.append(PubSubBus(settings.project))
            return bus_cache[0]

        return cls(
            settings=settings,
            bronze=ObjectStore(settings.bronze_uri, backoff=settings.backoff),
            quarantine=ObjectStore(settings.quarantine_uri, backoff=settings.backoff),
            firestore=firestore_client,
            transform=_transform_runner(settings),
            pipelines=_pipeline_runner(settings),
            ledger=Ledger(firestore_client, settings.runs_collection),
            leases=Leases(firestore_client, settings.leases_collection, settings.lease_ttl_s),
            lease_per_date=not settings.is_local,
            messages=message_bus,
            notify_landing=_landing_notifier(settings, message_bus),
        )


def _landing_notifier(settings: Settings, message_bus: Callable[[], MessageBus]) -> Callable[[str], object]:
    if not settings.is_local:
        return lambda name: None  # the bronze bucket's notification publishes (terraform/pubsub.tf)
    from lakehouse.stream import LANDING_TOPIC
    from lakehouse.stream.notifications import LocalLandingNotifier

    return lambda name: LocalLandingNotifier(message_bus(), LANDING_TOPIC, "bronze")(name)


def _transform_runner(settings: Settings) -> TransformRunner:
    if settings.is_local:
        from lakehouse.transform.local import LocalTransformRunner

        return LocalTransformRunner(settings.dataform_dir, settings.warehouse_uri, settings.home / "dataform",
                           workers=settings.transform_workers or None)
    from lakehouse.transform.dataform_api import DataformTransformRunner

    return DataformTransformRunner.from_settings(settings)


def _pipeline_runner(settings: Settings) -> PipelineRunner:
    if settings.is_local:
        from mlops.runners.local import LocalPipelineRunner

        return LocalPipelineRunner(settings.effective_pipeline_root, settings.home / "pipelines")
    from mlops.runners.vertex import VertexPipelineRunner

    return VertexPipelineRunner.from_settings(settings)
