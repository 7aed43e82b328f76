"""The Dataform API of the cloud twin: what the service does between our calls.

tests/support/dataform_fake.py answers the API's calls (and refuses what the service refuses); this
subclass also does the service's work. A compilation result compiles the workspace's files as
`winterdays dataform push` left them, with the pinned Dataform CLI, the request's vars and default
database; a workflow invocation runs the selected actions in BigQuery (the twin's BigQuery
endpoint) through the official client, as Dataform runs SQL in BigQuery: one query job per
statement, assertions as views whose rows fail the action.
"""

from __future__ import annotations

import json
import tempfile
import threading
from pathlib import Path

import grpc
import yaml
from dataform_fake import FakeDataform, State, _page
from google.cloud.dataform_v1.types import dataform as t

from lakehouse.transform.actions import Selection, actions_from_graph, select
from lakehouse.transform.compiler import CompilationError, compile_project
from lakehouse.transform.executor import Executor
from lakehouse.warehouse.bigquery import BigQueryWarehouse

ROOT = Path(__file__).resolve().parents[3]
KINDS = {"table": "relation", "view": "relation", "incremental": "relation", "operations": "operations",
         "assertion": "assertion", "declaration": "declaration"}
ActionState = t.WorkflowInvocationAction.State


class ScriptedBigQuery(BigQueryWarehouse):
    """Our BigQuery adapter, running an action's statements one query job each."""

    def run_script(self, statements: list[str]) -> list[int]:
        return [self.execute(statement) for statement in statements]


class TwinDataform(FakeDataform):
    def __init__(self, project: str):
        super().__init__()
        self.project = project
        self.graphs: dict[str, dict] = {}  # compilation result -> compiled graph
        self.invocations: dict[str, dict] = {}  # name -> {"invocation", "actions", "done"}

    def CreateCompilationResult(self, request: t.CreateCompilationResultRequest, context):
        result = super().CreateCompilationResult(request, context)
        if result.compilation_errors:
            return result
        config = request.compilation_result.code_compilation_config
        try:
            self.graphs[result.name] = self._compile(self.files[request.compilation_result.workspace],
                                                     dict(config.vars), config.default_database)
        except CompilationError as error:
            result.compilation_errors = [t.CompilationResult.CompilationError(message=str(error)[:4000])]
        return result

    def _compile(self, files: dict[str, bytes], variables: dict, database: str) -> dict:
        """The pushed tree with the pinned CLI: its core must be the one dataformCoreVersion names."""
        settings = yaml.safe_load(files["workflow_settings.yaml"])
        pinned = json.loads((ROOT / "dataform" / "package.json").read_text())["dependencies"]["@dataform/core"]
        if settings.pop("dataformCoreVersion") != pinned:
            raise CompilationError(f"the twin compiles with the pinned @dataform/core {pinned} only")
        with tempfile.TemporaryDirectory(prefix="twin-dataform-") as scratch:
            project = Path(scratch)
            for path, contents in files.items():
                (project / path).parent.mkdir(parents=True, exist_ok=True)
                (project / path).write_bytes(contents)
            (project / "workflow_settings.yaml").write_text(yaml.safe_dump(settings))
            (project / "package.json").write_bytes((ROOT / "dataform" / "package.json").read_bytes())
            (project / "node_modules").symlink_to(ROOT / "dataform" / "node_modules")
            return compile_project(project, variables, default_database=database)

    def QueryCompilationResultActions(self, request, context):
        graph = self.graphs.get(request.name)
        if graph is None:
            return super().QueryCompilationResultActions(request, context)
        actions = [t.CompilationResultAction(
            target=t.Target(database=self.project, schema=a.dataset, name=a.name), file_path=a.file,
            **{KINDS[a.kind]: {}}) for a in actions_from_graph(graph).values()]
        return _page(t.QueryCompilationResultActionsResponse, "compilation_result_actions", actions, request)

    def CreateWorkflowInvocation(self, request: t.CreateWorkflowInvocationRequest, context):
        compilation = request.workflow_invocation.compilation_result
        graph = self.graphs.get(compilation)
        if graph is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{compilation} not found")
        config = request.workflow_invocation.invocation_config
        actions = actions_from_graph(graph)
        targets = tuple(f"{x.schema}.{x.name}" for x in config.included_targets)
        unknown = [x for x in targets if x not in actions]
        if unknown:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"included targets {unknown} are not actions of "
                                                             f"{compilation}")
        selection = Selection(tags=tuple(config.included_tags), targets=targets,
                              include_dependencies=config.transitive_dependencies_included,
                              include_dependents=config.transitive_dependents_included,
                              full_refresh=config.fully_refresh_incremental_tables_enabled)
        invocation = t.WorkflowInvocation(request.workflow_invocation)
        invocation.name = f"{request.parent}/workflowInvocations/w{len(self.invocations) + 1}"
        invocation.state = State.RUNNING
        record = {"invocation": invocation, "actions": []}
        self.invocations[invocation.name] = record
        threading.Thread(target=self._run, args=(record, actions, select(actions, selection), selection),
                         daemon=True).start()
        return invocation

    def _run(self, record: dict, actions: dict, keys: list[str], selection: Selection) -> None:
        warehouse = ScriptedBigQuery(self.project)
        try:
            results = Executor(warehouse, workers=1).run(actions, keys, full_refresh=selection.full_refresh)
        finally:
            warehouse.close()
        record["actions"] = [t.WorkflowInvocationAction(
            target=t.Target(database=self.project, schema=r.target.split(".")[0], name=r.target.split(".")[1]),
            state=ActionState[r.state], failure_reason=r.error or "") for r in results]
        failed = any(r.state in ("FAILED", "SKIPPED") for r in results)
        record["invocation"].state = State.FAILED if failed else State.SUCCEEDED

    def GetWorkflowInvocation(self, request: t.GetWorkflowInvocationRequest, context):
        if request.name not in self.invocations:
            context.abort(grpc.StatusCode.NOT_FOUND, f"{request.name} not found")
        return t.WorkflowInvocation(self.invocations[request.name]["invocation"])

    def QueryWorkflowInvocationActions(self, request, context):
        return _page(t.QueryWorkflowInvocationActionsResponse, "workflow_invocation_actions",
                     self.invocations[request.name]["actions"], request)
