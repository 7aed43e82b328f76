"""Local adapter of the transform runner: the pinned Dataform CLI compiles, our executor runs DuckDB.

Compilation results and invocations are kept as JSON files under WINTERDAYS_HOME/dataform,
named like the API's resources, so the run ledger records them the same way in both modes.
An invocation runs to completion inside `invoke`; `wait` reads its stored result.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from lakehouse.pii import install_key
from lakehouse.settings import SettingsError
from lakehouse.transform import ActionReport, ActionState, InvocationResult, InvocationState, OnAction
from lakehouse.transform.actions import Selection, actions_from_graph, select
from lakehouse.transform.compiler import compile_project
from lakehouse.transform.executor import ActionResult, Executor
from lakehouse.warehouse import ScriptWarehouse, connect


class LocalTransformRunner:
    def __init__(self, project_dir: Path, warehouse_uri: str, state_dir: Path, schema_suffix: str = "",
                 workers: int | None = None, pii_key: str = ""):
        self.project_dir = Path(project_dir)
        self.warehouse_uri = warehouse_uri
        self.state_dir = Path(state_dir)
        self.schema_suffix = schema_suffix
        self.workers = workers  # concurrent actions; None: Executor's default
        self.pii_key = pii_key  # written to its key table before each invocation, never into SQL

    def compile(self, variables: dict[str, str]) -> str:
        graph = compile_project(self.project_dir, variables, schema_suffix=self.schema_suffix)
        body = json.dumps(graph, sort_keys=True)
        name = f"compilationResults/{hashlib.sha256(body.encode()).hexdigest()[:16]}"
        self._write(name, body)
        return name

    def graph(self, compilation: str) -> dict[str, Any]:
        graph: dict[str, Any] = json.loads(self._path(compilation).read_text())
        return graph

    def invoke(self, compilation: str, selection: Selection, on_action: OnAction | None = None) -> str:
        actions = actions_from_graph(self.graph(compilation))
        keys = select(actions, selection)

        def report(result: ActionResult, n: int, total: int) -> None:
            if on_action:
                on_action(ActionReport(n, total, result.target, result.kind, result.state, result.duration_s,
                                       result.rows, result.error))

        warehouse = connect(self.warehouse_uri)
        try:
            if not isinstance(warehouse, ScriptWarehouse):
                raise SettingsError(f"the local transform runner runs Dataform's scripts on DuckDB, not "
                                    f"{self.warehouse_uri}")
            install_key(warehouse, self.pii_key)
            results = Executor(warehouse, self.workers).run(actions, keys, full_refresh=selection.full_refresh,
                                                            on_result=report)
        finally:
            warehouse.close()
        failed = any(r.state in (ActionState.FAILED, ActionState.SKIPPED) for r in results)
        state = InvocationState.FAILED if failed else InvocationState.SUCCEEDED
        name = f"workflowInvocations/{uuid.uuid4().hex[:12]}"
        record = {"name": name, "compilation": compilation, "state": state,
                  "actions": [r.to_dict() for r in results]}
        self._write(name, json.dumps(record, default=str, indent=1))
        return name

    def wait(self, invocation: str, timeout_s: float = 0, on_action: OnAction | None = None) -> InvocationResult:
        """The stored result: the actions ran, and were reported, in `invoke`."""
        record = json.loads(self._path(invocation).read_text())
        return InvocationResult(name=record["name"], state=InvocationState(record["state"]), actions=record["actions"])

    def ready(self, timeout_s: float = 0) -> str:
        warehouse = connect(self.warehouse_uri)
        try:
            warehouse.query("SELECT 1 AS ok")
        finally:
            warehouse.close()
        return "ok"

    def _path(self, name: str) -> Path:
        return self.state_dir / f"{name}.json"

    def _write(self, name: str, body: str) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(body)
        tmp.replace(path)
