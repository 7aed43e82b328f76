"""`winterdays generate`: the three generator jobs (Cloud Run Jobs run exactly this).

Every flag has an environment variable, so a job is configured on its definition and a
one-off run overrides it: `gcloud run jobs execute gen-sales --args=--date,2026-03-01`.
"""

from __future__ import annotations

import argparse
import json
import os

from lakehouse.settings import Settings, describe
from orchestrator.api_input import parse_date
from orchestrator.cli.common import DateArgument, Subcommands, yesterday

SOURCES = ("sales", "clickstream", "startups")


def register(sub: Subcommands) -> None:
    gen = sub.add_parser(
        "generate", help="generate source data for a date or a range (a Cloud Run Job)",
        description="Generate one day (--date) or a range (--from/--to) of a source. Sharded by "
                    "CLOUD_RUN_TASK_INDEX/CLOUD_RUN_TASK_COUNT: the tasks' union equals one task's output.",
    )
    gen.add_argument("source", choices=SOURCES + ("all",))
    gen.add_argument("--date", type=DateArgument, help="one logical date (default: WINTERDAYS_DATE, else yesterday)")
    gen.add_argument("--from", dest="start", type=DateArgument, help="first date of a backfill")
    gen.add_argument("--to", dest="end", type=DateArgument, help="last date of a backfill")
    gen.add_argument("--seed", type=int, help=f"random seed ({describe('general', 'seed')})")
    gen.add_argument("--customers", type=int, help=f"customer population ({describe('generators', 'customers')})")
    gen.add_argument("--events", type=int,
                     help=f"clickstream events a day ({describe('generators', 'events_per_day')})")
    gen.add_argument("--startups", type=int,
                     help=f"startups in the first full load ({describe('generators', 'startups')})")
    gen.add_argument("--bad-ratio", type=_ratio,
                     help=f"share of records with a realistic defect ({describe('generators', 'bad_ratio')})")
    gen.add_argument("--full", action="store_true", help="startups: write a full snapshot, not a delta")
    gen.add_argument("--no-oracle", action="store_true",
                     help="sales: skip the churn oracle (its Monte Carlo costs more than the sales at scale)")
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


def run(args: argparse.Namespace, settings: Settings) -> int:
    from generators.errors import GeneratorInputError
    from generators.jobs import Shard, Volumes, date_range, generate
    from lakehouse.progress import Progress
    from orchestrator.resources import document_source

    if bool(args.start) != bool(args.end):
        raise GeneratorInputError("--from and --to go together")
    if args.start:
        start, end = args.start, args.end
    else:
        configured = settings.generators.date  # WINTERDAYS_DATE: the same rule as the flag
        configured = configured and parse_date(configured.isoformat(), settings.today(), name="WINTERDAYS_DATE")
        start = end = args.date or configured or yesterday(settings)
    sources = SOURCES if args.source == "all" else (args.source,)
    flags = {"customers": args.customers, "events_per_day": args.events, "startups": args.startups,
             "bad_ratio": args.bad_ratio}
    volumes = Volumes.configured(settings.generators, oracle=not args.no_oracle,
                                 **{name: value for name, value in flags.items() if value is not None})
    shard = Shard(args.task_index, args.task_count)
    days = len(date_range(start, end))
    steps = sum(days if s != "startups" else len(range(0, days, 7)) for s in sources)
    counts = generate(settings, document_source(settings), sources, start, end, volumes, shard,
                      full_startups=args.full or None, progress=Progress(steps, "generate"))
    print(json.dumps({"from": start.isoformat(), "to": end.isoformat(), "written": counts}))
    return 0

