"""The local model registry: versioned folders and champion.json, on disk or under a gs:// prefix."""

from __future__ import annotations

import datetime as dt
import json

from lakehouse.storage import ObjectStore
from mlops.registry import RegistryError


class FolderRegistry:
    def __init__(self, root_uri: str):
        self.store = ObjectStore(root_uri)

    def champion(self) -> dict | None:
        if not self.store.exists("champion.json"):
            return None
        record = self._read_json("champion.json")
        return {**record, "snapshot_date": self.snapshot_date(record["version"])}

    def snapshot_date(self, version: str) -> str | None:
        """The snapshot a version was trained up to (its version.json), None when not recorded."""
        if not self.store.exists(f"{version}/version.json"):
            return None
        return self._read_json(f"{version}/version.json").get("snapshot_date")

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


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _json(value: dict) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True).encode()
