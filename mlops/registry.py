"""The model registry port: versioned churn models and which version is champion.

One URI names it, as for the warehouse, so KFP components receive a plain string:

  /abs/path/models                                     local: a versioned folder
  vertex://PROJECT/REGION/MODEL_ID?artifacts=gs://...  gcp: Vertex AI Model Registry

Both keep each version's files in the same layout (on disk, or under the gs:// prefix):

  <root>/<version>/model.pkl       the fitted model (Vertex's sklearn containers look for this name)
  <root>/<version>/metrics.json    its holdout metrics
  <root>/<version>/version.json    version, snapshot date, pipeline run, registration time
  <root>/champion.json             local only: the champion's version and metrics

Locally champion.json says which version is champion; on Vertex the `champion` version
alias does, and the version's artifact_uri leads to its metrics.json.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Protocol
from urllib.parse import parse_qs, urlparse

from lakehouse.storage import ObjectStore

CHAMPION = "champion"


class RegistryError(RuntimeError):
    pass


class ModelRegistry(Protocol):
    def champion(self) -> dict | None:
        """{"version", "metrics"} of the current champion, or None before the first promotion."""

    def promote(self, version: str, blob: bytes, metrics: dict, info: dict) -> dict:
        """Register `version` (once: a re-run adds nothing) and make it champion; returns its record."""

    def load(self, version: str) -> bytes: ...


class FolderRegistry:
    def __init__(self, root_uri: str):
        self.store = ObjectStore(root_uri)

    def champion(self) -> dict | None:
        if not self.store.exists("champion.json"):
            return None
        return self._read_json("champion.json")

    def promote(self, version: str, blob: bytes, metrics: dict, info: dict) -> dict:
        self.save_version(version, blob, metrics, info)
        current = self.champion()
        if current and current["version"] == version:
            return current
        record = {"version": version, "metrics": metrics, "promoted_at": _now(),
                  "previous": current["version"] if current else None}
        self.store.write_bytes("champion.json", _json(record))
        return record

    def save_version(self, version: str, blob: bytes, metrics: dict, info: dict) -> None:
        """Write a version's files once; a version is its model's hash, so it never changes."""
        if self.store.exists(f"{version}/version.json"):
            return
        self.store.write_bytes(f"{version}/model.pkl", blob)
        self.store.write_bytes(f"{version}/metrics.json", _json(metrics))
        # written last: its presence says the version is complete
        self.store.write_bytes(f"{version}/version.json", _json({"version": version, "registered_at": _now(), **info}))

    def load(self, version: str) -> bytes:
        if not self.store.exists(f"{version}/model.pkl"):
            raise RegistryError(f"model version {version} is not in the registry {self.store.root_uri}")
        return self.store.read_bytes(f"{version}/model.pkl")

    def versions(self) -> list[str]:
        return sorted({p.split("/")[0] for p in self.store.list("") if p.endswith("/version.json")})

    def _read_json(self, rel: str) -> dict:
        return json.loads(self.store.read_bytes(rel))


def open_registry(uri: str) -> ModelRegistry:
    if uri.startswith("vertex://"):
        from mlops.vertex_registry import VertexRegistry

        parsed = urlparse(uri)
        path = parsed.path.strip("/").split("/")
        artifacts = parse_qs(parsed.query).get("artifacts", [""])[0]
        if not (parsed.netloc and len(path) == 2 and all(path) and artifacts.startswith("gs://")):
            raise ValueError(f"registry URI {uri!r}: expected vertex://PROJECT/REGION/MODEL_ID?artifacts=gs://...")
        return VertexRegistry(parsed.netloc, path[0], path[1], artifacts)
    if "://" in uri and not uri.startswith("file://"):
        raise ValueError(f"unsupported registry URI {uri!r}: use a folder path or vertex://...")
    return FolderRegistry(uri.removeprefix("file://"))


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _json(value: dict) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True).encode()
