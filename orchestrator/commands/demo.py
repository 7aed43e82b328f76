"""`winterdays demo`: the main job of `make demo`."""

from __future__ import annotations

from lakehouse.settings import Settings
from orchestrator.commands.common import parse_date, yesterday


def register(sub) -> None:
    demo = sub.add_parser("demo", help="generate ~60 days, run the whole pipeline locally, print a summary")
    demo.add_argument("--days", type=int, default=60)
    demo.add_argument("--to", type=parse_date, help="last day (default: yesterday)")
    demo.add_argument("--customers", type=int, default=300)
    demo.add_argument("--events", type=int, default=1000)
    demo.set_defaults(handler=run)


def run(args, settings: Settings) -> int:
    from orchestrator.demo import demo

    return demo(settings, days=args.days, end=args.to or yesterday(settings),
                customers=args.customers, events=args.events)
