"""The model registry port: versioned churn models and which version is champion.

This module holds the port and the factory; folder.py and vertex.py are the adapters.

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

from typing import Protocol
from urllib.parse import parse_qs, urlparse

from mlops.errors import MlopsError

CHAMPION = "champion"


class RegistryError(MlopsError, RuntimeError):
    pass


class ModelRegistry(Protocol):
    def champion(self) -> dict | None:
        """{"version", "metrics", "snapshot_date"} of the current champion, or None before the first promotion."""

    def promote(self, version: str, blob: bytes, metrics: dict, info: dict) -> dict:
        """Register `version` (once: a re-run adds nothing) and make it champion; returns its record."""

    def load(self, version: str) -> bytes: ...


def open_registry(uri: str) -> ModelRegistry:
    if uri.startswith("vertex://"):
        from mlops.registry.vertex import VertexRegistry

        parsed = urlparse(uri)
        path = parsed.path.strip("/").split("/")
        artifacts = parse_qs(parsed.query).get("artifacts", [""])[0]
        if not (parsed.netloc and len(path) == 2 and all(path) and artifacts.startswith("gs://")):
            raise ValueError(f"registry URI {uri!r}: expected vertex://PROJECT/REGION/MODEL_ID?artifacts=gs://...")
        return VertexRegistry(parsed.netloc, path[0], path[1], artifacts)
    if "://" in uri and not uri.startswith("file://"):
        raise ValueError(f"unsupported registry URI {uri!r}: use a folder path or vertex://...")
    from mlops.registry.folder import FolderRegistry

    return FolderRegistry(uri.removeprefix("file://"))
