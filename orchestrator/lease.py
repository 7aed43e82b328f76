"""Single flight: a lease in Firestore lets one run per key (a logical date) proceed at a time.

A lease is one document {run_id, token, expires_at} in WINTERDAYS_LEASES_COLLECTION.
Taking it happens in the same Firestore transaction that reads the ledger and writes the
run, so two triggers can never both hold it. While the run goes on, a heartbeat renews it;
if the holder dies it stops renewing, the lease expires (WINTERDAYS_LEASE_TTL_S), and the
next trigger takes it over. Each ledger write of the holder checks the token in a
transaction (a fence), so a holder that lost its lease cannot overwrite its successor's run.
Expiry compares wall clocks of the instances, which Cloud Run keeps in sync.

The heartbeat extends the lease with a conditional write (the lease unchanged since read),
not a transaction: a transaction holds a lock between its read and its commit, and a holder
killed in that gap (SIGKILL, a stopped instance) would block its successor's claim until
Firestore's lock timeout (60 s in the emulator).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypedDict, TypeVar, cast

from google.api_core.exceptions import FailedPrecondition
from google.cloud import firestore

from orchestrator.errors import OrchestratorError
from orchestrator.ledger import now, transact

log = logging.getLogger(__name__)
EXTEND_ATTEMPTS = 5  # a write of the holder itself can race its heartbeat's; the next read settles it
T = TypeVar("T")


class LeaseRecord(TypedDict):
    """A lease document, one per key."""

    key: str
    run_id: str
    logical_date: str
    token: str
    holder: str  # host:pid
    acquired_at: dt.datetime
    renewed_at: dt.datetime
    expires_at: dt.datetime


class LeaseLost(OrchestratorError, RuntimeError):
    """Another trigger took the lease over (this holder stopped renewing it in time)."""


class Leases:
    def __init__(self, client: Callable[[], firestore.Client], collection: str, ttl_s: float):
        self._client = client
        self.collection = collection
        self.ttl_s = ttl_s

    def ref(self, key: str) -> firestore.DocumentReference:
        return self._client().collection(self.collection).document(key)

    def unchanged_since(self, snapshot: firestore.DocumentSnapshot[Any]) -> firestore.WriteOption:
        return self._client().write_option(last_update_time=snapshot.update_time)

    def read(self, transaction: firestore.Transaction | None,
             key: str) -> tuple[LeaseRecord | None, LeaseRecord | None]:
        """(the live lease, or None; the expired one a dead holder left, or None)."""
        snapshot = self.ref(key).get(transaction=transaction)
        if not snapshot.exists:
            return None, None
        lease = cast(LeaseRecord, snapshot.to_dict())
        return (lease, None) if lease["expires_at"] > now() else (None, lease)

    def take(self, transaction: firestore.Transaction, key: str, run_id: str, logical_date: str) -> Lease:
        token = uuid.uuid4().hex
        at = now()
        lease: LeaseRecord = {
            "key": key, "run_id": run_id, "logical_date": logical_date, "token": token,
            "holder": f"{socket.gethostname()}:{os.getpid()}", "acquired_at": at, "renewed_at": at,
            "expires_at": at + dt.timedelta(seconds=self.ttl_s),
        }
        transaction.set(self.ref(key), dict(lease))
        return Lease(self, key, token, run_id)

    def transact(self, body: Callable[[firestore.Transaction], T]) -> T:
        return transact(self._client(), body)


class Lease:
    """A lease this process holds."""

    def __init__(self, leases: Leases, key: str, token: str, run_id: str):
        self.leases, self.key, self.token, self.run_id = leases, key, token, run_id
        self.lost = threading.Event()
        self._renewed = time.monotonic()  # every ledger write renews too: the heartbeat fills the gaps

    def renew(self, write: Callable[[firestore.Transaction], None] | None = None) -> None:
        """Push the expiry forward; `write(transaction)` is committed only while the lease is ours."""
        def body(transaction: firestore.Transaction) -> None:
            snapshot = self.leases.ref(self.key).get(transaction=transaction)
            if not snapshot.exists or snapshot.get("token") != self.token:
                raise LeaseLost(f"the lease {self.key!r} of run {self.run_id} was taken over")
            at = now()
            transaction.update(self.leases.ref(self.key), {
                "renewed_at": at, "expires_at": at + dt.timedelta(seconds=self.leases.ttl_s)})
            if write is not None:
                write(transaction)

        try:
            self.leases.transact(body)
        except LeaseLost:
            self.lost.set()
            raise
        self._renewed = time.monotonic()

    def extend(self) -> None:
        """Push the expiry forward with a conditional write, holding no lock (see the module's doc)."""
        ref = self.leases.ref(self.key)
        for _ in range(EXTEND_ATTEMPTS):
            snapshot = ref.get()
            if not snapshot.exists or snapshot.get("token") != self.token:
                self.lost.set()
                raise LeaseLost(f"the lease {self.key!r} of run {self.run_id} was taken over")
            at = now()
            try:
                ref.update({"renewed_at": at, "expires_at": at + dt.timedelta(seconds=self.leases.ttl_s)},
                           option=self.leases.unchanged_since(snapshot))
            except FailedPrecondition:  # written since the read: read again, to see by whom
                continue
            self._renewed = time.monotonic()
            return
        raise RuntimeError(f"the lease {self.key!r} changed under {EXTEND_ATTEMPTS} extensions in a row")

    def release(self) -> None:
        def body(transaction: firestore.Transaction) -> None:
            snapshot = self.leases.ref(self.key).get(transaction=transaction)
            if snapshot.exists and snapshot.get("token") == self.token:
                transaction.delete(self.leases.ref(self.key))

        self.leases.transact(body)

    @contextlib.contextmanager
    def heartbeat(self) -> Iterator[Lease]:
        """Renew every third of the lease's life while the block runs (a step may take an hour)."""
        stop = threading.Event()
        interval = self.leases.ttl_s / 3

        def beat() -> None:
            while not stop.wait(max(0.0, self._renewed + interval - time.monotonic())):
                if time.monotonic() - self._renewed < interval:
                    continue  # a ledger write renewed it meanwhile
                try:
                    self.extend()
                except LeaseLost:
                    log.error("lease lost", extra={"event": "lease_lost", "lease": self.key})
                    return
                except Exception as error:  # a blip in Firestore: try again shortly
                    log.warning("lease renewal failed", extra={"lease": self.key, "error": str(error)[:500]})
                    stop.wait(min(1.0, interval))

        # the copied context carries the run id into the heartbeat's log lines
        thread = threading.Thread(target=contextvars.copy_context().run, args=(beat,), name=f"lease-{self.key}",
                                  daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            thread.join()
