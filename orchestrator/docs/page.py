"""What /docs and `winterdays docs --out` show: the project's lineage and, for each action, its
description and columns from the SQLX, its assertions, its row count and the last run that built it.

The project is compiled with the pinned Dataform CLI (cached until a file under dataform/ changes);
row counts and column names come from the warehouse, read-only; last runs from the run ledger.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from lakehouse.settings import Settings
from lakehouse.transform.lineage import Node, lineage
from orchestrator.docs.graph import svg

TEMPLATES = [Path(__file__).parent / "templates", Path(__file__).parent.parent / "dashboard" / "templates"]
COUNTED = ("table", "incremental", "operations")  # a view's count would run its query


@dataclass
class Facts:
    rows: int | None = None
    columns: list[str] = field(default_factory=list)  # as the warehouse has them
    last_run: dict[str, Any] | None = None  # run_id, logical_date, rows written (None: not recorded)


def render(settings: Settings, runs: Sequence[Any] | None, warehouse: Any, as_of: dt.date,
           ledger_error: str = "") -> str:
    """The whole page as HTML; `warehouse` may be None (nothing built yet)."""
    nodes = lineage(project_graph(settings, as_of))
    facts = {key: _facts(node, warehouse, runs or []) for key, node in nodes.items()}
    datasets: dict[str, list[Node]] = {}
    for node in nodes.values():
        datasets.setdefault(node.dataset, []).append(node)
    return _environment().get_template("docs.html").render(
        nodes=nodes, facts=facts, datasets=datasets, graph=svg(nodes), as_of=as_of,
        checks=sum(len(n.assertions) for n in nodes.values()), warehouse=settings.warehouse.path,
        built=warehouse is not None, ledger_error=ledger_error,
        rendered=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"))


def project_graph(settings: Settings, as_of: dt.date) -> dict[str, Any]:
    project = settings.transform.dataform_dir
    return compiled(project, _fingerprint(project), as_of.isoformat(), settings.storage.bronze_uri,
                    settings.general.pii_key)


@functools.lru_cache(maxsize=4)
def compiled(project: Path, fingerprint: tuple[tuple[str, int] | str, ...], run_date: str, bronze_uri: str,
             pii_key: str) -> dict[str, Any]:
    """The compiled graph, once per version of the project's files (`fingerprint`) and date."""
    from lakehouse.transform.compiler import compile_project

    variables = {"bronze_uri": bronze_uri, "pii_key": pii_key, "run_date": run_date, "snapshot_days": "90"}
    return compile_project(project, variables)


def _fingerprint(project: Path) -> tuple[tuple[str, int] | str, ...]:
    files = [p for folder in ("definitions", "includes") for p in sorted((project / folder).rglob("*"))
             if p.is_file()]
    return tuple((str(p), p.stat().st_mtime_ns) for p in files) + (str(project / "workflow_settings.yaml"),)


def _facts(node: Node, warehouse: Any, runs: Sequence[Any]) -> Facts:
    facts = Facts(last_run=_last_run(node, runs))
    if warehouse is None or not warehouse.table_exists(node.dataset, node.name):
        return facts
    facts.columns = list(warehouse.columns(node.dataset, node.name))
    if node.kind in COUNTED:
        facts.rows = warehouse.query(f"SELECT COUNT(*) AS n FROM `{node.dataset}`.`{node.name}`")[0]["n"]
    return facts


def _last_run(node: Node, runs: Sequence[Any]) -> dict[str, Any] | None:
    """The newest run whose transform succeeded and covered the action: it recorded the action's rows,
    or it ran every action (no tags), or one of the action's tags."""
    for run in runs:
        wait = (run.get("steps") or {}).get("wait") or {}
        if wait.get("state") != "SUCCEEDED":
            continue
        rows = (wait.get("outputs") or {}).get("rows") or {}
        tags = (run.get("options") or {}).get("tags") or []
        if node.key in rows or not tags or set(tags) & set(node.tags):
            return {"run_id": run["run_id"], "logical_date": run["logical_date"], "rows": rows.get(node.key)}
    return None


@functools.cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader([str(p) for p in TEMPLATES]), autoescape=select_autoescape(["html"]))
