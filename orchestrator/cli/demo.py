"""`winterdays demo`: the main job of `make demo`."""

from __future__ import annotations

import argparse

from lakehouse.settings import Settings
from orchestrator.cli.common import DateArgument, Subcommands, yesterday


def register(sub: Subcommands) -> None:
    demo = sub.add_parser("demo", help="generate ~120 days, run the whole pipeline locally, print a summary")
    # The churn model needs 73 days (30 to label, 7 held out, 29 between them and training, 7 to train
    # on); 120 give it a month of history before the first labelled snapshot (README: the churn model).
    demo.add_argument("--days", type=int, default=120, help="days of history, from no earlier than 2026-01-01")
    demo.add_argument("--to", type=DateArgument, help="last day (default: yesterday)")
    demo.add_argument("--customers", type=int, default=300)
    demo.add_argument("--events", type=int, default=1000)
    demo.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from orchestrator.cli.demo_run import demo

    return demo(settings, days=args.days, end=args.to or yesterday(settings),
                customers=args.customers, events=args.events)
