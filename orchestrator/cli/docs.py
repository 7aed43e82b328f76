"""`winterdays docs --out DIR`: the lineage and model documentation as one static HTML page (GET /docs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from lakehouse.settings import Settings
from orchestrator.cli.common import Subcommands


def register(sub: Subcommands) -> None:
    docs = sub.add_parser("docs", help="write the Dataform lineage and table docs as static HTML (GET /docs)")
    docs.add_argument("--out", type=Path, help="folder to write index.html into (default: WINTERDAYS_HOME/site)")
    docs.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from orchestrator.dashboard.reports import recent_runs
    from orchestrator.docs import RUNS_READ, page
    from orchestrator.resources import document_source, ledger_of

    with document_source(settings).session(save=False):
        runs, ledger_error = recent_runs(ledger_of(settings), RUNS_READ)
        html = page(settings, runs, ledger_error)
    out = args.out or settings.storage.home / "site"
    out.mkdir(parents=True, exist_ok=True)
    target = out / "index.html"
    target.write_text(html)
    print(f"wrote {target} ({len(html):,} bytes): open it in a browser, or copy the folder to a bucket")
    return 0
