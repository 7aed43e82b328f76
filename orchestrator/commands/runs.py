"""`winterdays run | export | transform | train | status`: the pipeline and its ledger."""

from __future__ import annotations

import json
import sys

from lakehouse.settings import Settings
from orchestrator.commands.common import parse_date, yesterday


def register(sub) -> None:
    for name, helptext, steps in (
        ("run", "run all five steps for a logical date", ()),
        ("export", "step 1: export Firestore sales to Parquet in bronze", ("export",)),
        ("transform", "steps 2-4: compile and run the Dataform project", ("compile", "invoke", "wait")),
        ("train", "step 5: run the churn pipeline", ("churn",)),
    ):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("--date", type=parse_date, help="logical date (default: yesterday in WINTERDAYS_TIMEZONE)")
        cmd.add_argument("--full-export", action="store_true", help="export every document, not just the day's")
        cmd.add_argument("--full-refresh", action="store_true", help="rebuild incremental tables from scratch")
        cmd.add_argument("--tags", default="", help="comma-separated Dataform tags to run (with dependencies)")
        cmd.set_defaults(handler=run, steps=steps)

    status = sub.add_parser("status", help="show recent runs, or one run")
    status.add_argument("run_id", nargs="?")
    status.add_argument("--limit", type=int, default=10)
    status.set_defaults(handler=show_status)


def run(args, settings: Settings) -> int:
    from lakehouse.documents import firestore_session
    from orchestrator.engine import RunFailed, execute
    from orchestrator.resources import Resources
    from orchestrator.steps import RunOptions

    options = RunOptions(
        logical_date=args.date or yesterday(settings),
        full_export=args.full_export,
        full_refresh=args.full_refresh,
        tags=tuple(t for t in args.tags.split(",") if t),
        steps=args.steps,
    )
    with firestore_session(settings):
        try:
            record = execute(Resources.from_settings(settings), options, trigger="cli")
        except RunFailed as failure:
            print(f"winterdays: run {failure.run['run_id']} failed: {failure}", file=sys.stderr)
            return 1
    print(json.dumps({"run_id": record["run_id"], "state": record["state"],
                      "steps": {k: v["state"] for k, v in record["steps"].items()}}))
    return 0


def show_status(args, settings: Settings) -> int:
    from lakehouse.documents import firestore_session
    from orchestrator.app import _public
    from orchestrator.resources import Resources

    with firestore_session(settings):
        ledger = Resources.from_settings(settings).ledger
        if args.run_id:
            record = ledger.get(args.run_id)
            if record is None:
                print(f"winterdays: no run {args.run_id}", file=sys.stderr)
                return 1
            print(json.dumps(_public(record), indent=2))
            return 0
        for record in ledger.recent(args.limit):
            steps = " ".join(f"{k}:{v['state'].lower()}" for k, v in record["steps"].items())
            print(f"{record['run_id']}  {record['logical_date']}  {record['state']:<9}  {steps}")
    return 0
