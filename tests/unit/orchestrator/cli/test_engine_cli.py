"""CLI parity: `winterdays run | retry | status | serve` go through the same claim as the API."""

import argparse
import datetime as dt
import json

import pytest

from lakehouse.settings import Settings
from orchestrator import engine
from orchestrator.cli import main, serve
from orchestrator.resources import Resources
from orchestrator.steps import STEPS, RunOptions


def test_serve_binds_loopback_locally_and_all_interfaces_on_cloud_run():
    args = argparse.Namespace(host=None, port=8080, workers=1, threads=8)
    local = serve.gunicorn_command(args, Settings.from_env({}))
    gcp = serve.gunicorn_command(args, Settings.from_env({"WINTERDAYS_MODE": "gcp", "GOOGLE_CLOUD_PROJECT": "p"}))
    assert local[local.index("--bind") + 1] == "127.0.0.1:8080"
    assert gcp[gcp.index("--bind") + 1] == "0.0.0.0:8080"
    assert local[local.index("--worker-class") + 1] == "gthread"


def test_serve_refuses_several_workers_locally(settings, capsys):
    assert main(["serve", "--workers", "2"]) == 2
    assert "one worker" in capsys.readouterr().err


@pytest.mark.firestore
def test_run_retry_and_status_share_the_claim(settings, firestore, monkeypatch, capsys):
    for name in STEPS:
        monkeypatch.setitem(STEPS, name, lambda ctx: {"rows": 1})
    day = dt.date(2026, 3, 1)
    held = engine.claim(Resources.from_settings(settings), RunOptions(day, steps=("export",)), "test")

    assert main(["export", "--date", "2026-03-01"]) == 3  # in progress elsewhere
    assert f"run {held.run_id} for 2026-03-01 is in progress" in capsys.readouterr().err

    engine.run_claimed(Resources.from_settings(settings), held)
    assert main(["export", "--date", "2026-03-01"]) == 0
    assert '"outcome": "existing"' in capsys.readouterr().out
    assert main(["export", "--date", "2026-03-01", "--force"]) == 0
    assert '"outcome": "new"' in capsys.readouterr().out

    assert main(["retry", held.run_id]) == 1
    assert "already succeeded" in capsys.readouterr().err
    assert main(["retry", "20260301-00000000"]) == 1

    assert main(["status", "--date", "2026-03-01", "--state", "succeeded"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]  # not a terminal: JSON lines
    assert len(listed) == 2 and held.run_id in {r["run_id"] for r in listed}
    assert listed[0]["steps"] == {"export": "SUCCEEDED"} and listed[0]["duration_s"] >= 0
