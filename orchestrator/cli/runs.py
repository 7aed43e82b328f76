"""`winterdays run | export | transform | train | retry | status`: the pipeline and its ledger.

The same claim as `POST /runs`: a date that already succeeded with the same options is not
run again (unless --force), a failed or interrupted run resumes, and a date whose run is in
progress elsewhere (a `winterdays serve`, Cloud Run) is left alone.
Exit codes (orchestrator/cli/__init__.py): 0 succeeded, 1 failed, 3 in progress elsewhere (or the ledger is
contended): try later.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from lakehouse.settings import Settings
from orchestrator.cli.common import Subcommands, parse_date, yesterday
from orchestrator.records import RunState

if TYPE_CHECKING:  # imported when a command runs: `winterdays --help` stays quick
    from orchestrator.engine import Claim
    from orchestrator.resources import Resources


def register(sub: Subcommands) -> None:
    for name, helptext, steps in (
        ("run", "run all five steps for a logical date", ()),
        ("export", "step 1: export Firestore sales to Parquet in bronze", ("export",)),
        ("transform", "steps 2-4: compile and run the Dataform project", ("compile", "invoke", "wait")),
        ("train", "step 5: run the churn pipeline", ("churn",)),
    ):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("--date", type=parse_date, help="logical date (default: yesterday in WINTERDAYS_TIMEZONE)")
        full = ("--full", "--full-export") if name == "export" else ("--full-export",)
        cmd.add_argument(*full, dest="full_export", action="store_true",
                         help="export every document, not just the changes since the watermark")
        cmd.add_argument("--full-refresh", action="store_true", help="rebuild incremental tables from scratch")
        cmd.add_argument("--tags", default="", help="comma-separated Dataform tags to run (with dependencies)")
        cmd.add_argument("--force", action="store_true",
                         help="run again even if this date already succeeded with these options")
        cmd.set_defaults(handler=run, steps=steps)

    retry = sub.add_parser("retry", help="resume a failed or interrupted run from its first unfinished step")
    retry.add_argument("run_id")
    retry.set_defaults(handler=retry_run)

    status = sub.add_parser("status", help="show recent runs, or one run")
    status.add_argument("run_id", nargs="?")
    status.add_argument("--date", type=parse_date, help="only the runs of this logical date")
    status.add_argument("--state", choices=[s.value for s in RunState], type=str.upper)
    status.add_argument("--limit", type=int, default=10)
    status.set_defaults(handler=show_status)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from orchestrator import engine
    from orchestrator.steps import RunOptions

    options = RunOptions(
        logical_date=args.date or yesterday(settings),
        full_export=args.full_export,
        full_refresh=args.full_refresh,
        tags=tuple(t for t in args.tags.split(",") if t),
        steps=args.steps,
    )
    return _run_with(settings, lambda resources: engine.claim(resources, options, "cli", force=args.force))


def retry_run(args: argparse.Namespace, settings: Settings) -> int:
    from orchestrator import engine

    return _run_with(settings, lambda resources: engine.claim_retry(resources, args.run_id, "cli-retry"))


def _run_with(settings: Settings, claim: Callable[[Resources], Claim]) -> int:
    from orchestrator import engine
    from orchestrator.resources import Resources

    resources = Resources.from_settings(settings)
    with resources.documents.session():
        claimed = claim(resources)
        record = claimed.run if claimed.lease is None else engine.run_claimed(resources, claimed)
    print(json.dumps({"run_id": record["run_id"], "state": record["state"], "outcome": claimed.outcome,
                      "steps": {k: v["state"] for k, v in record["steps"].items()}}))
    return 0


def show_status(args: argparse.Namespace, settings: Settings) -> int:
    from orchestrator.ledger import public
    from orchestrator.resources import Resources

    resources = Resources.from_settings(settings)
    with resources.documents.session():
        ledger = resources.ledger
        if args.run_id:
            record = ledger.get(args.run_id)
            if record is None:
                print(f"winterdays: no run {args.run_id}", file=sys.stderr)
                return 1
            print(json.dumps(public(record), indent=2))
            return 0
        day = args.date.isoformat() if args.date else None
        for record in ledger.recent(args.limit, logical_date=day, state=args.state):
            steps = " ".join(f"{k}:{v['state'].lower()}" for k, v in record["steps"].items())
            print(f"{record['run_id']}  {record['logical_date']}  {record['state']:<9}  "
                  f"attempt {record.get('attempt', 1)}  {steps}")
    return 0
