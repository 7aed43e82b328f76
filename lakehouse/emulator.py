"""The official Firestore emulator, managed for local mode and tests.

Start on a free port, wait until it answers, persist its data under the local data
folder (export on save, `--import-data` on the next start), and stop the whole process
group: the start script runs Java as a child, which would otherwise outlive us.
A running emulator is recorded in `emulator.json` so that a second command reuses it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from lakehouse.errors import LakehouseError

SNAPSHOT = "snapshot"
# Where the SDK lives when gcloud is not on PATH (Debian/Ubuntu packages, the installer).
SDK_LOCATIONS = [Path("/usr/lib/google-cloud-sdk"), Path.home() / "google-cloud-sdk"]
INSTALL_HINT = (
    "The Firestore emulator is not installed. Install it with "
    "`gcloud components install cloud-firestore-emulator` "
    "(or `sudo apt-get install google-cloud-cli-firestore-emulator` where gcloud came from apt), "
    "or point WINTERDAYS_FIRESTORE_EMULATOR at its `cloud_firestore_emulator` start script."
)


class EmulatorError(LakehouseError, RuntimeError):
    pass


class EmulatorMissing(EmulatorError):
    pass


def find_start_script(override: str = "") -> Path:
    """The SDK's own start script (faster than `gcloud emulators firestore start`), or `override`
    (WINTERDAYS_FIRESTORE_EMULATOR) when it is one."""
    candidates = [Path(override)] if override else []
    gcloud = shutil.which("gcloud")
    if gcloud:
        sdk_root = Path(gcloud).resolve().parent.parent
        candidates.append(sdk_root / "platform" / "cloud-firestore-emulator" / "cloud_firestore_emulator")
    candidates += [root / "platform" / "cloud-firestore-emulator" / "cloud_firestore_emulator"
                   for root in SDK_LOCATIONS]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    if not shutil.which("java"):
        raise EmulatorMissing(INSTALL_HINT + " It also needs Java 11 or newer on PATH.")
    raise EmulatorMissing(INSTALL_HINT)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def is_ready(host: str, timeout: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"http://{host}/", timeout=timeout) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class FirestoreEmulator:
    def __init__(self, project: str, data_dir: Path | None = None, port: int | None = None, start_script: str = "",
                 read_only: bool = False):
        self.project = project
        self.start_script = start_script  # empty: the Google Cloud CLI's
        self.data_dir = Path(data_dir) if data_dir else None
        self.read_only = read_only  # load the saved data, but write nothing under data_dir
        self.port = port
        self.host: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.owned = False

    # -- lifecycle -------------------------------------------------------------
    def running(self) -> str | None:
        """The host:port of the emulator already running for this data folder, now this one's too; else None."""
        host = self._running_instance()
        if host:
            self.host = host
        return host

    def start(self, timeout: float = 60.0) -> str:
        """Start (or reuse a running one for the same data folder); returns host:port."""
        reused = self._running_instance()
        if reused:
            self.host = reused
            return reused
        script = find_start_script(self.start_script)
        _require_java()
        self.port = self.port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        args = [str(script), "start", "--host=127.0.0.1", f"--port={self.port}"]
        snapshot = self._snapshot_metadata()
        if snapshot:
            args.append(f"--import-data={snapshot}")
        logged = bool(self.data_dir) and not self.read_only
        log = open(self._log_path(), "ab") if logged else subprocess.DEVNULL
        self.process = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        self.owned = True
        try:
            return self._wait_ready(timeout, logged)
        except BaseException:  # Ctrl-C or SIGTERM while it starts: stop it too
            self.stop(save=False)
            raise

    def _wait_ready(self, timeout: float, logged: bool) -> str:
        assert self.process is not None and self.host is not None  # noqa: S101 - set by start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise EmulatorError(
                    f"the Firestore emulator exited with code {self.process.returncode} while starting"
                    + (f": {_last_line(self._log_path())} (the whole log: {self._log_path()})" if logged else "")
                )
            if is_ready(self.host):
                self._record()
                return self.host
            time.sleep(0.2)
        raise EmulatorError(f"the Firestore emulator did not answer on {self.host} within {timeout:.0f} s")

    def has_data(self) -> bool:
        """Saved data, or a running emulator of this data folder."""
        return self._snapshot_metadata() is not None or self._running_instance() is not None

    def stop(self, save: bool = True) -> None:
        if not self.owned or self.process is None:
            return
        try:
            if save and self.data_dir and self.process.poll() is None:
                self.save()
        finally:
            _kill_group(self.process)
            self.process = None
            self.owned = False
            if self.data_dir and not self.read_only:
                self._state_path().unlink(missing_ok=True)

    def detach(self) -> None:
        """Leave the started emulator running for later commands (`winterdays emulator start`)."""
        self.process, self.owned = None, False

    def stop_running(self) -> bool:
        """Save and stop the emulator recorded for this data folder, whoever started it; False if none runs."""
        host = self._running_instance()
        if not host:
            return False
        self.host = host
        state = json.loads(self._state_path().read_text())
        self.save()
        try:
            os.killpg(int(state["pid"]), signal.SIGTERM)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 15
        while _group_alive(int(state["pid"])) and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):  # reap it if this process started it
                os.waitpid(int(state["pid"]), os.WNOHANG)
            time.sleep(0.1)
        self._state_path().unlink(missing_ok=True)
        return True

    def save(self) -> None:
        """Export all data, then swap it in, so a crash mid-export keeps the last good copy."""
        if not self.data_dir:
            return
        staging = self.data_dir / f".export-{uuid.uuid4().hex[:8]}"
        staging.mkdir(parents=True)
        body = json.dumps(
            {
                "database": f"projects/{self.project}/databases/(default)",
                "export_directory": str(staging.resolve()),
                "export_name": SNAPSHOT,
            }
        ).encode()
        try:
            self._post(f"/emulator/v1/projects/{self.project}:export", body)
        except EmulatorError:
            shutil.rmtree(staging, ignore_errors=True)  # the last good copy stays
            raise
        current = self.data_dir / "current"
        retired = self.data_dir / f".retired-{uuid.uuid4().hex[:8]}"
        if current.exists():
            current.rename(retired)
        staging.rename(current)
        shutil.rmtree(retired, ignore_errors=True)

    def clear(self) -> None:
        """Delete every document (tests call this between cases)."""
        url = f"/emulator/v1/projects/{self.project}/databases/(default)/documents"
        self._request("DELETE", url, None)

    def environ(self) -> dict[str, str]:
        return {"FIRESTORE_EMULATOR_HOST": self.host or "", "GOOGLE_CLOUD_PROJECT": self.project}

    def __enter__(self) -> FirestoreEmulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(save=True)

    # -- helpers ---------------------------------------------------------------
    def _post(self, path: str, body: bytes) -> None:
        self._request("POST", path, body)

    def _request(self, method: str, path: str, body: bytes | None) -> None:
        request = urllib.request.Request(
            f"http://{self.host}{path}", data=body, method=method, headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise EmulatorError(f"emulator {method} {path} failed: {error.read().decode(errors='replace')}") from None
        except (urllib.error.URLError, OSError) as error:  # stopped or killed under us
            raise EmulatorError(f"the Firestore emulator on {self.host} did not answer {method} {path} ({error}); "
                                "what was written since its last save is lost") from None

    def _snapshot_metadata(self) -> Path | None:
        if not self.data_dir:
            return None
        metadata = self.data_dir / "current" / SNAPSHOT / f"{SNAPSHOT}.overall_export_metadata"
        return metadata.resolve() if metadata.exists() else None

    def _log_path(self) -> Path:
        assert self.data_dir is not None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir / "emulator.log"

    def _state_path(self) -> Path:
        assert self.data_dir is not None
        return self.data_dir / "emulator.json"

    def _record(self) -> None:
        if self.data_dir and self.process and not self.read_only:
            state = {"host": self.host, "pid": self.process.pid, "project": self.project}
            self._state_path().write_text(json.dumps(state))

    def _running_instance(self) -> str | None:
        if not self.data_dir or not self._state_path().exists():
            return None
        try:
            state = json.loads(self._state_path().read_text())
            os.kill(int(state["pid"]), 0)
        except (ValueError, KeyError, ProcessLookupError, PermissionError, OSError):
            return None
        if state.get("project") == self.project and is_ready(state["host"]):
            return str(state["host"])
        return None


def _require_java() -> None:
    """The start script runs $JAVA (default `java`); without it the emulator dies with no clear word."""
    java = os.environ.get("JAVA") or "java"
    if not shutil.which(java):
        raise EmulatorMissing(f"the Firestore emulator needs Java 11 or newer, and {java!r} is not on PATH: install "
                              "it (`sudo apt-get install openjdk-17-jre-headless`) or set JAVA to a java binary")


def _last_line(path: Path) -> str:
    lines = path.read_text(errors="replace").strip().splitlines() if path.exists() else []
    return lines[-1][:300] if lines else "it printed nothing"


def _kill_group(process: subprocess.Popen[bytes], grace_s: float = 15.0) -> None:
    """SIGTERM the whole group, wait until every member (Java included) is gone, then SIGKILL."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        process.poll()  # reap the leader so it does not linger as a zombie
        if not _group_alive(process.pid):
            return
        time.sleep(0.1)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait(timeout=5)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
