"""How runs read for people: the closing summary of a run, the `status` list and `status RUN_ID`.

Machines get the same records as JSON (`--json`, or stdout not a terminal).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

NO_COUNT = "-"
NO_COUNT_NOTE = (f"{NO_COUNT}: no row count (a view, or a statement that reports none; "
                 "ledgers before this version wrote -1)")


def wants_json(args: argparse.Namespace) -> bool:
    return bool(getattr(args, "json", False)) or not sys.stdout.isatty()


def step_names(run: Mapping[str, Any]) -> list[str]:
    """The run's steps in the order they run (the ledger's map comes back in any order)."""
    return [n for n in run.get("options", {}).get("steps", []) if n in run.get("steps", {})] or list(run["steps"])


def duration(run: Mapping[str, Any]) -> float:
    """Seconds spent in the run's steps, over all its attempts."""
    return sum(s.get("duration_s") or 0 for s in run.get("steps", {}).values())


def options_text(run: Mapping[str, Any]) -> str:
    """The run's options as the flags that ask for them."""
    options = run.get("options", {})
    flags = [f"--{k.replace('_', '-')}" for k in ("full_export", "full_refresh") if options.get(k)]
    if options.get("tags"):
        flags.append("--tags " + ",".join(options["tags"]))
    steps = options.get("steps") or []
    if steps and len(steps) < 5:
        flags.append("steps " + ",".join(steps))
    return " ".join(flags) or "-"


def _step_mark(state: str) -> str:
    return {"SUCCEEDED": "ok", "FAILED": "FAILED", "RUNNING": "running", "PENDING": "pending"}.get(state, state)


def run_list(runs: list[Any]) -> str:
    header = f"{'RUN ID':<18} {'DATE':<10}  {'STATE':<9}  {'DURATION':>8}  {'TRY':>3}  {'STEPS':<52} OPTIONS"
    lines = [header]
    for run in runs:
        steps = " ".join(f"{n}:{_step_mark(run['steps'][n]['state'])}" for n in step_names(run))
        lines.append(f"{run['run_id']:<18} {run['logical_date']:<10}  {run['state']:<9}  "
                     f"{_seconds(duration(run)):>8}  {run.get('attempt', 1):>3}  {steps:<52} {options_text(run)}")
    if not runs:
        lines.append("(no runs)")
    return "\n".join(lines)


def describe(run: Mapping[str, Any], log_path: Path | None = None) -> str:
    """One run, as `gcloud run jobs executions describe` reads: the run, then each step, then the rows."""
    from orchestrator.ledger import public

    run = public(run)
    lines = [f"Run {run['run_id']} for {run['logical_date']}",
             f"  State:     {run['state']} (attempt {run.get('attempt', 1)}, trigger {run.get('trigger', '?')})",
             f"  Created:   {run.get('created_at', '-')}",
             f"  Ended:     {run.get('ended_at', '-')}",
             f"  Duration:  {_seconds(duration(run))} in steps",
             f"  Options:   {options_text(run)}"]
    if run.get("error"):
        lines.append(f"  Error:     {run['error'].splitlines()[0]}")
    lines.append("Steps:")
    for name in step_names(run):
        step = run["steps"][name]
        took = _seconds(step["duration_s"]) if step.get("duration_s") is not None else NO_COUNT
        lines.append(f"  {name:<8} {step['state']:<9} {took:>8}  {_step_detail(name, step)}")
    rows = (run["steps"].get("wait", {}).get("outputs") or {}).get("rows") or {}
    if rows:
        lines.append("Rows written (each table's main statement; views and assertions report none):")
        lines += [f"  {target:<60} {_count(n):>10}" for target, n in sorted(rows.items())]
        if any(n is None or n < 0 for n in rows.values()):
            lines.append(f"  {NO_COUNT_NOTE}")
    if log_path and log_path.exists():
        lines.append(f"Log: {log_path}")
    return "\n".join(lines)


def _step_detail(name: str, step: Mapping[str, Any]) -> str:
    out = step.get("outputs") or {}
    if step.get("error"):
        return str(step["error"]).splitlines()[0][:160]
    if name == "export" and out:
        return (f"exported {out.get('exported', 0):,}, rejected {out.get('rejected', 0):,}, "
                f"{out.get('partitions', 0)} partition(s), watermark {out.get('watermark') or '-'}")
    if name in ("compile", "invoke"):
        return str(out.get("compilation") or out.get("invocation") or "")
    if name == "wait" and out:
        counts = ", ".join(f"{k.lower()} {v}" for k, v in sorted((out.get("actions") or {}).items()))
        return (f"{sum((out.get('actions') or {}).values())} actions ({counts}); assertions passed "
                f"{out.get('assertions_passed', 0)}, failed {out.get('assertions_failed', 0)}")
    if name == "churn" and out:
        return str(out.get("summary", ""))
    return ""


def closing(run: Mapping[str, Any], outcome: str, tally: Counter[str], log_path: Path) -> str:
    """The lines after a run, as dbt ends a build: the counts, the gate's verdict, where the detail is."""
    took = _seconds(duration(run))
    lines = ["", f"Run {run['run_id']} for {run['logical_date']}: {run['state']} ({outcome}, attempt "
                 f"{run.get('attempt', 1)}, {took} in steps)"]
    if tally:
        lines.append("Dataform: " + "  ".join(f"{word}={tally.get(word, 0)}" for word in
                                              ("OK", "PASS", "FAIL", "ERROR", "SKIP")) +
                     f"  TOTAL={sum(tally.values())}")
    churn = run.get("steps", {}).get("churn", {})
    if churn.get("state") == "SUCCEEDED":
        lines.append(f"Churn gate: {(churn.get('outputs') or {}).get('summary', 'no verdict recorded')}")
    if run.get("error"):
        lines.append(f"Error: {run['error']}")
    lines.append(f"Log: {log_path}")
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < 120 else f"{value / 60:.1f} min"


def _count(n: int | None) -> str:
    return NO_COUNT if n is None or n < 0 else f"{n:,}"
