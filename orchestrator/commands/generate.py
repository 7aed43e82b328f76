"""`winterdays generate`: the three generator jobs (Cloud Run Jobs run exactly this)."""

from __future__ import annotations

import datetime as dt
import json
import os

from lakehouse.settings import Settings
from orchestrator.commands.common import parse_date, yesterday

SOURCES = ("sales", "clickstream", "startups")


def register(sub) -> None:
    gen = sub.add_parser("generate", help="generate source data for a date or a range (a Cloud Run Job)")
    gen.add_argument("source", choices=SOURCES + ("all",))
    gen.add_argument("--date", type=parse_date, default=os.environ.get("WINTERDAYS_DATE") or None,
                     help="one logical date (default: WINTERDAYS_DATE, else yesterday)")
    gen.add_argument("--from", dest="start", type=parse_date, help="first date of a backfill")
    gen.add_argument("--to", dest="end", type=parse_date, help="last date of a backfill")
    gen.add_argument("--seed", type=int, help="random seed (WINTERDAYS_SEED, default 42)")
    gen.add_argument("--customers", type=int, default=int(os.environ.get("WINTERDAYS_CUSTOMERS", 300)))
    gen.add_argument("--events", type=int, default=int(os.environ.get("WINTERDAYS_EVENTS_PER_DAY", 1000)),
                     help="clickstream events a day")
    gen.add_argument("--startups", type=int, default=int(os.environ.get("WINTERDAYS_STARTUPS", 100)),
                     help="startups in the first full load")
    gen.add_argument("--full", action="store_true", help="startups: write a full snapshot, not a delta")
    gen.add_argument("--task-index", type=int, default=int(os.environ.get("CLOUD_RUN_TASK_INDEX", 0)))
    gen.add_argument("--task-count", type=int, default=int(os.environ.get("CLOUD_RUN_TASK_COUNT", 1)))
    gen.set_defaults(handler=run)


def run(args, settings: Settings) -> int:
    from generators.jobs import Shard, Volumes, date_range, generate
    from lakehouse.progress import Progress

    if args.start or args.end:
        if not (args.start and args.end):
            raise SystemExit("winterdays generate: --from and --to go together")
        start, end = args.start, args.end
    else:
        day = args.date if isinstance(args.date, dt.date) else (
            parse_date(args.date) if args.date else yesterday(settings))
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
