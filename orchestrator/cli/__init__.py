"""`winterdays`: one command for the whole platform.

Every Cloud Run entrypoint is one of these subcommands; they call the same functions
as the HTTP API. Settings come from the environment (see lakehouse/settings.py);
flags override them for one invocation. Subcommands live in this package, one module per area,
each with `register(subparsers)`; list a new module in COMMAND_MODULES.
Exit codes: 0 done, 1 a run or action failed, 2 bad input or setup (one line says what to fix; see
`exit_code`), 3 in progress elsewhere, 130/143 stopped by Ctrl-C/SIGTERM (children stopped too).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys

from lakehouse import logs
from lakehouse.settings import Settings, SettingsError
from orchestrator.cli.common import resolve_dates

COMMAND_MODULES = ("generate", "runs", "serve", "demo", "dataform", "mlops", "looker")
USAGE = 2


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every `finally` runs: the emulator and other children are stopped."""


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
    settings = None
    try:
        with _sigterm_as_interrupt():
            settings = Settings.from_env()
            if getattr(args, "seed", None) is not None:
                settings = settings.with_overrides(seed=args.seed)
            resolve_dates(args, settings)
            return args.handler(args, settings)
    except Terminated:
        return 128 + signal.SIGTERM
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        known = exit_code(error, settings)
        if known is None:
            raise
        code, message = known
        print(f"winterdays: {message}", file=sys.stderr)
        return code


def exit_code(error: Exception, settings: Settings | None) -> tuple[int, str] | None:
    """The one place where an error becomes an exit code and a one-line message (None: a bug, traceback)."""
    from lakehouse.documents import NoLocalData
    from lakehouse.emulator import EmulatorError
    from lakehouse.transform.actions import UnknownSelection
    from lakehouse.warehouse import WarehouseCorrupt
    from orchestrator.api_input import BadRequest

    if isinstance(error, SettingsError):
        return USAGE, f"configuration error: {error}"
    if isinstance(error, (BadRequest, UnknownSelection, EmulatorError, WarehouseCorrupt, NoLocalData)):
        return USAGE, str(error)
    if isinstance(error, OSError) and settings is not None and _under(error.filename, settings):
        return USAGE, (f"WINTERDAYS_HOME={settings.home} cannot be used ({error.strerror}: {error.filename}); "
                       "point WINTERDAYS_HOME at a folder you can write")
    return None


def _under(filename, settings: Settings) -> bool:
    return isinstance(filename, str) and (filename + "/").startswith(str(settings.home) + "/")


@contextlib.contextmanager
def _sigterm_as_interrupt():
    def interrupt(_signum, _frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
