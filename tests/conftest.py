"""Shared fixtures: a real Firestore emulator, a scratch WINTERDAYS_HOME, the Dataform CLI, GoogleSQL's
reference implementation."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from lakehouse.emulator import EmulatorMissing, FirestoreEmulator, find_start_script
from lakehouse.settings import Settings

# gcsfs reads this when first imported, and some test modules import it: without it each call
# to fake-gcs-server waits 60 s probing for hierarchical namespaces (as lakehouse/storage.py says).
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")
ROOT = Path(__file__).resolve().parent.parent
# The shared fixtures and helpers (tests/support/) are imported as top-level modules by the tests.
sys.path.insert(0, str(Path(__file__).resolve().parent / "support"))
TEST_PROJECT = "winter-days-test"


def started_emulator() -> FirestoreEmulator:
    """A fresh emulator of TEST_PROJECT, started; skips the test where the emulator is not installed."""
    script = Settings.from_env().firestore.emulator  # WINTERDAYS_FIRESTORE_EMULATOR, if set
    try:
        find_start_script(script)
    except EmulatorMissing as missing:
        pytest.skip(str(missing))
    emulator = FirestoreEmulator(TEST_PROJECT, start_script=script)
    emulator.start()
    return emulator


@pytest.fixture(scope="session")
def firestore_emulator():
    """One emulator for the session; tests that need it get a wiped database."""
    emulator = started_emulator()
    saved = {k: os.environ.get(k) for k in ("FIRESTORE_EMULATOR_HOST", "GOOGLE_CLOUD_PROJECT")}
    os.environ.update(emulator.environ())
    yield emulator
    emulator.stop(save=False)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def firestore(firestore_emulator):
    firestore_emulator.clear()
    from google.cloud import firestore as fs

    return fs.Client(project=TEST_PROJECT)


@pytest.fixture
def settings(tmp_path, monkeypatch) -> Settings:
    """Local-mode settings whose every location is under this test's tmp_path."""
    for key in [k for k in os.environ if k.startswith("WINTERDAYS_")]:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("WINTERDAYS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", TEST_PROJECT)
    return Settings.from_env()


@pytest.fixture(scope="session")
def dataform_dir() -> Path:
    path = ROOT / "dataform"
    if not (path / "node_modules" / ".bin" / "dataform").exists():
        pytest.fail("the Dataform CLI is not installed: run `make test` (it runs `npm ci` in dataform/)")
    return path


@pytest.fixture(scope="session")
def demo_run(firestore_emulator, dataform_dir, tmp_path_factory):
    """The session's one demo run (tests/support/demo_history.py); its ledger documents are put back for each user."""
    from demo_history import build

    firestore_emulator.clear()
    demo = build(tmp_path_factory.mktemp("demo") / "home", TEST_PROJECT)
    yield demo


@pytest.fixture
def demo(demo_run):
    demo_run.restore_ledger()
    return demo_run


@pytest.fixture(scope="session")
def googlesql():
    """A client of the session's one ZetaSQL local service (GoogleSQL's reference implementation)."""
    from googlesql_service import GoogleSQLMissing, GoogleSQLServer, check_installed

    try:
        check_installed()
    except GoogleSQLMissing as missing:
        if "Linux x86-64 only" in str(missing):
            pytest.skip(str(missing))
        pytest.fail(str(missing))
    from googlesql_client import GoogleSQL

    server = GoogleSQLServer()
    server.start()
    try:  # stopped even when the client cannot connect
        client = GoogleSQL(server.address, log=server.log)
        yield client
        client.close()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def tiny_lake(dataform_dir, tmp_path_factory):
    """The parity tests' lake (tests/support/tiny_lake.py): (compiled graph, DuckDB warehouse URI)."""
    from tiny_lake import build

    return build(tmp_path_factory.mktemp("tiny-lake"), dataform_dir)


@pytest.fixture
def blocking_step(monkeypatch):
    """`export` waits until the test releases it; every other step returns at once."""
    from orchestrator.steps import STEPS

    release = threading.Event()
    started = threading.Event()

    def export(ctx):
        started.set()
        assert release.wait(60), "the test never released the step"
        return {"exported": 3}

    monkeypatch.setitem(STEPS, "export", export)
    for name in ("compile", "invoke", "wait", "churn"):
        monkeypatch.setitem(STEPS, name, lambda ctx: {})
    return started, release
