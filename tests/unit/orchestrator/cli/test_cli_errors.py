"""orchestrator/cli/__init__.py's one table: an error of each package's root becomes an exit code and a
message on stderr, never a traceback; an error none of the roots names is a bug and keeps its traceback."""

import pytest

from lakehouse.warehouse import WarehouseMissing
from mlops.registry import RegistryError
from orchestrator.cli import main, runs
from orchestrator.engine import RunFailed
from orchestrator.lease import LeaseLost
from orchestrator.ledger import Contended


def test_a_generator_input_error_is_a_usage_error(settings, capsys):
    assert main(["generate", "all", "--from", "2026-03-02", "--to", "2026-03-01"]) == 2
    assert capsys.readouterr().err == "winterdays: --to 2026-03-01 is before --from 2026-03-02\n"


def test_from_without_to_is_a_usage_error(settings, capsys):
    assert main(["generate", "all", "--from", "2026-03-02"]) == 2
    assert capsys.readouterr().err == "winterdays: --from and --to go together\n"


def test_a_lakehouse_error_exits_1_with_its_message(settings, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("WINTERDAYS_DATAFORM_DIR", str(tmp_path))  # no Dataform CLI there
    assert main(["dataform", "compile", "--date", "2026-03-01"]) == 1
    err = capsys.readouterr().err
    assert err == f"winterdays: the Dataform CLI is not installed in {tmp_path}; run `npm ci` there " \
                  "(make does this for you)\n"


@pytest.mark.parametrize("error, code", [
    (Contended("Firestore aborted the transaction 5 times"), 3),  # orchestrator, busy: try later
    (LeaseLost("another trigger took the lease over"), 1),  # orchestrator's root
    (RunFailed({"run_id": "20260301-abcdef12"}, "step export failed: boom"), 1),
    (WarehouseMissing("no warehouse at /x.duckdb"), 1),  # lakehouse's root
    (RegistryError("no champion"), 1),  # mlops's root
])
def test_each_root_maps_to_its_exit_code_and_one_message(settings, monkeypatch, capsys, error, code):
    def failing(args, settings):
        raise error

    monkeypatch.setattr(runs, "show_status", failing)
    assert main(["status"]) == code
    assert capsys.readouterr().err == f"winterdays: {error}\n"


def test_a_failed_run_names_the_run():
    assert str(RunFailed({"run_id": "20260301-abcdef12"}, "step export failed: boom")) == \
        "run 20260301-abcdef12 failed: step export failed: boom"


def test_an_error_none_of_the_roots_names_keeps_its_traceback(settings, monkeypatch):
    def failing(args, settings):
        raise KeyError("a bug")

    monkeypatch.setattr(runs, "show_status", failing)
    with pytest.raises(KeyError):
        main(["status"])
