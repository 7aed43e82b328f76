"""`winterdays`: one command for the whole platform.

Every Cloud Run entrypoint is one of these subcommands; they call the same functions
as the HTTP API. Settings come from the environment (see lakehouse/settings.py);
flags override them for one invocation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys

from lakehouse import logs
from lakehouse.settings import Settings, SettingsError

SOURCES = ("sales", "clickstream", "startups")


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None


def _yesterday(settings: Settings) -> dt.date:
    from zoneinfo import ZoneInfo

    return dt.datetime.now(ZoneInfo(settings.timezone)).date() - dt.timedelta(days=1)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="winterdays",
        description="A medallion lakehouse with MLOps on Google Cloud that also runs whole on one laptop.",
        epilog="Mode and locations come from WINTERDAYS_* environment variables; local mode needs none.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    gen = sub.add_parser("generate", help="generate source data for a date or a range (a Cloud Run Job)")
    gen.add_argument("source", choices=SOURCES + ("all",))
    _date_range_args(gen)
    gen.add_argument("--seed", type=int, help="random seed (WINTERDAYS_SEED, default 42)")
    gen.add_argument("--customers", type=int, default=int(os.environ.get("WINTERDAYS_CUSTOMERS", 300)))
    gen.add_argument("--events", type=int, default=int(os.environ.get("WINTERDAYS_EVENTS_PER_DAY", 1000)),
                     help="clickstream events a day")
    gen.add_argument("--startups", type=int, default=int(os.environ.get("WINTERDAYS_STARTUPS", 100)),
                     help="startups in the first full load")
    gen.add_argument("--full", action="store_true", help="startups: write a full snapshot, not a delta")
    gen.add_argument("--task-index", type=int, default=int(os.environ.get("CLOUD_RUN_TASK_INDEX", 0)))
    gen.add_argument("--task-count", type=int, default=int(os.environ.get("CLOUD_RUN_TASK_COUNT", 1)))

    for name, helptext, steps in (
        ("run", "run all five steps for a logical date", ()),
        ("export", "step 1: export Firestore sales to Parquet in bronze", ("export",)),
        ("transform", "steps 2-4: compile and run the Dataform project", ("compile", "invoke", "wait")),
        ("train", "step 5: run the churn pipeline", ("churn",)),
    ):
        cmd = sub.add_parser(name, help=helptext)
        cmd.add_argument("--date", type=_date, help="logical date (default: yesterday in WINTERDAYS_TIMEZONE)")
        cmd.add_argument("--full-export", action="store_true", help="export every document, not just the day's")
        cmd.add_argument("--full-refresh", action="store_true", help="rebuild incremental tables from scratch")
        cmd.add_argument("--tags", default="", help="comma-separated Dataform tags to run (with dependencies)")
        cmd.set_defaults(steps=steps)

    status = sub.add_parser("status", help="show recent runs, or one run")
    status.add_argument("run_id", nargs="?")
    status.add_argument("--limit", type=int, default=10)

    serve = sub.add_parser("serve", help="serve the orchestrator API with gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8080)))
    serve.add_argument("--workers", type=int, default=1)

    demo = sub.add_parser("demo", help="generate ~60 days, run the whole pipeline locally, print a summary")
    demo.add_argument("--days", type=int, default=60)
    demo.add_argument("--to", type=_date, help="last day (default: yesterday)")
    demo.add_argument("--customers", type=int, default=300)
    demo.add_argument("--events", type=int, default=1000)
    return parser


def _date_range_args(cmd: argparse.ArgumentParser) -> None:
    cmd.add_argument("--date", type=_date, default=os.environ.get("WINTERDAYS_DATE") or None,
                     help="one logical date (default: WINTERDAYS_DATE, else yesterday)")
    cmd.add_argument("--from", dest="start", type=_date, help="first date of a backfill")
    cmd.add_argument("--to", dest="end", type=_date, help="last date of a backfill")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure()
    try:
        settings = Settings.from_env()
        if getattr(args, "seed", None) is not None:
            settings = settings.with_overrides(seed=args.seed)
        return COMMANDS[args.command](args, settings)
    except SettingsError as error:
        print(f"winterdays: configuration error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def cmd_generate(args, settings: Settings) -> int:
    from generators.jobs import Shard, Volumes, date_range, generate
    from lakehouse.progress import Progress

    if args.start or args.end:
        if not (args.start and args.end):
            raise SystemExit("winterdays generate: --from and --to go together")
        start, end = args.start, args.end
    else:
        day = args.date if isinstance(args.date, dt.date) else (
            _date(args.date) if args.date else _yesterday(settings))
        start = end = day
    sources = SOURCES if args.source == "all" else (args.source,)
    volumes = Volumes(customers=args.customers, events_per_day=args.events, startups=args.startups)
    shard = Shard(args.task_index, args.task_count)
    days = len(date_range(start, end))
    steps = sum(days if s != "startups" else len(range(0, days, 7)) for s in sources)
    counts = generate(settings, sources, start, end, volumes, shard, full_startups=args.full or None,
                      progress=Progress(steps, "generate"))
    print(json.dumps({"from": start.isoformat(), "to": end.isoformat(), "written": counts}))
    return 0


def cmd_run(args, settings: Settings) -> int:
    from lakehouse.documents import firestore_session
    from orchestrator.engine import RunFailed, execute
    from orchestrator.resources import Resources
    from orchestrator.steps import RunOptions

    options = RunOptions(
        logical_date=args.date or _yesterday(settings),
        full_export=args.full_export,
        full_refresh=args.full_refresh,
        tags=tuple(t for t in args.tags.split(",") if t),
        steps=args.steps,
    )
    with firestore_session(settings):
        try:
            run = execute(Resources.from_settings(settings), options, trigger="cli")
        except RunFailed as failure:
            print(f"winterdays: run {failure.run['run_id']} failed: {failure}", file=sys.stderr)
            return 1
    print(json.dumps({"run_id": run["run_id"], "state": run["state"],
                      "steps": {k: v["state"] for k, v in run["steps"].items()}}))
    return 0


def cmd_status(args, settings: Settings) -> int:
    from lakehouse.documents import firestore_session
    from orchestrator.app import _public
    from orchestrator.resources import Resources

    with firestore_session(settings):
        ledger = Resources.from_settings(settings).ledger
        if args.run_id:
            run = ledger.get(args.run_id)
            if run is None:
                print(f"winterdays: no run {args.run_id}", file=sys.stderr)
                return 1
            print(json.dumps(_public(run), indent=2))
            return 0
        for run in ledger.recent(args.limit):
            steps = " ".join(f"{k}:{v['state'].lower()}" for k, v in run["steps"].items())
            print(f"{run['run_id']}  {run['logical_date']}  {run['state']:<9}  {steps}")
    return 0


def cmd_serve(args, settings: Settings) -> int:
    from lakehouse.documents import firestore_session

    with firestore_session(settings):
        command = [sys.executable, "-m", "gunicorn", "--bind", f"{args.host}:{args.port}",
                   "--workers", str(args.workers), "--timeout", "0", "orchestrator.app:create_app()"]
        return subprocess.call(command, env=os.environ.copy())


def cmd_demo(args, settings: Settings) -> int:
    from orchestrator.demo import demo

    return demo(settings, days=args.days, end=args.to or _yesterday(settings),
                customers=args.customers, events=args.events)


COMMANDS = {
    "generate": cmd_generate, "run": cmd_run, "export": cmd_run, "transform": cmd_run, "train": cmd_run,
    "status": cmd_status, "serve": cmd_serve, "demo": cmd_demo,
}

if __name__ == "__main__":
    sys.exit(main())
