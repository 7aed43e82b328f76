"""The document source port: Firestore, real in gcp, the official emulator locally.

The client library talks to the emulator when FIRESTORE_EMULATOR_HOST is set, so both
modes share one adapter; `firestore_session` starts the emulator when local mode needs it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from google.cloud import firestore

from lakehouse.emulator import FirestoreEmulator
from lakehouse.settings import Settings


def client(settings: Settings) -> firestore.Client:
    if settings.is_local and not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        raise RuntimeError(
            "local mode reads Firestore from the emulator, but FIRESTORE_EMULATOR_HOST is not set; "
            "run inside `firestore_session(settings)` (the CLI does this for you)"
        )
    return firestore.Client(project=settings.project)


@contextlib.contextmanager
def firestore_session(settings: Settings) -> Iterator[str | None]:
    """Make Firestore reachable for the duration of a command.

    gcp: nothing to do. Local with FIRESTORE_EMULATOR_HOST set: use that emulator.
    Local otherwise: start (or reuse) the emulator persisted under WINTERDAYS_HOME,
    and save its data when the command ends, even when the command failed.
    """
    if not settings.is_local or os.environ.get("FIRESTORE_EMULATOR_HOST"):
        yield os.environ.get("FIRESTORE_EMULATOR_HOST")
        return
    emulator = FirestoreEmulator(settings.project, data_dir=settings.firestore_data_dir)
    host = emulator.start()
    previous = {k: os.environ.get(k) for k in ("FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")}
    os.environ.update(emulator.environ())
    try:
        yield host
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if emulator.owned:
            emulator.stop(save=True)
        else:  # another command's emulator: persist what this command wrote
            emulator.save()


def stream_documents(
    db: firestore.Client, collection: str, changed_from=None, changed_to=None, page_size: int = 1000
) -> Iterator[tuple[str, dict]]:
    """(id, data) of a collection's documents, page by page with a cursor (bounded memory).

    With bounds, only documents whose `updated_at` lies in [changed_from, changed_to).
    """
    query = db.collection(collection)
    if changed_from is not None:
        query = query.where(filter=firestore.FieldFilter("updated_at", ">=", changed_from))
    if changed_to is not None:
        query = query.where(filter=firestore.FieldFilter("updated_at", "<", changed_to))
    if changed_from is not None or changed_to is not None:
        query = query.order_by("updated_at")
    query = query.order_by("__name__").limit(page_size)
    cursor = None
    while True:
        page = list((query.start_after(cursor) if cursor else query).stream())
        for snapshot in page:
            yield snapshot.id, snapshot.to_dict()
        if len(page) < page_size:
            return
        cursor = page[-1]
