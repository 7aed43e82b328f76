"""`winterdays backfill --from D1 --to D2`: the dates in order, each a ledger run, resumable.

By default each date runs the transform (compile, invoke, wait) over the bronze already there;
--export re-exports each date first (a new deployment filling bronze day by day), --train runs
the churn pipeline too. Re-running the same command skips the dates that succeeded and resumes
the one that failed. Exit codes: 0 every date succeeded or was already done, 1 a date failed,
2 a range that ends before it starts, 3 a date's run is in progress elsewhere.
"""

from __future__ import annotations

import argparse
import sys

from lakehouse.settings import Settings
from orchestrator.backfill import DateOutcome
from orchestrator.cli.common import DateArgument, Subcommands

TRANSFORM = ("compile", "invoke", "wait")


def register(sub: Subcommands) -> None:
    cmd = sub.add_parser("backfill", help="run a range of logical dates in order, each a ledger run (resumable)")
    cmd.add_argument("--from", dest="first", type=DateArgument, required=True, help="first logical date")
    cmd.add_argument("--to", dest="last", type=DateArgument, required=True, help="last logical date (inclusive)")
    cmd.add_argument("--export", action="store_true", help="export each date's Firestore changes first")
    cmd.add_argument("--train", action="store_true", help="run the churn pipeline for each date too")
    cmd.add_argument("--tags", default="", help="comma-separated Dataform tags to run (with dependencies)")
    cmd.set_defaults(handler=run_backfill, usage_error=cmd.error)


def run_backfill(args: argparse.Namespace, settings: Settings) -> int:
    from orchestrator.backfill import backfill
    from orchestrator.resources import Resources
    from orchestrator.steps import RunOptions

    if args.last < args.first:
        args.usage_error(f"--to {args.last} is before --from {args.first}")
    steps = ("export",) * args.export + TRANSFORM + ("churn",) * args.train
    template = RunOptions(logical_date=args.first, tags=tuple(t for t in args.tags.split(",") if t), steps=steps)
    resources = Resources.from_settings(settings)
    with resources.documents.session():  # a date in progress elsewhere raises Busy: exit code 3
        outcomes = backfill(resources, args.first, args.last, template, report=_print)
    failed = [o for o in outcomes if o.state == "FAILED"]
    if failed:
        print(f"winterdays: backfill stopped at {failed[0].logical_date}; run the same command again to resume "
              f"it (winterdays status {failed[0].run_id} shows why)", file=sys.stderr)
        return 1
    return 0


def _print(index: int, total: int, outcome: DateOutcome) -> None:
    detail = {"SKIPPED": "already succeeded", "SUCCEEDED": f"succeeded in {outcome.duration_s:.1f} s",
              "FAILED": f"FAILED: {outcome.error.splitlines()[0][:200] if outcome.error else ''}"}[outcome.state]
    print(f"[{index}/{total}] {outcome.logical_date}  {detail}  (run {outcome.run_id})", flush=True)
