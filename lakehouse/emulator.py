"""The Google Cloud CLI's emulators (Firestore, Pub/Sub), managed for local mode and tests.

Start on a free port, wait until it answers, and stop the whole process group: the start
scripts run Java as a child, which would otherwise outlive us. A running emulator is
recorded in `emulator.json` under its data folder so that a second command reuses it.
The Firestore emulator also persists its data there (export on save, `--import-data` on
the next start); the Pub/Sub emulator keeps nothing across restarts.
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
from collections.abc import Iterator
from pathlib import Path

from lakehouse.errors import LakehouseError

SNAPSHOT = "snapshot"
# Where the SDK lives when gcloud is not on PATH (Debian/Ubuntu packages, the installer).
SDK_LOCATIONS = [Path("/usr/lib/google-cloud-sdk"), Path.home() / "google-cloud-sdk"]
class EmulatorError(LakehouseError, RuntimeError):
    pass


class EmulatorMissing(EmulatorError):
    pass


def install_hint(component: str, setting: str) -> str:
    return (
        f"The {component} emulator is not installed. Install it with "
        f"`gcloud components install {component}` "
        f"(or `sudo apt-get install google-cloud-cli-{component}` where gcloud came from apt), "
        f"or point {setting} at its start script."
    )


def find_start_script(override: str = "", component: str = "cloud-firestore-emulator",
                      script: str = "cloud_firestore_emulator", setting: str = "WINTERDAYS_FIRESTORE_EMULATOR") -> Path:
    """The SDK's own start script of an emulator (faster than `gcloud emulators ... start`), or
    `override` (the setting `setting`) when it is one."""
    hint = install_hint(component, setting)
    candidates = [Path(override)] if override else []
    gcloud = shutil.which("gcloud")
    roots = ([Path(gcloud).resolve().parent.parent] if gcloud else []) + SDK_LOCATIONS
    candidates += [root / "platform" / component / script for root in roots]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    if not shutil.which("java"):
        raise EmulatorMissing(hint + " It also needs Java 11 or newer on PATH.")
    raise EmulatorMissing(hint)


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


class Emulator:
    """One emulator process group; subclasses say how to start and address it."""

    title = ""
    host_variable = ""

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
        self.port = self.port or free_port()
        self.host = f"127.0.0.1:{self.port}"
        args = self._command(self.port)
        _require_java(self.title)
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
                    f"the {self.title} emulator exited with code {self.process.returncode} while starting"
                    + (f": {_last_line(self._log_path())} (the whole log: {self._log_path()})" if logged else "")
                )
            if is_ready(self.host):
                self._record()
                return self.host
            time.sleep(0.2)
        raise EmulatorError(f"the {self.title} emulator did not answer on {self.host} within {timeout:.0f} s")

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
        """Persist what the emulator holds (only the Firestore emulator can)."""

    def environ(self) -> dict[str, str]:
        return {self.host_variable: self.host or "", "GOOGLE_CLOUD_PROJECT": self.project}

    def _command(self, port: int) -> list[str]:
        raise NotImplementedError

    @contextlib.contextmanager
    def session(self, save: bool = True) -> Iterator[str]:
        """Reachable for the duration of a command: start (or reuse) it, export its variables, and on
        the way out put the environment back and stop what we started, saving its data (unless `save`
        is off: a command that only reads)."""
        host = self.start()
        previous = {k: os.environ.get(k) for k in self.environ()}
        os.environ.update(self.environ())
        try:
            yield host
        finally:
            for key, value in previous.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            if self.owned:
                self.stop(save=save)
            elif save:  # another command's emulator: persist what this command wrote
                self.save()

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(save=True)

    # -- helpers ---------------------------------------------------------------
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


@contextlib.contextmanager
def local_session(emulator: Emulator) -> Iterator[str | None]:
    """The emulator for one command, unless one is already set in the environment (tests, a shell)."""
    if os.environ.get(emulator.host_variable):
        yield os.environ.get(emulator.host_variable)
        return
    with emulator.session() as host:
        yield host


class FirestoreEmulator(Emulator):
    title = "Firestore"
    host_variable = "FIRESTORE_EMULATOR_HOST"

    def _command(self, port: int) -> list[str]:
        args = [str(find_start_script(self.start_script)), "start", "--host=127.0.0.1", f"--port={port}"]
        snapshot = self._snapshot_metadata()
        if snapshot:
            args.append(f"--import-data={snapshot}")
        return args

    def has_data(self) -> bool:
        """Saved data, or a running emulator of this data folder."""
        return self._snapshot_metadata() is not None or self._running_instance() is not None

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



class PubSubEmulator(Emulator):
    """The Pub/Sub emulator; topics and subscriptions live only as long as it runs."""

    title = "Pub/Sub"
    host_variable = "PUBSUB_EMULATOR_HOST"

    def _command(self, port: int) -> list[str]:
        script = find_start_script(self.start_script, "pubsub-emulator", "bin/cloud-pubsub-emulator",
                                   "WINTERDAYS_PUBSUB_EMULATOR")
        return [str(script), "--host=127.0.0.1", f"--port={port}"]


def _require_java(title: str) -> None:
    """The start script runs $JAVA (default `java`); without it the emulator dies with no clear word."""
    java = os.environ.get("JAVA") or "java"
    if not shutil.which(java):
        raise EmulatorMissing(f"the {title} emulator needs Java 11 or newer, and {java!r} is not on PATH: install "
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
