"""The document source port: Firestore, real in gcp, the official emulator locally.

The client library talks to the emulator when FIRESTORE_EMULATOR_HOST is set, so both
adapters make the same client; the emulated one also starts the emulator for a session.
orchestrator/resources.py chooses the adapter.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from google.api_core.retry import Retry
from google.cloud import firestore

from lakehouse.emulator import EmulatorError, FirestoreEmulator
from lakehouse.retry import DEFAULT_BACKOFF, Attempts, Backoff

PAGE_SIZE = 50_000  # each query costs a round trip (and, in the emulator, a sort of the whole collection)
# The client's own retry would restart a broken stream by itself; ours does it from our cursor, logged.
NO_CLIENT_RETRY = Retry(predicate=lambda error: False)


class NoLocalData(EmulatorError):
    """A read-only command found no local data folder: nothing has run here."""


class FirestoreSource:
    """The project's Firestore (gcp): always reachable, nothing to start."""

    emulated = False  # a real database: never fill it with a demo history

    def __init__(self, project: str):
        self.project = project

    def client(self) -> firestore.Client:
        return firestore.Client(project=self.project)

    @contextlib.contextmanager
    def session(self, save: bool = True) -> Iterator[str | None]:
        """Make Firestore reachable for the duration of a command; yields the emulator's host, if any."""
        yield os.environ.get("FIRESTORE_EMULATOR_HOST")


class EmulatedFirestoreSource(FirestoreSource):
    """The official emulator (local), its data persisted in `data_dir` between commands."""

    emulated = True

    def __init__(self, project: str, data_dir: Path, start_script: str = ""):
        super().__init__(project)
        self.data_dir, self.start_script = data_dir, start_script

    def client(self) -> firestore.Client:
        if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
            raise RuntimeError(
                "local mode reads Firestore from the emulator, but FIRESTORE_EMULATOR_HOST is not set; "
                "run inside the document source's session() (the CLI does this for you)"
            )
        return super().client()

    @contextlib.contextmanager
    def session(self, save: bool = True) -> Iterator[str | None]:
        """With FIRESTORE_EMULATOR_HOST set: use that emulator. Otherwise reuse the one running for
        data_dir (`winterdays emulator start` or `serve` keep one warm), else start one for this command
        and say so; save its data when the command ends, even when it failed (unless `save` is off:
        a command that only reads: it then creates nothing either, and no saved data is NoLocalData)."""
        if os.environ.get("FIRESTORE_EMULATOR_HOST"):
            yield os.environ["FIRESTORE_EMULATOR_HOST"]
            return
        emulator = self.emulator(read_only=not save)
        if not save and not emulator.has_data():
            raise NoLocalData(f"no local data under {self.data_dir.parent} (looked for {self.data_dir}): "
                              "nothing has run here; set WINTERDAYS_HOME to the folder of your runs")
        host = emulator.running()
        if host is None:
            print(f"winterdays: no Firestore emulator is running for {self.data_dir}: starting one for this "
                  "command (a few seconds; `winterdays emulator start` keeps one warm)", file=sys.stderr, flush=True)
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
                emulator.stop(save=save)
            elif save:  # another command's emulator: persist what this command wrote
                emulator.save()

    def emulator(self, read_only: bool = False) -> FirestoreEmulator:
        """The emulator of data_dir (`winterdays emulator` starts, stops and shows it)."""
        return FirestoreEmulator(self.project, data_dir=self.data_dir, start_script=self.start_script,
                                 read_only=read_only)


def stream_documents(
    db: firestore.Client, collection: str, changed_from: dt.datetime | None = None,
    changed_to: dt.datetime | None = None, page_size: int = PAGE_SIZE, backoff: Backoff = DEFAULT_BACKOFF,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(id, data) of a collection's documents, read as stream_snapshots reads them.

    `data` is the snapshot's own dict, to be read, not changed: DocumentSnapshot.to_dict()
    deep-copies it (the snapshot already holds a copy of its own), and that second copy cost a
    quarter of the export's whole work beyond reading the documents (bench/export.py).
    """
    for snapshot in stream_snapshots(db, collection, changed_from, changed_to, page_size, backoff):
        yield snapshot.id, _fields(snapshot)


def _fields(snapshot: firestore.DocumentSnapshot[Any]) -> dict[str, Any]:
    data = getattr(snapshot, "_data", None)  # private in the client; to_dict() if it ever goes
    if isinstance(data, dict):
        return data
    return snapshot.to_dict() or {}  # a streamed snapshot exists, so to_dict() is never None


def stream_snapshots(
    db: firestore.Client, collection: str, changed_from: dt.datetime | None = None,
    changed_to: dt.datetime | None = None, page_size: int = PAGE_SIZE, backoff: Backoff = DEFAULT_BACKOFF,
) -> Iterator[firestore.DocumentSnapshot[Any]]:
    """A collection's documents, in pages of `page_size` read after a cursor.

    With bounds, only documents whose `updated_at` lies in [changed_from, changed_to).
    A page is consumed as a stream, so memory does not grow with the page: its size only sets
    how often a query starts. The cursor is the last document yielded; a transient error
    (retry.is_transient) re-queries after it with a backoff, so no document is yielded twice
    and none is skipped.
    """
    query: firestore.CollectionReference | firestore.Query = db.collection(collection)
    if changed_from is not None:
        query = query.where(filter=firestore.FieldFilter("updated_at", ">=", changed_from))
    if changed_to is not None:
        query = query.where(filter=firestore.FieldFilter("updated_at", "<", changed_to))
    if changed_from is not None or changed_to is not None:
        query = query.order_by("updated_at")  # a range filter's field must be the first order
    query = query.order_by("__name__").limit(page_size)
    attempts = Attempts(backoff, f"read {collection}")
    cursor, page_done = None, False
    while not page_done:
        read = 0
        try:
            for snapshot in (query.start_after(cursor) if cursor else query).stream(retry=NO_CLIENT_RETRY):
                yield snapshot
                cursor, read = snapshot, read + 1
                attempts.succeeded()
        except Exception as error:  # noqa: BLE001 - failed() re-raises what is not transient
            attempts.failed(error)
            continue
        page_done = read < page_size
