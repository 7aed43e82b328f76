"""The object store port: a local folder or a `gs://` bucket, behind one fsspec interface.

Paths given to an ObjectStore are relative to its root ("sales/dt=2026-01-01/part-0.parquet").
Writes are atomic per object: a reader never sees a half-written file. Large objects are
written under `_staging/` (outside every source prefix, so no reader's glob meets them) and
then published under their final name in one step: a rename locally, a server-side copy in
GCS (an object is replaced whole). Calls to GCS are retried on transient errors (retry.py).
"""

from __future__ import annotations

import builtins
import contextlib
import os
import posixpath
import uuid
from collections.abc import Callable, Iterable
from typing import IO, TypeVar

import fsspec

from lakehouse.retry import DEFAULT_BACKOFF, Backoff, retrying

STAGING_PREFIX = "_staging"
T = TypeVar("T")
UPLOAD_CHUNK = 1 << 20  # a resumable upload sends (and holds) this much at a time; GCS wants 256 KiB multiples


def _create(path: str) -> IO[bytes]:
    """A new local file, its folders made; another writer may prune an empty folder between the two."""
    for _ in range(3):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            return open(path, "wb")  # noqa: SIM115 - the caller closes it
    return open(path, "wb")  # noqa: SIM115


def filesystem_for(uri: str) -> fsspec.AbstractFileSystem:
    if uri.startswith("gs://"):
        # gcsfs waits 60 s per call probing hierarchical namespaces unless told not to.
        os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
        import gcsfs

        kwargs = {}
        endpoint = os.environ.get("STORAGE_EMULATOR_HOST")
        if endpoint:
            kwargs = {"endpoint_url": endpoint, "token": "anon"}
        return gcsfs.GCSFileSystem(**kwargs)
    return fsspec.filesystem("file")


