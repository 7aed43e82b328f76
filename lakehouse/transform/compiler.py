"""Compile the Dataform project with the pinned official CLI (`dataform compile --json`).

The CLI's `--vars=k=v,...` silently truncates a value at "=" or "," (a base64 key would
lose its tail), so vars are written into the workflow_settings.yaml of a scratch copy
of the project instead, where any value is safe. The copy costs ~20 ms.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml  # PyYAML comes with kfp

from lakehouse.errors import LakehouseError

PROJECT_FILES = ("definitions", "includes", "package.json", "package-lock.json", "workflow_settings.yaml")


class CompilationError(LakehouseError, RuntimeError):
    """The project does not compile; the message lists each error with its file."""


def cli_path(project_dir: Path) -> Path:
    cli = project_dir / "node_modules" / ".bin" / "dataform"
    if not cli.exists():
        raise CompilationError(
            f"the Dataform CLI is not installed in {project_dir}; run `npm ci` there (make does this for you)"
        )
    return cli


def compile_project(
    project_dir: Path, variables: dict[str, str], *, schema_suffix: str = "", default_database: str = "",
    timeout_s: float = 120,
) -> dict[str, Any]:
    """The compiled graph as JSON (tables, operations, assertions, declarations)."""
    project_dir = Path(project_dir).resolve()
    cli = cli_path(project_dir)
    with tempfile.TemporaryDirectory(prefix="winterdays-dataform-") as scratch:
        work = Path(scratch) / "project"
        work.mkdir()
        for name in PROJECT_FILES:
            source = project_dir / name
            if source.is_dir():
                shutil.copytree(source, work / name)
            elif source.exists():
                shutil.copy2(source, work / name)
        # The CLI's sandbox refuses modules reached through a symlink out of the project,
        # so the scratch copy gets its own @dataform/core (8 files, no dependencies).
        core = project_dir / "node_modules" / "@dataform" / "core"
        shutil.copytree(core, work / "node_modules" / "@dataform" / "core")
        _write_settings(work / "workflow_settings.yaml", variables)
        command = [str(cli), "compile", str(work), "--json"]
        if schema_suffix:
            command.append(f"--schema-suffix={schema_suffix}")
        if default_database:
            command.append(f"--default-database={default_database}")
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, cwd=work)
        except subprocess.TimeoutExpired:
            raise CompilationError(f"dataform compile took longer than {timeout_s:.0f} s") from None
    output = done.stdout.strip()
    try:
        graph = json.loads(output) if output else {}
    except json.JSONDecodeError:
        graph = {}
    errors = _errors(graph)
    if done.returncode != 0 or errors or not graph:
        detail = "\n".join(errors) or (done.stderr or done.stdout).strip()[-4000:]
        raise CompilationError(f"dataform compile failed:\n{detail}")
    return graph


def _write_settings(path: Path, variables: dict[str, str]) -> None:
    settings = yaml.safe_load(path.read_text()) or {}
    merged = {**(settings.get("vars") or {}), **{k: str(v) for k, v in variables.items()}}
    settings["vars"] = merged
    path.write_text(yaml.safe_dump(settings, sort_keys=False))


def _errors(graph: dict[str, Any]) -> list[str]:
    found = []
    for error in (graph.get("graphErrors") or {}).get("compilationErrors", []) or []:
        found.append(f"{error.get('fileName', '?')}: {error.get('message', error)}")
    return found
