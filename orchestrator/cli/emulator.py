"""`winterdays emulator start | stop | status`: keep the local Firestore emulator warm between commands.

Every local command reuses the emulator running for WINTERDAYS_HOME (this one, or the one
`winterdays serve` started) and starts one for itself only when none answers, which costs a few
seconds a command (`status` answers in well under a second when one is warm: bench/status.py).
"""

from __future__ import annotations

import sys

from lakehouse.settings import Settings


def register(sub) -> None:
    emulator = sub.add_parser("emulator", help="start, stop or show the local Firestore emulator kept warm")
    emulator.add_argument("action", choices=("start", "stop", "status"))
    emulator.set_defaults(handler=run)


def run(args, settings: Settings) -> int:
    from lakehouse.emulator import EmulatorError, FirestoreEmulator

    if not settings.is_local:
        print("winterdays emulator: gcp mode reads Firestore itself; there is no emulator", file=sys.stderr)
        return 2
    emulator = FirestoreEmulator(settings.project, data_dir=settings.firestore_data_dir)
    running = emulator.running()
    if args.action == "status":
        print(f"running on {running} for {settings.firestore_data_dir}" if running
              else f"not running for {settings.firestore_data_dir}")
        return 0 if running else 1
    if args.action == "stop":
        stopped = emulator.stop_running()
        print(f"saved and stopped the emulator on {running}" if stopped else "no emulator was running")
        return 0
    if running:
        print(f"already running on {running}")
        return 0
    try:
        host = emulator.start()
    except EmulatorError as error:
        print(f"winterdays emulator: {error}", file=sys.stderr)
        return 1
    emulator.detach()
    print(f"started on {host} for {settings.firestore_data_dir}; `winterdays emulator stop` saves and stops it")
    return 0
