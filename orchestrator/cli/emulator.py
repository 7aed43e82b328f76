"""`winterdays emulator start | stop | status`: keep the local Firestore emulator warm between commands.

Every local command reuses the emulator running for WINTERDAYS_HOME (this one, or the one
`winterdays serve` started) and starts one for itself only when none answers, which costs a few
seconds a command (`status` answers in well under a second when one is warm: bench/status.py).
"""

from __future__ import annotations

import argparse
import sys

from lakehouse.settings import Settings
from orchestrator.cli.common import Subcommands


def register(sub: Subcommands) -> None:
    emulator = sub.add_parser("emulator", help="start, stop or show the local Firestore emulator kept warm")
    emulator.add_argument("action", choices=("start", "stop", "status"))
    emulator.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from lakehouse.documents import EmulatedFirestoreSource
    from orchestrator.resources import document_source

    documents = document_source(settings)
    if not isinstance(documents, EmulatedFirestoreSource):
        print("winterdays emulator: gcp mode reads Firestore itself; there is no emulator", file=sys.stderr)
        return 2
    emulator = documents.emulator()
    running = emulator.running()
    if args.action == "status":
        print(f"running on {running} for {documents.data_dir}" if running else f"not running for {documents.data_dir}")
        return 0 if running else 1
    if args.action == "stop":
        stopped = emulator.stop_running()
        print(f"saved and stopped the emulator on {running}" if stopped else "no emulator was running")
        return 0
    if running:
        print(f"already running on {running}")
        return 0
    host = emulator.start()  # an EmulatorError reaches EXIT_CODES
    emulator.detach()
    print(f"started on {host} for {documents.data_dir}; `winterdays emulator stop` saves and stops it")
    return 0
