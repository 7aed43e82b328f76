"""The run ledger: one Firestore document per run, saved each time a step changes state.

Firestore is the ledger in both modes (the emulator locally), so an engineer sees the
same history in the console, the CLI (`winterdays status`) and the API (`GET /runs`).

A run document (collection WINTERDAYS_RUNS_COLLECTION, id `YYYYMMDD-<8 hex>`):
  run_id, logical_date, state, trigger, options, options_key, attempt, created_at,
  updated_at, ended_at, error, failed_step, steps: {name: {state, started_at, ended_at,
  duration_s, outputs, error, redo_from, checkpoint}}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from google.api_core.exceptions import Aborted
from google.cloud import firestore

from orchestrator.errors import Busy

RUN_STATES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED")
TRANSACTION_ATTEMPTS = 30  # Firestore aborts contended transactions; a burst of triggers retries


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Contended(Busy, RuntimeError):
    """Firestore aborted a transaction on every attempt: too many writers at once; try again shortly."""


def transact(client, body: Callable[[firestore.Transaction], object]):
    """Run `body(transaction)` in a Firestore transaction, retried when Firestore aborts it.

    `body` may run more than once: it must only read and write through the transaction.
    """
    try:
        return firestore.transactional(body)(client.transaction(max_attempts=TRANSACTION_ATTEMPTS))
    except ValueError as error:  # the client's "failed to commit in N attempts"
        if isinstance(error.__cause__, Aborted):
            raise Contended(f"the ledger is busy ({error.__cause__.message}); try again in a few seconds") from error
        raise


class Ledger:
    def __init__(self, client: Callable[[], object], collection: str):
        self._client = client
        self.collection = collection

    def _ref(self, run_id: str):
        return self._client().collection(self.collection).document(run_id)

    def save(self, run: dict, transaction=None) -> None:
        run["updated_at"] = now()
        if transaction is None:
            self._ref(run["run_id"]).set(run)
        else:
            transaction.set(self._ref(run["run_id"]), run)

    def get(self, run_id: str, transaction=None, timeout: float | None = None) -> dict | None:
        snapshot = self._ref(run_id).get(transaction=transaction, timeout=timeout)
        return snapshot.to_dict() if snapshot.exists else None

    def for_date(self, logical_date: str, transaction=None) -> list[dict]:
        """Every run of one logical date, newest first (a handful: one a day plus forced re-runs)."""
        query = self._collection().where(filter=firestore.FieldFilter("logical_date", "==", logical_date))
        snapshots = transaction.get(query) if transaction is not None else query.stream()
        return _newest_first([s.to_dict() for s in snapshots])

    def before(self, logical_date: str):
        """Runs of earlier logical dates, the latest date first; streamed, so a caller may stop early."""
        query = (self._collection().where(filter=firestore.FieldFilter("logical_date", "<", logical_date))
                 .order_by("logical_date", direction=firestore.Query.DESCENDING))
        return (snapshot.to_dict() for snapshot in query.stream())

    def recent(self, limit: int = 20, logical_date: str | None = None, state: str | None = None) -> list[dict]:
        """The newest runs, optionally of one date and/or in one state.

        Equality filters alone need no composite index; their results are sorted here.
        """
        query = self._collection()
        if logical_date:
            query = query.where(filter=firestore.FieldFilter("logical_date", "==", logical_date))
        if state:
            query = query.where(filter=firestore.FieldFilter("state", "==", state))
        if not (logical_date or state):
            query = query.order_by("created_at", direction=firestore.Query.DESCENDING).limit(limit)
        return _newest_first([s.to_dict() for s in query.stream()])[:limit]

    def _collection(self):
        return self._client().collection(self.collection)


def _newest_first(runs: list[dict]) -> list[dict]:
    return sorted(runs, key=lambda r: r.get("created_at") or now(), reverse=True)


def public(value):
    """A JSON-safe copy of a run (datetimes as ISO strings)."""
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items()}
    if isinstance(value, list):
        return [public(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value
