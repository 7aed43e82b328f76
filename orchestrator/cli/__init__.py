"""`winterdays`: one command for the whole platform.

Every Cloud Run entrypoint is one of these subcommands; they call the same functions
as the HTTP API. Settings come from the environment (see lakehouse/settings.py);
flags override them for one invocation. Subcommands live in this package, one module per area,
each with `register(subparsers)`; list a new module in COMMAND_MODULES.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from lakehouse import logs
from lakehouse.credentials import MissingCredentials
from lakehouse.settings import Settings, SettingsError

COMMAND_MODULES = ("generate", "runs", "serve", "demo", "dataform", "mlops", "looker")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="winterdays",
        description="A medallion lakehouse with MLOps on Google Cloud that also runs whole on one laptop.",
        epilog="Mode and locations come from WINTERDAYS_* environment variables; local mode needs none.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"orchestrator.cli.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logs.configure()
    try:
        settings = Settings.from_env()
        if getattr(args, "seed", None) is not None:
            settings = settings.with_overrides(seed=args.seed)
        return args.handler(args, settings)
    except SettingsError as error:
        print(f"winterdays: configuration error: {error}", file=sys.stderr)
        return 2
    except MissingCredentials as error:
        print(f"winterdays: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130

