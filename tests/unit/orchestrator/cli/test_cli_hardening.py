"""Issue 19's probes of the CLI: one line and exit 2 for bad input or setup, never a traceback; read-only
commands create nothing; SIGTERM and Ctrl-C stop the emulator the CLI started."""

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakehouse.warehouse import WarehouseCorrupt, connect
from orchestrator.cli import main

ROOT = Path(__file__).resolve().parent.parent
TOMORROW = (dt.date.today() + dt.timedelta(days=2)).isoformat()  # tomorrow in every time zone


def winterdays(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=timeout)


@pytest.fixture
def local_env(tmp_path):
    """A local-mode environment of its own: no emulator of the test session, a fresh WINTERDAYS_HOME."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WINTERDAYS_", "FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT"))}
    env["WINTERDAYS_HOME"] = str(tmp_path / "home")
    return env


def one_line_exit_2(done: subprocess.CompletedProcess, *fragments: str) -> None:
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines()  # the error, not the notice that an emulator starts
             if line.startswith("winterdays:") and "starting one for this command" not in line]
    assert len(lines) == 1, done.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.mark.parametrize("args, message", [
    (["run", "--date", "20261208"], "--date must be a date YYYY-MM-DD, got '20261208'"),
    (["run", "--date", TOMORROW], "--date must lie between 2000-01-01 and today"),
    (["run", "--date", "1900-01-01"], "--date must lie between 2000-01-01 and today"),
    (["run", "--date", "2026-02-30"], "--date must be a real date"),
    (["export", "--date", "２０２６-03-01"], "--date must be a date YYYY-MM-DD"),
    (["generate", "sales", "--date", "9999-12-31"], "--date must lie between 2000-01-01 and today"),
    (["generate", "sales", "--from", "2026-01-01", "--to", TOMORROW], "--to must lie between"),
    (["generate", "sales", "--from", "2026-02-01", "--to", "2026-01-01"], "is before --from"),
    (["dataform", "compile", "--date", "1999-12-31"], "--date must lie between"),
    (["status", "--date", "tomorrow"], "--date must be a date YYYY-MM-DD"),
    (["demo", "--to", TOMORROW], "--to must lie between"),
    (["run", "--tags", "gld"], "unknown tag(s) ['gld']; the Dataform project's tags are ['bronze'"),
    (["dataform", "run", "--tags", "gld"], "unknown tag(s) ['gld']"),
    (["status", "../../etc/passwd"], "malformed run id '../../etc/passwd'"),
    (["retry", "２０２６０３０１-abcdef12"], "malformed run id"),
])
def test_the_cli_refuses_what_the_api_refuses_before_touching_anything(settings, capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not settings.storage.home.exists()  # no emulator started, no folder made


def test_an_unusable_home_is_one_line(local_env, tmp_path):
    one_line_exit_2(winterdays("export", env={**local_env, "WINTERDAYS_HOME": "/proc/x"}),
                    "WINTERDAYS_HOME=/proc/x cannot be used")
    (tmp_path / "a-file").write_text("x")
    one_line_exit_2(winterdays("export", env={**local_env, "WINTERDAYS_HOME": str(tmp_path / "a-file")}),
                    f"WINTERDAYS_HOME={tmp_path / 'a-file'} cannot be used", "point WINTERDAYS_HOME at a folder")
    one_line_exit_2(winterdays("status", env={**local_env, "WINTERDAYS_HOME": "/proc/x"}),
                    "no local data under /proc/x")


def test_java_missing_is_one_line_naming_the_fix(local_env):
    done = winterdays("export", env={**local_env, "JAVA": "/nonexistent/java"})
    one_line_exit_2(done, "needs Java 11 or newer", "apt-get install")


def test_status_in_a_folder_without_data_says_where_it_looked_and_creates_nothing(local_env, tmp_path):
    done = winterdays("status", env=local_env)
    one_line_exit_2(done, f"no local data under {tmp_path / 'home'}", "WINTERDAYS_HOME")
    assert not (tmp_path / "home").exists()


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.firestore
def test_status_leaves_the_saved_emulator_state_as_it_was(local_env, tmp_path):
    from lakehouse.emulator import find_start_script

    find_start_script()
    # a run that fails at once (no Dataform steps, nothing to export) leaves a ledger entry and saved data
    assert winterdays("export", "--date", "2026-03-01", env=local_env).returncode == 0
    saved = tree(tmp_path / "home")
    done = winterdays("status", env=local_env)
    assert done.returncode == 0, done.stderr
    assert "2026-03-01" in done.stdout
    assert tree(tmp_path / "home") == saved


def test_a_corrupt_warehouse_is_named_and_left_untouched(settings, tmp_path):
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(b"this is not a DuckDB file\n" * 100)
    before = path.read_bytes()
    for read_only in (True, False):
        with pytest.raises(WarehouseCorrupt, match="is not a DuckDB database file"):
            connect(f"duckdb:///{path}", read_only=read_only)
    assert path.read_bytes() == before


def test_the_dashboard_says_a_corrupt_warehouse_is_not_duckdb(settings, firestore):
    from orchestrator.app import create_app
    from orchestrator.resources import Resources

    settings.storage.home.mkdir(parents=True)
    settings.warehouse.path.write_bytes(b"garbage" * 1000)
    response = create_app(settings, Resources.from_settings(settings)).test_client().get("/dashboard")
    assert response.status_code == 500
    assert "is not a DuckDB database file" in response.get_data(as_text=True)
    assert "busy" not in response.get_data(as_text=True).lower()
    assert settings.warehouse.path.read_bytes() == b"garbage" * 1000


@pytest.mark.firestore
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_emulator_the_cli_started(local_env, tmp_path, signum, code):
    from lakehouse.emulator import find_start_script

    find_start_script()
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    cli = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "generate", "sales", "--from", "2026-01-01",
                            "--to", yesterday, "--no-oracle"], env=local_env, cwd=ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    state = tmp_path / "home" / "firestore" / "emulator.json"
    deadline = time.monotonic() + 60
    while not state.exists() and time.monotonic() < deadline and cli.poll() is None:
        time.sleep(0.1)
    assert state.exists(), "the emulator never started"
    emulator_pid = json.loads(state.read_text())["pid"]
    time.sleep(1.0)  # generating now
    cli.send_signal(signum)
    _, err = cli.communicate(timeout=60)
    assert cli.returncode == code, err
    assert "Traceback" not in err
    with pytest.raises(ProcessLookupError):
        os.killpg(emulator_pid, 0)  # the whole group, Java included, is gone


def test_an_emulator_gone_when_its_data_is_saved_is_one_emulator_error(tmp_path):
    """`winterdays serve` saves the emulator's data at exit; an emulator stopped under it was a traceback."""
    from lakehouse.emulator import EmulatorError, FirestoreEmulator, free_port

    emulator = FirestoreEmulator("winter-days-test", data_dir=tmp_path)
    emulator.host = f"127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(EmulatorError, match="did not answer POST"):
        emulator.save()
    assert list(tmp_path.iterdir()) == []  # no half-made export left behind
