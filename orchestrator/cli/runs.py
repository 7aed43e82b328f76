"""`winterdays run | export | transform | train | retry | status`: the pipeline and its ledger.

The same claim as `POST /runs`: a date that already succeeded with the same options is not
run again (unless --force), a failed or interrupted run resumes, and a date whose run is in
progress elsewhere (a `winterdays serve`, Cloud Run) is left alone.
Exit codes (orchestrator/cli/__init__.py): 0 succeeded, 1 failed, 3 in progress elsewhere (or the ledger is
contended): try later.
On a terminal a run prints a line a step and a line a Dataform action, then a summary; the detail
(JSON logs, the churn components' output) goes to WINTERDAYS_HOME/logs/run-<run id>.log.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING

from lakehouse.settings import Settings
from orchestrator import api_input
from orchestrator.cli.common import DateArgument, Subcommands, tags, yesterday
from orchestrator.cli.show import closing, describe, duration, run_list, step_names, wants_json
from orchestrator.records import RunState

if TYPE_CHECKING:  # imported when a command runs: `winterdays --help` stays quick
    from orchestrator.engine import Claim
    from orchestrator.resources import Resources

STEP_NAMES = ("export", "compile", "invoke", "wait", "churn")  # orchestrator.steps.STEPS, without importing it


def register(sub: Subcommands) -> None:
    for name, helptext, steps in (
        ("run", "run all five steps for a logical date", ()),
        ("export", "step 1: export Firestore sales to Parquet in bronze", ("export",)),
        ("transform", "steps 2-4: compile and run the Dataform project", ("compile", "invoke", "wait")),
        ("train", "step 5: run the churn pipeline", ("churn",)),
    ):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("--date", type=DateArgument, help="logical date (default: yesterday in WINTERDAYS_TIMEZONE)")
        full = ("--full", "--full-export") if name == "export" else ("--full-export",)
        cmd.add_argument(*full, dest="full_export", action="store_true",
                         help="export every document, not just the changes since the watermark")
        cmd.add_argument("--full-refresh", action="store_true", help="rebuild incremental tables from scratch")
        cmd.add_argument("--tags", default="", help="comma-separated Dataform tags to run (with dependencies)")
        cmd.add_argument("--force", action="store_true",
                         help="run again even if this date already succeeded with these options")
        add_json_flag(cmd)
        cmd.set_defaults(handler=run, steps=steps)

    retry = sub.add_parser("retry", help="resume a failed or interrupted run from its first unfinished step, "
                                         "or --from a named step")
    retry.add_argument("run_id")
    retry.add_argument("--from", dest="from_step", choices=STEP_NAMES,
                       help="re-run from this step on (e.g. export, after fixing the source data)")
    add_json_flag(retry)
    retry.set_defaults(handler=retry_run)

    status = sub.add_parser("status", help="show recent runs, or one run")
    status.add_argument("run_id", nargs="?")
    status.add_argument("--date", type=DateArgument, help="only the runs of this logical date")
    status.add_argument("--state", choices=[s.value for s in RunState], type=str.upper)
    status.add_argument("--limit", type=int, default=10, choices=range(1, 101), metavar="1..100")
    add_json_flag(status)
    status.set_defaults(handler=show_status)


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true",
                        help="JSON lines on stdout (the default when stdout is not a terminal)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from orchestrator import engine
    from orchestrator.steps import RunOptions

    options = RunOptions(
        logical_date=args.date or yesterday(settings),
        full_export=args.full_export,
        full_refresh=args.full_refresh,
        tags=tags(args.tags, settings),
        steps=args.steps,
    )
    return _run_with(args, settings, lambda resources: engine.claim(resources, options, "cli", force=args.force))


def retry_run(args: argparse.Namespace, settings: Settings) -> int:
    from orchestrator import engine

    run_id = api_input.run_id(args.run_id)
    return _run_with(args, settings, lambda resources: engine.claim_retry(resources, run_id, "cli-retry",
                                                                          from_step=args.from_step))


def _run_with(args: argparse.Namespace, settings: Settings, claim: Callable[[Resources], Claim]) -> int:
    from orchestrator.resources import Resources

    resources = Resources.from_settings(settings)
    with resources.documents.session():
        return _execute(args, settings, resources, claim(resources))


def _execute(args: argparse.Namespace, settings: Settings, resources: Resources, claimed: Claim) -> int:
    """Run the claimed run with its detail in logs/run-<run id>.log; a summary (or JSON) on stdout."""
    from orchestrator import engine
    from orchestrator.run_log import JsonEcho, StepEcho, detail_to

    machine = wants_json(args)
    log_path = settings.storage.home / "logs" / f"run-{claimed.run_id}.log"
    tally: Counter[str] = Counter()
    record = claimed.run
    if claimed.lease is not None:
        with detail_to(log_path, JsonEcho if machine else StepEcho) as echo:
            if not machine:
                echo.terminal.write(f"Run {claimed.run_id} for {record['logical_date']} ({claimed.outcome}); "
                                    f"the detail goes to {log_path}\n")
            try:
                record = engine.run_claimed(resources, claimed)
            except engine.RunFailed as failure:
                record = failure.run
            tally = echo.tally
    failed = record["state"] != "SUCCEEDED"
    if machine:
        print(json.dumps({"run_id": record["run_id"], "state": record["state"], "outcome": claimed.outcome,
                          "steps": {k: record["steps"][k]["state"] for k in step_names(record)},
                          "actions": dict(tally), "log": str(log_path)}))
    else:
        print(closing(record, claimed.outcome, tally, log_path))
    if failed:
        print(f"winterdays: run {record['run_id']} failed: {record.get('error', record['state'])}\n"
              f"  fix the cause, then: winterdays retry {record['run_id']} (--from export to read the sources "
              f"again); the whole log: {log_path}", file=sys.stderr)
        return 1
    return 0


def show_status(args: argparse.Namespace, settings: Settings) -> int:
    from orchestrator.ledger import public
    from orchestrator.resources import document_source, ledger_of

    run_id = api_input.run_id(args.run_id) if args.run_id else None
    with document_source(settings).session(save=False):  # it only reads: creates and saves nothing
        ledger = ledger_of(settings)
        if run_id:
            record = ledger.get(run_id)
            if record is None:
                from orchestrator.engine import RunNotFound

                raise RunNotFound(f"no run {args.run_id}")
            log_path = settings.storage.home / "logs" / f"run-{args.run_id}.log"
            print(json.dumps(public(record), indent=2) if wants_json(args) else describe(record, log_path))
            return 0
        day = args.date.isoformat() if args.date else None
        runs = ledger.recent(args.limit, logical_date=day, state=args.state)
    if wants_json(args):
        for record in runs:
            print(json.dumps({**public(record), "steps": {n: record["steps"][n]["state"] for n in step_names(record)},
                              "duration_s": round(duration(record), 3)}))
    else:
        print(run_list(runs))
    return 0
