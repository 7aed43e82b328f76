"""`winterdays serve`: the orchestrator API under gunicorn (the emulator started alongside locally)."""

from __future__ import annotations

import os
import subprocess
import sys

from lakehouse.settings import Settings


def register(sub) -> None:
    serve = sub.add_parser("serve", help="serve the orchestrator API with gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8080)))
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(handler=run)


def run(args, settings: Settings) -> int:
    from lakehouse.documents import firestore_session

    with firestore_session(settings):
        command = [sys.executable, "-m", "gunicorn", "--bind", f"{args.host}:{args.port}",
                   "--workers", str(args.workers), "--timeout", "0", "orchestrator.app:create_app()"]
        return subprocess.call(command, env=os.environ.copy())
