"""gcp adapter of the transform runner: the Dataform API (google.cloud.dataform_v1) builds BigQuery.

compile  create_compilation_result from the workspace (or a git commitish / release config),
         with the run's vars; compilation errors stop here, before any invocation
invoke   create_workflow_invocation with the selection and the execution service account
wait     poll get_workflow_invocation with backoff until it ends or the timeout passes
         (then it is cancelled), then query_workflow_invocation_actions for each action;
         with `on_action`, each poll also queries the actions, to report those that ended

Every call retries a transient UNAVAILABLE with backoff. Retrying a create may start a
second invocation; that is harmless because every action is idempotent (CREATE OR
REPLACE, MERGE on unique keys).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.cloud import dataform_v1

from lakehouse.settings import Settings, SettingsError
from lakehouse.transform import (
    ACTION_ENDED,
    TERMINAL_STATES,
    ActionReport,
    InvocationResult,
    InvocationState,
    OnAction,
    TransformFailed,
)
from lakehouse.transform.actions import Selection
from lakehouse.transform.compiler import CompilationError

log = logging.getLogger(__name__)
REPOSITORY = re.compile(r"^projects/[^/]+/locations/[^/]+/repositories/[^/]+$")


def transient_retry(deadline_s: float = 120.0) -> api_retry.Retry:
    return api_retry.Retry(predicate=api_retry.if_exception_type(api_exceptions.ServiceUnavailable),
                           initial=0.5, maximum=10.0, multiplier=2.0, timeout=deadline_s)


class DataformTransformRunner:
    def __init__(self, client: dataform_v1.DataformClient, repository: str, *, workspace: str = "default",
                 git_commitish: str = "", release_config: str = "", service_account: str = "",
                 default_database: str = "", default_location: str = "", poll_initial_s: float = 2.0,
                 poll_max_s: float = 30.0, retry: api_retry.Retry | None = None,
                 sleep: Callable[[float], None] = time.sleep, install_key: Callable[[], None] | None = None):
        if not REPOSITORY.match(repository):
            raise SettingsError("the Dataform repository must be projects/P/locations/R/repositories/NAME, "
                                f"got {repository!r} (set WINTERDAYS_DATAFORM_REPOSITORY)")
        self.client = client
        self.repository = repository
        self.workspace = f"{repository}/workspaces/{workspace}"
        self.git_commitish = git_commitish
        self.release_config = release_config
        self.service_account = service_account
        self.default_database = default_database
        self.default_location = default_location  # BigQuery's; empty: workflow_settings.yaml's defaultLocation
        self.poll_initial_s, self.poll_max_s = poll_initial_s, poll_max_s
        self.retry = retry or transient_retry()
        self.sleep = sleep
        self.install_key = install_key  # writes the pseudonymisation key table (lakehouse/pii.py) first

    @classmethod
    def from_settings(cls, settings: Settings,
                      client: dataform_v1.DataformClient | None = None) -> DataformTransformRunner:
        return cls(
            client or dataform_v1.DataformClient(),
            settings.transform.repository,
            workspace=settings.transform.workspace,
            git_commitish=settings.transform.git_commitish,
            release_config=settings.transform.release_config,
            service_account=settings.transform.service_account,
            default_database=settings.gcp.project,
            default_location=settings.transform.bigquery_location,
            install_key=lambda: _install_key_in_bigquery(settings),
        )

    def ready(self, timeout_s: float = 10) -> str:
        self.client.get_repository(name=self.repository, timeout=timeout_s)
        return "ok"

    # -- compile -----------------------------------------------------------------------------
    def compile(self, variables: dict[str, str]) -> str:
        source = self._source()
        config = dataform_v1.CodeCompilationConfig(default_database=self.default_database,
                                                   default_location=self.default_location,
                                                   vars={k: str(v) for k, v in variables.items()})
        result = self.client.create_compilation_result(
            parent=self.repository,
            compilation_result=dataform_v1.CompilationResult(code_compilation_config=config, **source),
            retry=self.retry,
        )
        if result.compilation_errors:
            lines = [f"{e.path or '?'}: {e.message}" for e in result.compilation_errors]
            raise CompilationError(f"Dataform compilation {result.name} failed:\n" + "\n".join(lines))
        log.info("dataform compiled", extra={"compilation": result.name, **source})
        return result.name

    def _source(self) -> dict[str, Any]:
        if self.release_config:
            return {"release_config": f"{self.repository}/releaseConfigs/{self.release_config}"}
        if self.git_commitish:
            return {"git_commitish": self.git_commitish}
        return {"workspace": self.workspace}

    # -- invoke --------------------------------------------------------------------------------
    def invoke(self, compilation: str, selection: Selection, on_action: OnAction | None = None) -> str:
        """Starts the invocation; its actions run in Dataform, and `wait` reports them."""
        if self.install_key is not None:
            self.install_key()
        config = dataform_v1.InvocationConfig(
            included_tags=list(selection.tags),
            included_targets=self._targets(compilation, selection.targets),
            transitive_dependencies_included=selection.include_dependencies,
            transitive_dependents_included=selection.include_dependents,
            fully_refresh_incremental_tables_enabled=selection.full_refresh,
            service_account=self.service_account,
        )
        request = dataform_v1.WorkflowInvocation(compilation_result=compilation, invocation_config=config)
        invocation = self.client.create_workflow_invocation(parent=self.repository, workflow_invocation=request,
                                                            retry=self.retry)
        log.info("dataform invocation started", extra={"invocation": invocation.name})
        return invocation.name

    def _targets(self, compilation: str, wanted: tuple[str, ...]) -> list[dataform_v1.Target]:
        """'dataset.name' or a bare 'name', resolved against the compiled graph as the local runner does: a
        target names a dataset, which the user's bare name leaves out."""
        if not wanted:
            return []
        compiled = {f"{a.target.schema}.{a.target.name}": a.target for a in self._compilation_actions(compilation)}
        targets = []
        for name in wanted:
            matches = [key for key in compiled if name in (key, key.split(".", 1)[1])]
            if not matches:
                raise ValueError(f"unknown target {name!r}; known: {', '.join(sorted(compiled))}")
            targets += [dataform_v1.Target(compiled[key]) for key in matches]
        return targets

    # -- wait ------------------------------------------------------------------------------------
    def wait(self, invocation: str, timeout_s: float = 3600, on_action: OnAction | None = None) -> InvocationResult:
        deadline = time.monotonic() + timeout_s
        delay = self.poll_initial_s
        reported: set[str] = set()
        declared: dict[str, tuple[str, str]] | None = None
        while True:
            current = self.client.get_workflow_invocation(name=invocation, retry=self.retry)
            state = current.state.name
            if state in TERMINAL_STATES:
                break
            if on_action:
                declared = declared if declared is not None else self._compiled_actions(current.compilation_result)
                _report(self._actions(invocation, declared), reported, on_action)
            if time.monotonic() + delay > deadline:
                self.client.cancel_workflow_invocation(request={"name": invocation}, retry=self.retry)
                raise TransformFailed(f"Dataform invocation {invocation} was still {state} after {timeout_s:.0f} s; "
                                      "it has been cancelled. Run the same date again.")
            self.sleep(delay)
            delay = min(delay * 2, self.poll_max_s)
        if declared is None:
            declared = self._compiled_actions(current.compilation_result)
        actions = self._actions(invocation, declared)
        if on_action:
            _report(actions, reported, on_action)
        log.info("dataform invocation ended", extra={"invocation": invocation, "state": state})
        return InvocationResult(name=invocation, state=InvocationState(state), actions=actions)

    def _actions(self, invocation: str, declared: dict[str, tuple[str, str]]) -> list[dict[str, Any]]:
        found = []
        pages = self.client.query_workflow_invocation_actions(request={"name": invocation}, retry=self.retry)
        for action in pages:
            key = f"{action.target.schema}.{action.target.name}"
            kind, file = declared.get(key, ("action", "?"))
            timing = action.invocation_timing
            duration = None
            if timing.start_time and timing.end_time:
                duration = (timing.end_time - timing.start_time).total_seconds()
            found.append({
                "target": key, "kind": kind, "file": file, "state": action.state.name,
                "duration_s": duration, "rows": None,
                "error": f"{file}: {action.failure_reason}" if action.failure_reason else None,
            })
        return found

    def _compiled_actions(self, compilation: str) -> dict[str, tuple[str, str]]:
        """target -> (kind, SQLX file), so a failure names its file as the local runner does."""
        declared = {}
        for action in self._compilation_actions(compilation):
            kind = next((k for k in ("relation", "operations", "assertion", "declaration") if k in action), "action")
            declared[f"{action.target.schema}.{action.target.name}"] = (kind, action.file_path or "?")
        return declared

    def _compilation_actions(self, compilation: str) -> list[dataform_v1.CompilationResultAction]:
        if not compilation:
            return []
        return list(self.client.query_compilation_result_actions(request={"name": compilation}, retry=self.retry))


def _report(actions: list[dict[str, Any]], reported: set[str], on_action: OnAction) -> None:
    """Report the actions that ended since the last poll, numbered in the order they were seen to end."""
    for action in actions:
        if action["state"] in ACTION_ENDED and action["target"] not in reported:
            reported.add(action["target"])
            on_action(ActionReport(len(reported), len(actions), action["target"], action["kind"], action["state"],
                                   action["duration_s"], action["rows"], action["error"]))


def _install_key_in_bigquery(settings: Settings) -> None:
    """The key table, loaded (not queried: no SQL text holds the key) by the orchestrator's service account,
    the only writer of the secrets dataset (terraform/data_stores.tf); Dataform's reads it."""
    from lakehouse.pii import install_key
    from lakehouse.warehouse import connect

    warehouse = connect(f"bigquery://{settings.gcp.project}")
    try:
        install_key(warehouse, settings.general.pii_key)
    finally:
        warehouse.close()
