"""The probes: `/healthz` (the process is up) and `/readyz` (what the service calls answers).

No token: Cloud Run's probes call them directly. `/healthz` answers at once whatever the
dependencies; `/readyz` gives its three checks one deadline together.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Mapping
from typing import Protocol

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from orchestrator.resources import Resources

health = Blueprint("health", __name__)
CHECK_TIMEOUT_S = 5


class Probed(Protocol):
    """What the checks read of orchestrator.app.Service (which registers this blueprint)."""

    @property
    def resources(self) -> Resources: ...

    @property
    def active(self) -> Mapping[str, object]: ...


@health.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@health.get("/readyz")
def readyz() -> ResponseReturnValue:
    service: Probed = current_app.extensions["winterdays"]  # orchestrator.app.Service
    checks = {"firestore": _check_firestore, "transform": _check_transform, "bronze": _check_bronze}
    pool = concurrent.futures.ThreadPoolExecutor(len(checks))
    try:
        futures = {name: pool.submit(check, service) for name, check in checks.items()}
        concurrent.futures.wait(futures.values(), timeout=CHECK_TIMEOUT_S)  # one deadline for all three
        results = {name: _outcome(future) for name, future in futures.items()}
    finally:
        pool.shutdown(wait=False)  # a check still waiting on Firestore must not hold the answer
    ready = all(r == "ok" or r.startswith("ok") for r in results.values())
    return jsonify(status="ready" if ready else "unready", checks=results), 200 if ready else 503


def _outcome(future: concurrent.futures.Future[str]) -> str:
    if not future.done():
        return f"unreachable: no answer within {CHECK_TIMEOUT_S} s"
    try:
        return future.result()
    except concurrent.futures.TimeoutError:
        return f"unreachable: no answer within {CHECK_TIMEOUT_S} s"
    except Exception as error:
        return f"unreachable: {str(error).splitlines()[0][:300]}"


def _check_firestore(service: Probed) -> str:
    service.resources.ledger.get("readyz-probe", timeout=CHECK_TIMEOUT_S)
    return "ok"


def _check_transform(service: Probed) -> str:
    """What this service itself uses: locally the warehouse file, in gcp the Dataform repository (the
    orchestrator's identity has no BigQuery role: Dataform and Vertex AI query as their own)."""
    if service.active:  # locally a run of this process holds the warehouse (DuckDB: one writer process)
        return f"ok (in use by run {', '.join(sorted(service.active))})"
    return service.resources.transform.ready(CHECK_TIMEOUT_S)


def _check_bronze(service: Probed) -> str:
    store = service.resources.bronze
    if store.is_folder:  # a fresh local folder is created by the first write: its nearest ancestor counts
        root = folder = store.full_path("")
        while not os.path.exists(folder):
            folder = os.path.dirname(folder)
        if not (os.path.isdir(folder) and os.access(folder, os.W_OK)):
            raise RuntimeError(f"{root} cannot be written")
        return "ok"
    if not store.fs.exists(store.full_path("")):
        raise RuntimeError(f"{store.uri()} does not exist")
    return "ok"
