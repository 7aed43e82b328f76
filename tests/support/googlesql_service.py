"""GoogleSQL's reference implementation (the ZetaSQL local service) as a test oracle.

`make test` installs the npm package `@fivetrandevelopers/zetasql` in tests/support/googlesql/ (pinned, with
its lock file) and generates the Python gRPC stubs from the protos it ships into
tests/support/googlesql/stubs/ (git-ignored; grpcio-tools is a dev dependency). The server is one Linux
x86-64 executable, started like the Firestore emulator: its own process group, a free port, stopped
with SIGTERM to the group.

Language options are the maximum feature set in PRODUCT_EXTERNAL mode (BigQuery's: no INT32,
UINT64 or FLOAT types) with UTC as the default time zone; where that still differs from BigQuery,
docs/bigquery-parity.md lists the difference.
"""

from __future__ import annotations

import os
import platform
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent / "googlesql"
PACKAGE = HERE / "node_modules" / "@fivetrandevelopers" / "zetasql" / "lib" / "zetasql"
SERVER = PACKAGE / "remote_server.so"
STUBS = HERE / "stubs"
READY_LINE = "Running server on"


class GoogleSQLMissing(RuntimeError):
    """The reference implementation is not installed (or cannot run on this machine)."""


class GoogleSQLError(RuntimeError):
    """GoogleSQL refused or failed the statement; the message is the engine's."""


def check_installed() -> None:
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise GoogleSQLMissing(f"the ZetaSQL local service ships for Linux x86-64 only, not {sys.platform} "
                               f"{platform.machine()}: the BigQuery parity tests cannot run here")
    if not SERVER.exists() or not (STUBS / "local_service_pb2.py").exists():
        raise GoogleSQLMissing("GoogleSQL's reference implementation is not installed: run `make test` "
                               "(it runs `npm ci` in tests/support/googlesql/ and generates the gRPC stubs)")


def import_stubs():
    """The generated modules (local_service_pb2 and its zetasql.* imports) on the import path."""
    if str(STUBS) not in sys.path:
        sys.path.insert(0, str(STUBS))
    import local_service_pb2
    import local_service_pb2_grpc

    return local_service_pb2, local_service_pb2_grpc


class GoogleSQLServer:
    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self._log: list[str] = []

    def log(self) -> str:
        return "".join(self._log)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout_s: float = 30) -> None:
        check_installed()
        self.port = _free_port()
        self.process = subprocess.Popen([str(SERVER), self.host, str(self.port)], stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True, start_new_session=True)
        ready = threading.Event()
        threading.Thread(target=self._read_log, args=(ready,), daemon=True).start()
        if not ready.wait(timeout_s) or self.process.poll() is not None:
            log = "".join(self._log)[-2000:]
            self.stop()
            raise GoogleSQLMissing(f"the ZetaSQL local service did not start in {timeout_s:.0f} s: {log}")

    def _read_log(self, ready: threading.Event) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:  # drained to the end, so the server never blocks on a full pipe
            self._log.append(line)
            if READY_LINE in line:
                ready.set()
        ready.set()

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.process = None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
