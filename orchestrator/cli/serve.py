"""`winterdays serve`: the orchestrator API under gunicorn (the emulator started alongside locally).

One worker process with threads: a run executes in a thread of the worker that claimed it,
while other threads answer GET /runs and the 409s. Locally one worker is a must: DuckDB
allows one writer process. On Cloud Run, scale with instances; the Firestore lease keeps
one run per date across all of them.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys

from lakehouse.settings import Settings
from orchestrator.cli.common import Subcommands

GRACEFUL_TIMEOUT_S = 8  # Cloud Run allows 10 s between SIGTERM and SIGKILL


def register(sub: Subcommands) -> None:
    serve = sub.add_parser("serve", help="serve the orchestrator API with gunicorn")
    serve.add_argument("--host", help="address to bind (default: 127.0.0.1 locally, 0.0.0.0 in gcp mode)")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8080)))
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--threads", type=int, default=4,
                       help="requests served at once by each worker (Cloud Run's concurrency is set to match)")
    serve.set_defaults(handler=run)


def gunicorn_command(args: argparse.Namespace, settings: Settings) -> list[str]:
    host = args.host or settings.service.host
    return [sys.executable, "-m", "gunicorn", "--bind", f"{host}:{args.port}",
            "--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.threads),
            "--graceful-timeout", str(GRACEFUL_TIMEOUT_S), "orchestrator.app:create_app()"]


def run(args: argparse.Namespace, settings: Settings) -> int:
    from orchestrator.resources import document_source, one_writer_process

    if one_writer_process(settings) and args.workers != 1:
        print("winterdays serve: local mode serves with one worker (DuckDB allows one writer process)",
              file=sys.stderr)
        return 2
    with document_source(settings).session():
        server = subprocess.Popen(gunicorn_command(args, settings), env=os.environ.copy())
        # gunicorn shuts down gracefully on SIGTERM: pass it on, then save the emulator's data
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda received, _frame: server.send_signal(received))
        return server.wait()
