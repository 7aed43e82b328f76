"""The CLI on a real run: `retry --from export` takes up a fix to the source data, a terminal gets
dbt-style lines (a line an action, a summary, the log's path), a pipe gets JSON lines; `status`."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest

from orchestrator import engine
from orchestrator.cli import main
from orchestrator.cli.show import NO_COUNT_NOTE, describe, run_list
from orchestrator.resources import Resources
from orchestrator.steps import RunOptions

pytestmark = [pytest.mark.firestore, pytest.mark.dataform]
FIRST, LAST_SALES, DAY = "2026-01-01", "2026-01-08", "2026-01-10"
SMALL = ["--customers", "30", "--events", "60", "--startups", "10"]


def generate(source: str, start: str, end: str) -> None:
    extra = ["--no-oracle"] if source == "sales" else []
    assert main(["generate", source, "--from", start, "--to", end, *SMALL, *extra]) == 0


def test_retry_from_export_takes_up_source_data_generated_after_the_failure(settings, firestore, dataform_dir,
                                                                            monkeypatch, capsys):
    generate("clickstream", FIRST, DAY)
    generate("startups", FIRST, DAY)
    generate("sales", FIRST, LAST_SALES)  # the sales of the two days before the run are missing
    options = RunOptions(dt.date.fromisoformat(DAY), full_export=True,
                         steps=("export", "compile", "invoke", "wait"))
    with pytest.raises(engine.RunFailed, match="assert_daily_sources_fresh"):
        engine.execute(Resources.from_settings(settings), options, "test")
    run_id = Resources.from_settings(settings).ledger.recent(1)[0]["run_id"]
    generate("sales", "2026-01-09", DAY)  # the fix: the missing days arrive
    capsys.readouterr()

    # a plain retry resumes at invoke and reads the same bronze: it fails again (stdout is a pipe: JSON lines)
    assert main(["retry", run_id]) == 1
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1]["state"] == "FAILED" and lines[-1]["steps"]["export"] == "SUCCEEDED"
    assert any(line.get("event") == "action_ended" and line["state"] == "FAILED" for line in lines)
    assert f"winterdays retry {run_id} (--from export" in err

    # from export on, on a terminal
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["retry", run_id, "--from", "export"]) == 0
    shown = capsys.readouterr().out.splitlines()
    assert len(shown) <= 60, "\n".join(shown)
    assert shown[1] == shown[1].split(" ...")[0] + " ... done in " + shown[1].split(" done in ")[1]  # export
    actions = [line for line in shown if " of " in line and line.startswith("  ")]
    total = int(actions[0].split(" of ")[1].split()[0])
    assert len(actions) == total and any(" OK incremental winter_days_warehouse.fct_sales " in a for a in actions)
    assert any(" PASS assertion " in a and "assert_daily_sources_fresh" in a for a in actions)
    assert f"Run {run_id} for {DAY}: SUCCEEDED (resumed, attempt 3" in "\n".join(shown)
    assert any(line.startswith("Dataform: OK=") and f"TOTAL={total}" in line for line in shown)
    log_path = settings.storage.home / "logs" / f"run-{run_id}.log"
    assert shown[-1] == f"Log: {log_path}" and '"event": "step_started"' in log_path.read_text()

    # status: a header, then the run with its steps in order and its options; describe names the log
    assert main(["status"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert listed[0].split()[:4] == ["RUN", "ID", "DATE", "STATE"]
    assert run_id in listed[1] and "export:ok compile:ok invoke:ok wait:ok" in listed[1]
    assert "--full-export steps export,compile,invoke,wait" in listed[1]
    assert main(["status", run_id]) == 0
    described = capsys.readouterr().out
    assert described.startswith(f"Run {run_id} for {DAY}\n  State:     SUCCEEDED (attempt 3, trigger cli-retry)")
    assert "winter_days_warehouse.fct_sales" in described and f"Log: {log_path}" in described


def test_status_explains_runs_without_row_counts():
    run = {"run_id": "20260301-aaaaaaaa", "logical_date": "2026-03-01", "state": "SUCCEEDED", "attempt": 1,
           "options": {"steps": ["compile", "invoke", "wait"], "full_export": False, "full_refresh": True,
                       "tags": ["gold"]},
           "steps": {"wait": {"state": "SUCCEEDED", "duration_s": 1.0,
                              "outputs": {"rows": {"s.op": -1, "s.t": 12}}},
                     "compile": {"state": "SUCCEEDED", "duration_s": 2.5}, "invoke": {"state": "SUCCEEDED"}}}
    text = describe(run)
    op_line = next(line for line in text.splitlines() if "s.op" in line)
    assert op_line.split()[-1] == "-" and NO_COUNT_NOTE in text
    assert text.index("compile") < text.index("invoke") < text.index("wait  ")  # the run's order, not the map's
    row = run_list([run]).splitlines()[1]
    assert "3.5 s" in row and "--full-refresh --tags gold steps compile,invoke,wait" in row
