"""`winterdays`: one command for the whole platform.

Every Cloud Run entrypoint is one of these subcommands; they call the same functions
as the HTTP API. Settings come from the environment (see lakehouse/settings.py);
flags override them for one invocation. Subcommands live in this package, one module per area,
each with `register(subparsers)`; list a new module in COMMAND_MODULES.
A command returns its exit code or raises: main() turns our errors into exit codes (EXIT_CODES):
0 done, 1 a run or action failed, 2 bad input or setup (one line says what to fix), 3 busy elsewhere,
130/143 stopped by Ctrl-C/SIGTERM (every `finally` runs, so the emulator and other children stop too).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
from collections.abc import Iterator

from generators.errors import GeneratorError, GeneratorInputError
from lakehouse import logs
from lakehouse.credentials import MissingCredentials
from lakehouse.emulator import EmulatorError
from lakehouse.errors import LakehouseError
from lakehouse.settings import Settings, SettingsError
from lakehouse.transform.actions import UnknownSelection
from lakehouse.warehouse import WarehouseCorrupt
from mlops.errors import MlopsError
from orchestrator.api_input import BadRequest
from orchestrator.cli.children import stop_children
from orchestrator.cli.common import Handler, resolve_dates
from orchestrator.errors import Busy, OrchestratorError

COMMAND_MODULES = (
    "generate", "ingest", "runs", "backfill", "serve", "emulator", "demo", "dataform", "docs", "mlops", "looker")
# The one place a command's error becomes an exit code and a message on stderr, never a traceback:
# the first class the error is an instance of wins. An error not listed is a bug, and keeps its traceback.
EXIT_CODES: tuple[tuple[type[Exception], int, str], ...] = (
    (SettingsError, 2, "configuration error: "),
    (MissingCredentials, 2, ""),  # says what to run: gcloud auth application-default login
    (GeneratorInputError, 2, ""),  # volumes, dates or shards the generators refuse: a usage error
    (BadRequest, 2, ""),  # a date, tag or run id the API would refuse too (api_input)
    (UnknownSelection, 2, ""),  # a tag or action the Dataform project does not have
    (EmulatorError, 2, ""),  # Java or the emulator missing, no saved data for a read-only command
    (WarehouseCorrupt, 2, ""),  # warehouse.duckdb is not DuckDB's: left untouched
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
    settings: Settings | None = None
    received: list[int] = []
    try:
        with _sigterm_as_interrupt(received):
            settings = Settings.from_env()
            logs.configure(settings.general.log_level)
            if getattr(args, "seed", None) is not None:
                settings = settings.with_overrides(general={"seed": args.seed})
            resolve_dates(args, settings)
            handler: Handler = args.handler
            return handler(args, settings)
    except KeyboardInterrupt:
        return 128 + (received[0] if received else signal.SIGINT)
    except Exception as error:
        code, message = exit_code(error, settings)
        print(f"winterdays: {message}", file=sys.stderr)
        return code


def exit_code(error: Exception, settings: Settings | None) -> tuple[int, str]:
    """(exit code, one-line message) of an error, by EXIT_CODES; re-raises a bug, with its traceback."""
    if isinstance(error, OSError) and settings is not None and _under(error.filename, settings):
        return 2, (f"WINTERDAYS_HOME={settings.storage.home} cannot be used ({error.strerror}: {error.filename}); "
                   "point WINTERDAYS_HOME at a folder you can write")
    for kind, code, prefix in EXIT_CODES:
        if isinstance(error, kind):
            return code, f"{prefix}{error}"
    raise error


def _under(filename: object, settings: Settings) -> bool:
    return isinstance(filename, str) and (filename + "/").startswith(str(settings.storage.home) + "/")


@contextlib.contextmanager
def _sigterm_as_interrupt(received: list[int]) -> Iterator[None]:
    """SIGTERM raised as KeyboardInterrupt, as Ctrl-C is, so that every `finally` runs: the emulator and
    other children are stopped; `received` records it for the exit code. Either signal is passed on to
    the command's children first (children.py): a SIGTERM reaches the CLI alone."""
    def interrupt(signum: int, _frame: object) -> None:
        received.append(signum)
        stop_children()
        raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, interrupt) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
