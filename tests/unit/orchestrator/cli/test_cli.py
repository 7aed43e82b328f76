import subprocess
import sys

import pytest

from orchestrator.cli import build_parser, main

COMMANDS = ("generate", "run", "export", "transform", "train", "retry", "status", "serve", "demo", "looker-url")


def test_help_lists_every_command():
    done = subprocess.run([sys.executable, "-m", "orchestrator.cli", "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    for command in COMMANDS:
        assert command in done.stdout


def test_bad_date_is_a_usage_error(settings, capsys):
    assert main(["run", "--date", "31/03/2026"]) == 2
    assert "--date must be a date YYYY-MM-DD" in capsys.readouterr().err


def test_configuration_errors_exit_2_with_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("WINTERDAYS_MODE", "nope")
    assert main(["status"]) == 2
    assert "WINTERDAYS_MODE" in capsys.readouterr().err


def test_export_takes_full_as_the_short_form_of_full_export():
    parser = build_parser()
    assert parser.parse_args(["export", "--full"]).full_export
    assert parser.parse_args(["export", "--full-export"]).full_export
    assert not parser.parse_args(["export"]).full_export
    assert parser.parse_args(["run", "--full-export"]).full_export
    with pytest.raises(SystemExit):  # on `run`, --full would be ambiguous with --full-refresh
        parser.parse_args(["run", "--full"])
