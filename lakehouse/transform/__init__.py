"""The transform runner port: compile the Dataform project, invoke it, wait for it.

It mirrors the Dataform API's flow (compilation result -> workflow invocation -> poll),
so the orchestrator's steps are the same in both modes:
  gcp    dataform_api.DataformTransformRunner   the Dataform service builds BigQuery
  local  local.LocalTransformRunner                the pinned CLI compiles, our executor runs DuckDB
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from lakehouse.errors import LakehouseError
from lakehouse.transform.actions import Selection


class InvocationState(StrEnum):
    """A workflow invocation's state, as the Dataform API names it (its transient CANCELING aside)."""

    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class ActionState(StrEnum):
    """The state of one action of an invocation that ended (the local executor's subset of the API's)."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"  # a dependency did not succeed
    DISABLED = "DISABLED"


TERMINAL_STATES = (InvocationState.SUCCEEDED, InvocationState.FAILED, InvocationState.CANCELLED)


ACTION_ENDED = ("SUCCEEDED", "FAILED", "SKIPPED", "DISABLED", "CANCELLED")


@dataclass(frozen=True)
class ActionReport:
    """One action that ended, as it ends: the `n`th of `total` in the invocation."""

    n: int
    total: int
    target: str
    kind: str  # table | incremental | view | operations | assertion (locally); relation | ... (Dataform API)
    state: str  # one of ACTION_ENDED
    duration_s: float | None = None
    rows: int | None = None
    error: str | None = None


OnAction = Callable[[ActionReport], None]


class TransformFailed(LakehouseError, RuntimeError):
    """The invocation ended FAILED or CANCELLED; the message names each failing action."""


@dataclass
class InvocationResult:
    name: str
    state: InvocationState
    actions: list[dict[str, Any]] = field(default_factory=list)  # target, kind, state, duration_s, rows, error, file

    @property
    def failures(self) -> list[dict[str, Any]]:
        return [a for a in self.actions if a.get("state") == ActionState.FAILED]

    def summary(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for action in self.actions:
            counts[action["state"]] = counts.get(action["state"], 0) + 1
        assertions = [a for a in self.actions if a.get("kind") == "assertion"]
        return {
            "invocation": self.name,
            "state": self.state,
            "actions": counts,
            "assertions_passed": sum(a["state"] == ActionState.SUCCEEDED for a in assertions),
            "assertions_failed": sum(a["state"] == ActionState.FAILED for a in assertions),
        }

    def raise_for_state(self) -> None:
        if self.state == InvocationState.SUCCEEDED:
            return
        lines = [f"{a['target']}: {a.get('error') or a['state']}" for a in self.failures] or [self.state]
        raise TransformFailed(f"Dataform invocation {self.name} ended {self.state}:\n  " + "\n  ".join(lines))


class TransformRunner(Protocol):
    def compile(self, variables: dict[str, str]) -> str:
        """Compile the project; returns the compilation result's name."""

    def invoke(self, compilation: str, selection: Selection, on_action: OnAction | None = None) -> str:
        """Start a workflow invocation; returns its name. A runner whose actions run here (local)
        calls `on_action` as each one ends."""

    def wait(self, invocation: str, timeout_s: float, on_action: OnAction | None = None) -> InvocationResult:
        """Poll until the invocation ends (or the timeout passes) and report each action; a runner
        whose actions run remotely (the Dataform API) calls `on_action` as its polls see each one end."""

    def ready(self, timeout_s: float) -> str:
        """"ok" when what the runner builds with answers (for /readyz); raises otherwise."""
