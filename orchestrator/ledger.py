"""The run ledger: one Firestore document per run, saved each time a step changes state.

Firestore is the ledger in both modes (the emulator locally), so an engineer sees the
same history in the console, the CLI (`winterdays status`) and the API (`GET /runs`).

A run document (collection WINTERDAYS_RUNS_COLLECTION, id `YYYYMMDD-<8 hex>`) is a
records.RunRecord: run_id, logical_date, state, trigger, options, options_key, attempt,
created_at, updated_at, ended_at, error, failed_step, steps: {name: {state, started_at,
ended_at, duration_s, outputs, error, redo_from, checkpoint}}
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import datetime as dt
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar, cast

from google.api_core.exceptions import Aborted
from google.cloud import firestore

from lakehouse.retry import is_transient
from orchestrator.errors import Busy
from orchestrator.records import RunRecord

T = TypeVar("T")
TRANSACTION_ATTEMPTS = 30  # Firestore aborts contended transactions; a burst of triggers retries


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Contended(Busy, RuntimeError):
    """Firestore aborted a transaction on every attempt: too many writers at once; try again shortly."""


class LedgerUnavailable(Busy, RuntimeError):
    """The ledger (Firestore) did not answer within a request's deadline; try again shortly."""


MAX_PENDING_CALLS = 64  # calls still waiting on a silent Firestore: past this, answer at once
_pending = threading.BoundedSemaphore(MAX_PENDING_CALLS)


def within(seconds: float, call: Callable[[], T], on_late: Callable[[T], None] | None = None) -> T:
    """`call()` for a request: its answer within `seconds`, or LedgerUnavailable (so the request answers 503).

    The client's own retries can wait minutes on an unreachable Firestore; the call goes on in a daemon
    thread (shutdown never waits for it), and `on_late` receives its result if it ends after all.
    """
    if not _pending.acquire(blocking=False):
        raise LedgerUnavailable(f"the run ledger (Firestore) has {MAX_PENDING_CALLS} calls unanswered; "
                                "try again shortly")
    future: concurrent.futures.Future[T] = concurrent.futures.Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as error:  # noqa: BLE001 - handed to the waiting request
            future.set_exception(error)
        finally:
            _pending.release()

    threading.Thread(target=contextvars.copy_context().run, args=(run,), name="ledger-call", daemon=True).start()
    try:
        return future.result(timeout=seconds)
    except concurrent.futures.TimeoutError:
        if on_late is not None:
            future.add_done_callback(lambda done: done.exception() is None and on_late(done.result()))
        raise LedgerUnavailable(f"the run ledger (Firestore) did not answer within {seconds:g} s; "
                                "try again shortly") from None
    except Exception as error:
        if is_transient(error):
            raise LedgerUnavailable(f"the run ledger (Firestore) is unreachable ({type(error).__name__}); "
                                    "try again shortly") from error
        raise


def transact(client: firestore.Client, body: Callable[[firestore.Transaction], T]) -> T:
    """Run `body(transaction)` in a Firestore transaction, retried when Firestore aborts it.

    `body` may run more than once: it must only read and write through the transaction.
    """
    try:
        result: T = firestore.transactional(body)(client.transaction(max_attempts=TRANSACTION_ATTEMPTS))
        return result
    except ValueError as error:  # the client's "failed to commit in N attempts"
        if isinstance(error.__cause__, Aborted):
            raise Contended(f"the ledger is busy ({error.__cause__.message}); try again in a few seconds") from error
        raise


class Ledger:
    def __init__(self, client: Callable[[], firestore.Client], collection: str):
        self._client = client
        self.collection = collection

    def _ref(self, run_id: str) -> firestore.DocumentReference:
        return self._client().collection(self.collection).document(run_id)

    def save(self, run: RunRecord, transaction: firestore.Transaction | None = None) -> None:
        run["updated_at"] = now()
        if transaction is None:
            self._ref(run["run_id"]).set(dict(run))
        else:
            transaction.set(self._ref(run["run_id"]), dict(run))

    def get(self, run_id: str, transaction: firestore.Transaction | None = None,
            timeout: float | None = None) -> RunRecord | None:
        snapshot = self._ref(run_id).get(transaction=transaction, timeout=timeout)
        return _run(snapshot) if snapshot.exists else None

    def for_date(self, logical_date: str, transaction: firestore.Transaction | None = None) -> list[RunRecord]:
        """Every run of one logical date, newest first (a handful: one a day plus forced re-runs)."""
        query = self._collection().where(filter=firestore.FieldFilter("logical_date", "==", logical_date))
        snapshots = transaction.get(query) if transaction is not None else query.stream()
        return _newest_first([_run(s) for s in snapshots])

    def before(self, logical_date: str) -> Iterator[RunRecord]:
        """Runs of earlier logical dates, the latest date first; streamed, so a caller may stop early."""
        query = (self._collection().where(filter=firestore.FieldFilter("logical_date", "<", logical_date))
                 .order_by("logical_date", direction=firestore.Query.DESCENDING))
        return (_run(snapshot) for snapshot in query.stream())

    def recent(self, limit: int = 20, logical_date: str | None = None, state: str | None = None) -> list[RunRecord]:
        """The newest runs, optionally of one date and/or in one state.

        Equality filters alone need no composite index; their results are sorted here.
        """
        query: firestore.CollectionReference | firestore.Query = self._collection()
        if logical_date:
            query = query.where(filter=firestore.FieldFilter("logical_date", "==", logical_date))
        if state:
            query = query.where(filter=firestore.FieldFilter("state", "==", state))
        if not (logical_date or state):
            query = query.order_by("created_at", direction=firestore.Query.DESCENDING).limit(limit)
        return _newest_first([_run(s) for s in query.stream()])[:limit]

    def _collection(self) -> firestore.CollectionReference:
        return self._client().collection(self.collection)


def _run(snapshot: firestore.DocumentSnapshot[Any]) -> RunRecord:
    """A stored run as the ledger saved it (its states come back as strings, equal to their RunState)."""
    return cast(RunRecord, snapshot.to_dict())


def _newest_first(runs: list[RunRecord]) -> list[RunRecord]:
    return sorted(runs, key=lambda r: r.get("created_at") or now(), reverse=True)


def public(run: Mapping[str, object]) -> dict[str, Any]:
    """A JSON-safe copy of a run (datetimes as ISO strings)."""
    return {k: _json_safe(v) for k, v in run.items()}


def _json_safe(value: object) -> object:
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value