class ObjectStore:
    def __init__(self, root_uri: str, fs: fsspec.AbstractFileSystem | None = None,
                 backoff: Backoff = DEFAULT_BACKOFF):
        self.root_uri = root_uri.rstrip("/")
        self.backoff = backoff
        self.fs = fs or filesystem_for(root_uri)
        self.is_folder = not root_uri.startswith("gs://")
        self._root = self.root_uri.removeprefix("gs://") if not self.is_folder else os.path.abspath(root_uri)

    def __repr__(self) -> str:
        return f"ObjectStore({self.root_uri!r})"

    # -- paths ---------------------------------------------------------------
    def full_path(self, rel: str) -> str:
        """Path as fsspec sees it (no scheme for gs://, absolute for local)."""
        return posixpath.join(self._root, rel) if rel else self._root

    def uri(self, rel: str = "") -> str:
        """Path as an engine sees it (gs://bucket/... or /abs/path/...)."""
        return posixpath.join(self.root_uri if not self.is_folder else self._root, rel)

    # -- reads ---------------------------------------------------------------
    def exists(self, rel: str) -> bool:
        return self._retrying(lambda: bool(self.fs.exists(self.full_path(rel))), f"exists {rel}")

    def read_bytes(self, rel: str) -> bytes:
        def read() -> bytes:
            with self.fs.open(self.full_path(rel), "rb") as handle:
                data: bytes = handle.read()
                return data

        return self._retrying(read, f"read {rel}")

    def list(self, prefix: str) -> list[str]:
        """Relative paths of the files under a prefix, sorted; empty when absent."""
        base = self.full_path(prefix)
        if not self.exists(prefix):
            return []
        found = self._retrying(lambda: self.fs.find(base), f"list {prefix}")
        root = self._root.rstrip("/") + "/"
        return sorted(p[len(root):] if p.startswith(root) else p for p in found)

    def _retrying(self, operation: Callable[[], T], what: str) -> T:
        """GCS calls are retried on transient errors; a local file system has none."""
        return operation() if self.is_folder else retrying(operation, f"{what} in {self.root_uri}", self.backoff)

    # -- writes --------------------------------------------------------------
    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write one object atomically: temp name, then rename (local) or a single upload (gcs)."""
        if self.is_folder:
            self.write_stream(rel, [data])
        else:  # a single-request upload is atomic in GCS, and safe to repeat
            self._retrying(lambda: self.fs.pipe_file(self.full_path(rel), data), f"write {rel}")

    def write_stream(self, rel: str, chunks: Iterable[bytes]) -> int:
        """Write one object from chunks in bounded memory, as atomically as write_bytes; returns its size.

        Local: a temp file outside every source prefix (a reader's glob never sees a partial
        file), then a rename. GCS: a resumable upload, which creates the object only when
        it is finalised.
        """
        target = self.full_path(rel)
        size = 0
        if not self.is_folder:
            with self.fs.open(target, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    size += len(chunk)
            return size
        os.makedirs(os.path.dirname(target), exist_ok=True)
        staging = self.full_path(STAGING_PREFIX)
        tmp = os.path.join(staging, f"{uuid.uuid4().hex}.tmp")
        try:
            with _create(tmp) as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    size += len(chunk)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
            self._prune(staging)
        return size

    def delete(self, rels: Iterable[str]) -> None:
        paths = [self.full_path(r) for r in rels]
        if paths:  # a repeated attempt skips what the failed one removed
            self._retrying(lambda: self.fs.rm([p for p in paths if self.fs.exists(p)]), f"delete {paths[0]}…")

    # -- staged writes: a large object written in pieces, then published whole ---------
    def open_staged(self, rel: str) -> IO[bytes]:
        """A binary handle writing `_staging/<rel>`; publish() it once closed.

        GCS: a resumable upload, which creates the object only when the handle is closed
        (gcsfs retries each chunk on transient errors by itself).
        """
        path = self.full_path(posixpath.join(STAGING_PREFIX, rel))
        if self.is_folder:
            return _create(path)
        handle: IO[bytes] = self.fs.open(path, "wb", block_size=UPLOAD_CHUNK)
        return handle

    def publish(self, staged_rel: str, rel: str) -> None:
        """Move a closed staged object to `rel`, replacing what was there in one step."""
        source = self.full_path(posixpath.join(STAGING_PREFIX, staged_rel))
        target = self.full_path(rel)
        if self.is_folder:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            os.replace(source, target)
            self._prune(os.path.dirname(source))
            return
        self._retrying(lambda: self.fs.copy(source, target), f"publish {rel}")  # a rewrite: atomic per object
        self._retrying(lambda: self.fs.rm(source) if self.fs.exists(source) else None, f"clean {staged_rel}")

    def clear_staging(self, prefix: str) -> None:
        """Remove what a crashed writer left under `_staging/<prefix>`; only the writer's own prefix."""
        self.delete(self.list(posixpath.join(STAGING_PREFIX, prefix)))
        if self.is_folder:
            root = self.full_path(posixpath.join(STAGING_PREFIX, prefix))
            for folder, _, _ in sorted(os.walk(root), key=lambda entry: -len(entry[0])):
                self._prune(folder)

    def _prune(self, folder: str) -> None:
        """Local: remove `folder` and its parents up to `_staging/` itself while they are empty (object
        stores have no folders), so that staging leaves nothing behind."""
        root = os.path.normpath(self.full_path(""))
        folder = os.path.normpath(folder)
        while folder.startswith(root + os.sep) and folder != root:
            try:
                os.rmdir(folder)
            except OSError:  # not empty (another writer's file), or gone
                return
            folder = os.path.dirname(folder)

    def replace_partition(self, partition: str, files: dict[str, bytes]) -> builtins.list[str]:
        """Make `partition` hold exactly `files` (name -> bytes) and nothing else.

        New objects are written first under their final names (each write atomic),
        then objects left over from an earlier version are removed, so a re-run never
        leaves duplicates behind and a crash never exposes a half-written file.
        """
        written = []
        for name, data in sorted(files.items()):
            rel = posixpath.join(partition, name)
            self.write_bytes(rel, data)
            written.append(rel)
        stale = [p for p in self.list(partition) if p not in set(written)]
        self.delete(stale)
        return written
