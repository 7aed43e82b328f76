import json
import os

import pytest
from google.cloud import firestore

from lakehouse.emulator import EmulatorMissing, FirestoreEmulator, find_start_script
from lakehouse.settings import Settings

pytestmark = pytest.mark.firestore


SCRIPT = Settings.from_env().firestore.emulator  # WINTERDAYS_FIRESTORE_EMULATOR, if set


@pytest.fixture(autouse=True)
def _needs_emulator():
    try:
        find_start_script(SCRIPT)
    except EmulatorMissing as missing:
        pytest.skip(str(missing))


def _client(emulator, monkeypatch):
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", emulator.host)
    return firestore.Client(project=emulator.project)


def test_data_survives_a_restart_and_the_process_group_dies(tmp_path, monkeypatch):
    first = FirestoreEmulator("persist-test", data_dir=tmp_path, start_script=SCRIPT)
    first.start()
    pid = first.process.pid
    _client(first, monkeypatch).collection("c").document("d").set({"n": 1})
    first.stop(save=True)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the start script and its Java child are gone

    second = FirestoreEmulator("persist-test", data_dir=tmp_path, start_script=SCRIPT)
    second.start()
    try:
        assert _client(second, monkeypatch).collection("c").document("d").get().to_dict() == {"n": 1}
    finally:
        second.stop(save=False)


def test_a_second_command_reuses_the_running_emulator(tmp_path):
    owner = FirestoreEmulator("reuse-test", data_dir=tmp_path, start_script=SCRIPT)
    owner.start()
    try:
        guest = FirestoreEmulator("reuse-test", data_dir=tmp_path, start_script=SCRIPT)
        assert guest.start() == owner.host
        assert not guest.owned
        guest.stop()  # a guest never stops the owner's emulator
        os.killpg(owner.process.pid, 0)
    finally:
        owner.stop(save=False)


def test_clear_wipes_documents(firestore_emulator, firestore):
    firestore.collection("c").document("d").set({"n": 1})
    firestore_emulator.clear()
    assert list(firestore.collection("c").stream()) == []


def test_missing_emulator_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("lakehouse.emulator.SDK_LOCATIONS", [])
    script = Settings.from_env({"WINTERDAYS_FIRESTORE_EMULATOR": str(tmp_path / "nope")}).firestore.emulator
    with pytest.raises(EmulatorMissing, match="gcloud components install cloud-firestore-emulator"):
        find_start_script(script)


def test_emulator_start_keeps_one_warm_that_commands_reuse_until_stop(settings, monkeypatch, capsys):
    from orchestrator.cli import main

    monkeypatch.delenv("FIRESTORE_EMULATOR_HOST", raising=False)  # the session's emulator is not this home's
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "warm-test")
    assert main(["emulator", "status"]) == 1
    assert main(["emulator", "start"]) == 0
    started = json.loads((settings.storage.home / "firestore" / "emulator.json").read_text())
    try:
        capsys.readouterr()
        assert main(["status", "--json"]) == 0
        assert main(["status", "--json"]) == 0
        assert "starting one" not in capsys.readouterr().err  # reused, not started
        os.killpg(started["pid"], 0)  # still running after the commands ended
        assert main(["emulator", "status"]) == 0
        assert started["host"] in capsys.readouterr().out
    finally:
        assert main(["emulator", "stop"]) == 0
    with pytest.raises(ProcessLookupError):
        os.killpg(started["pid"], 0)
    assert (settings.storage.home / "firestore" / "current").is_dir()  # saved before it stopped
    assert main(["status", "--json"]) == 0  # none running: this command starts its own, says so, stops it
    assert "starting one for this command" in capsys.readouterr().err
    assert not (settings.storage.home / "firestore" / "emulator.json").exists()
