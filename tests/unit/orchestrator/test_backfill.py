"""`winterdays backfill`: dates in order, each a ledger run, resumable; on the real Firestore emulator.

The step bodies are small recording functions (as in test_engine.py): what is under test is the
order, the ledger records, skipping and resuming. test_incremental.py shows what a transform of
a past date does to the tables.
"""

import datetime as dt

import pytest

from orchestrator.cli import main
from orchestrator.resources import Resources
from orchestrator.steps import STEPS, RunOptions, StepFailed

pytestmark = pytest.mark.firestore
DAYS = [dt.date(2026, 3, 1) + dt.timedelta(days=n) for n in range(3)]
RANGE = ["backfill", "--from", DAYS[0].isoformat(), "--to", DAYS[-1].isoformat()]


@pytest.fixture
def calls(monkeypatch):
    """Each step records (step, logical date); `fail` holds (step, date) pairs that raise once."""
    made = {"log": [], "fail": set()}

    def fake(name):
        def step(ctx):
            made["log"].append((name, ctx.options.logical_date))
            if (name, ctx.options.logical_date) in made["fail"]:
                made["fail"].discard((name, ctx.options.logical_date))
                raise StepFailed(f"{name} broke")
            return {"by": name}
        return step

    for name in STEPS:
        monkeypatch.setitem(STEPS, name, fake(name))
    return made


@pytest.fixture
def ledger(settings, firestore):
    return Resources.from_settings(settings).ledger


def test_each_date_in_order_is_a_ledger_run_of_the_transform(settings, ledger, calls, capsys):
    assert main(RANGE) == 0
    assert calls["log"] == [(step, day) for day in DAYS for step in ("compile", "invoke", "wait")]
    for day in DAYS:
        (run,) = ledger.for_date(day.isoformat())
        assert run["state"] == "SUCCEEDED" and run["trigger"] == "backfill"
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in lines] == [[f"[{n}/3]", day.isoformat()] for n, day in enumerate(DAYS, 1)]


def test_a_failed_date_stops_the_backfill_and_the_same_command_resumes_it(settings, ledger, calls, capsys):
    calls["fail"].add(("invoke", DAYS[1]))
    assert main(RANGE) == 1
    assert (("compile", DAYS[2])) not in calls["log"]  # later dates wait for the failed one
    assert "FAILED: step invoke failed: invoke broke" in capsys.readouterr().out
    (failed,) = ledger.for_date(DAYS[1].isoformat())

    calls["log"].clear()
    assert main(RANGE) == 0
    assert calls["log"] == [("invoke", DAYS[1]), ("wait", DAYS[1]),  # resumed, not restarted
                            ("compile", DAYS[2]), ("invoke", DAYS[2]), ("wait", DAYS[2])]
    (resumed,) = ledger.for_date(DAYS[1].isoformat())
    assert resumed["run_id"] == failed["run_id"] and resumed["attempt"] == 2 and resumed["state"] == "SUCCEEDED"
    assert "already succeeded" in capsys.readouterr().out.splitlines()[0]


def test_a_date_whose_daily_run_succeeded_is_skipped(settings, calls):
    from orchestrator.engine import execute

    execute(Resources.from_settings(settings), RunOptions(DAYS[0]), trigger="test")  # all five steps
    calls["log"].clear()
    assert main(RANGE[:3] + ["--to", DAYS[0].isoformat(), "--train"]) == 0
    assert calls["log"] == []


def test_a_range_that_ends_before_it_starts_is_refused(settings, firestore, calls, capsys):
    with pytest.raises(SystemExit) as usage:
        main(["backfill", "--from", "2026-03-05", "--to", "2026-03-01"])
    assert usage.value.code == 2 and "--to 2026-03-01 is before --from 2026-03-05" in capsys.readouterr().err
    assert calls["log"] == []
