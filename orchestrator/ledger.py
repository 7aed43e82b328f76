"""The run ledger: one Firestore document per run, saved each time a step changes state.

Firestore is the ledger in both modes (the emulator locally), so an engineer sees the
same history in the console, the CLI (`winterdays status`) and the API (`GET /runs`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

STEP_STATES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "SKIPPED")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Ledger:
    def __init__(self, client: Callable[[], object], collection: str):
        self._client = client
        self.collection = collection

    def _ref(self, run_id: str):
        return self._client().collection(self.collection).document(run_id)

    def create(self, run: dict) -> None:
        self._ref(run["run_id"]).set(run)

    def save(self, run: dict) -> None:
        run["updated_at"] = now()
        self._ref(run["run_id"]).set(run)

    def get(self, run_id: str) -> dict | None:
        snapshot = self._ref(run_id).get()
        return snapshot.to_dict() if snapshot.exists else None

    def recent(self, limit: int = 20, logical_date: str | None = None) -> list[dict]:
        query = self._client().collection(self.collection)
        if logical_date:
            from google.cloud import firestore

            query = query.where(filter=firestore.FieldFilter("logical_date", "==", logical_date))
        runs = [s.to_dict() for s in query.stream()]
        runs.sort(key=lambda r: r.get("created_at") or now(), reverse=True)
        return runs[:limit]
