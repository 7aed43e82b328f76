"""`winterdays generate`: the three generator jobs (Cloud Run Jobs run exactly this).

Every flag has an environment variable, so a job is configured on its definition and a
one-off run overrides it: `gcloud run jobs execute gen-sales --args=--date,2026-03-01`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os

from lakehouse.settings import Settings
from orchestrator.cli.common import parse_date, yesterday

SOURCES = ("sales", "clickstream", "startups")


def register(sub) -> None:
    gen = sub.add_parser(
        "generate", help="generate source data for a date or a range (a Cloud Run Job)",
        description="Generate one day (--date) or a range (--from/--to) of a source. Sharded by "
                    "CLOUD_RUN_TASK_INDEX/CLOUD_RUN_TASK_COUNT: the tasks' union equals one task's output.",
    )
    gen.add_argument("source", choices=SOURCES + ("all",))
    gen.add_argument("--date", type=parse_date, default=os.environ.get("WINTERDAYS_DATE") or None,
                     help="one logical date (default: WINTERDAYS_DATE, else yesterday)")
    gen.add_argument("--from", dest="start", type=parse_date, help="first date of a backfill")
    gen.add_argument("--to", dest="end", type=parse_date, help="last date of a backfill")
    gen.add_argument("--seed", type=int, help="random seed (WINTERDAYS_SEED, default 42)")
    gen.add_argument("--customers", type=int, help="customer population (WINTERDAYS_CUSTOMERS, default 300)")
    gen.add_argument("--events", type=int, help="clickstream events a day (WINTERDAYS_EVENTS_PER_DAY, default 1000)")
    gen.add_argument("--startups", type=int, help="startups in the first full load (WINTERDAYS_STARTUPS, default 100)")
    gen.add_argument("--bad-ratio", type=_ratio,
                     help="share of records with a realistic defect (WINTERDAYS_BAD_RATIO, default 0)")
    gen.add_argument("--full", action="store_true", help="startups: write a full snapshot, not a delta")
    gen.add_argument("--no-oracle", action="store_true",
                     help="sales: skip the churn oracle (its Monte Carlo costs more than the sales at scale)")
    gen.add_argument("--sink", choices=("bronze", "pubsub"), default="bronze",
                     help="clickstream: write bronze files (default) or publish the events to the clickstream topic")
    gen.add_argument("--rate", type=float, default=0.0,
                     help="with --sink pubsub: events per second (default: as fast as possible)")
    gen.add_argument("--task-index", type=int, default=int(os.environ.get("CLOUD_RUN_TASK_INDEX", 0)))
    gen.add_argument("--task-count", type=int, default=int(os.environ.get("CLOUD_RUN_TASK_COUNT", 1)))
    gen.set_defaults(handler=run)


def _ratio(value: str) -> float:
    try:
        ratio = float(value)
    except ValueError:
        ratio = -1.0
    if not 0.0 <= ratio <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a share between 0 and 1, got {value!r}")
    return ratio


def run(args, settings: Settings) -> int:
    from generators.errors import GeneratorInputError
    from generators.jobs import Shard, Volumes, date_range, generate
    from lakehouse.progress import Progress

    if bool(args.start) != bool(args.end):
        raise GeneratorInputError("--from and --to go together")
    if args.start:
        start, end = args.start, args.end
    else:
        day = args.date if isinstance(args.date, dt.date) else (
            parse_date(args.date) if args.date else yesterday(settings))
        start = end = day
    sources = SOURCES if args.source == "all" else (args.source,)
    volumes = Volumes(
        customers=_first(args.customers, settings.customers),
        events_per_day=_first(args.events, settings.events_per_day),
        startups=_first(args.startups, settings.startups),
        bad_ratio=_first(args.bad_ratio, settings.bad_ratio),
        oracle=not args.no_oracle,
    )
    if args.sink == "pubsub":
        if sources != ("clickstream",):
            raise GeneratorInputError("--sink pubsub publishes the clickstream only: "
                                      "`generate clickstream --sink pubsub`")
        published = _publish(settings, start, end, volumes, args.rate)
        print(json.dumps({"from": start.isoformat(), "to": end.isoformat(), "published": {"clickstream": published}}))
        return 0
    shard = Shard(args.task_index, args.task_count)
    days = len(date_range(start, end))
    steps = sum(days if s != "startups" else len(range(0, days, 7)) for s in sources)
    counts = generate(settings, sources, start, end, volumes, shard, full_startups=args.full or None,
                      progress=Progress(steps, "generate"))
    print(json.dumps({"from": start.isoformat(), "to": end.isoformat(), "written": counts}))
    return 0


def _publish(settings: Settings, start: dt.date, end: dt.date, volumes, rate: float) -> int:
    from generators.errors import GeneratorInputError
    from generators.publish import publish_clickstream
    from lakehouse.emulator import PubSubEmulator, local_session
    from lakehouse.stream import declare
    from orchestrator.resources import Resources

    emulator = PubSubEmulator(settings.project, data_dir=settings.pubsub_data_dir)
    if settings.is_local and not os.environ.get(emulator.host_variable) and not emulator.running():
        # an emulator started here would take the messages with it when this command ends
        raise GeneratorInputError("no Pub/Sub emulator is running: start the subscriber first "
                                  "(`winterdays ingest`), which runs it under WINTERDAYS_HOME")
    with local_session(emulator, settings.is_local):
        bus = Resources.from_settings(settings).messages()
        if settings.is_local:
            declare(bus)
        return publish_clickstream(settings, bus, start, end, volumes, rate)


def _first(flag, setting):
    return setting if flag is None else flag
