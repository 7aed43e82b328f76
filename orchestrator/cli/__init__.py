"""`winterdays`: one command for the whole platform.

Every Cloud Run entrypoint is one of these subcommands; they call the same functions
as the HTTP API. Settings come from the environment (see lakehouse/settings.py);
flags override them for one invocation. Subcommands live in this package, one module per area,
each with `register(subparsers)`; list a new module in COMMAND_MODULES.
A command returns its exit code or raises: main() turns our errors into exit codes (EXIT_CODES).
"""

from __future__ import annotations

import argparse
import importlib
import sys

from generators.errors import GeneratorError, GeneratorInputError
from lakehouse import logs
from lakehouse.errors import LakehouseError
from lakehouse.settings import Settings, SettingsError
from mlops.errors import MlopsError
from orchestrator.cli.common import Handler
from orchestrator.errors import Busy, OrchestratorError

COMMAND_MODULES = ("generate", "runs", "backfill", "serve", "emulator", "demo", "dataform", "docs", "mlops", "looker")
# The one place a command's error becomes an exit code and a message on stderr, never a traceback:
# the first class the error is an instance of wins. An error not listed is a bug, and keeps its traceback.
EXIT_CODES: tuple[tuple[type[Exception], int, str], ...] = (
    (SettingsError, 2, "configuration error: "),
    (GeneratorInputError, 2, ""),  # volumes, dates or shards the generators refuse: a usage error
    (Busy, 3, ""),  # a run of the date in progress elsewhere, or the ledger contended: try later
    (OrchestratorError, 1, ""),
    (LakehouseError, 1, ""),
    (MlopsError, 1, ""),
    (GeneratorError, 1, ""),
)


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
    try:
        settings = Settings.from_env()
        logs.configure(settings.general.log_level)
        if getattr(args, "seed", None) is not None:
            settings = settings.with_overrides(general={"seed": args.seed})
        handler: Handler = args.handler
        return handler(args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        for kind, code, prefix in EXIT_CODES:
            if isinstance(error, kind):
                print(f"winterdays: {prefix}{error}", file=sys.stderr)
                return code
        raise

