"""The compiled Dataform graph as actions, and the selection rules of the Dataform API.

A selection mirrors InvocationConfig: included tags and targets, with or without
transitive dependencies and dependents. Nothing selected means everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from typing import Any

from lakehouse.errors import LakehouseError


class ProjectError(LakehouseError, ValueError):
    """The Dataform graph (an unknown dependency, a cycle) or a selection of its actions is not valid."""


class Targeted:
    """Something named by its target, `key` "dataset.name"."""

    key: str

    @property
    def dataset(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]


@dataclass(frozen=True)
class Action(Targeted):
    key: str  # "dataset.name": BigQuery's project is dropped, as the warehouse does
    kind: str  # table | view | incremental | operations | assertion | declaration
    file: str
    dependencies: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    query: str = ""
    incremental_query: str = ""
    pre_ops: tuple[str, ...] = ()
    post_ops: tuple[str, ...] = ()
    incremental_pre_ops: tuple[str, ...] = ()
    incremental_post_ops: tuple[str, ...] = ()
    unique_key: tuple[str, ...] = ()
    queries: tuple[str, ...] = ()  # operations
    disabled: bool = False
    protected: bool = False  # an incremental table that a full refresh must not rebuild


@dataclass
class Selection:
    tags: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()  # "dataset.name" or bare "name"
    include_dependencies: bool = False
    include_dependents: bool = False
    full_refresh: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class UnknownSelection(ProjectError):
    """A selection names a tag or an action the project does not have (a usage error: CLI exit 2, HTTP 400)."""


def target_key(target: dict[str, Any]) -> str:
    return f"{target['schema']}.{target['name']}"


def actions_from_graph(graph: dict[str, Any]) -> dict[str, Action]:
    actions: dict[str, Action] = {}
    for table in graph.get("tables", []):
        kind = table.get("type") or table.get("enumType", "table").lower()
        actions[target_key(table["target"])] = Action(
            key=target_key(table["target"]),
            kind=kind,
            file=table.get("fileName", "?"),
            dependencies=tuple(target_key(t) for t in table.get("dependencyTargets", [])),
            tags=tuple(table.get("tags", [])),
            query=table.get("query", ""),
            incremental_query=table.get("incrementalQuery", "") or table.get("query", ""),
            pre_ops=tuple(table.get("preOps", [])),
            post_ops=tuple(table.get("postOps", [])),
            incremental_pre_ops=tuple(table.get("incrementalPreOps", [])),
            incremental_post_ops=tuple(table.get("incrementalPostOps", [])),
            unique_key=tuple(table.get("uniqueKey", [])),
            disabled=bool(table.get("disabled")),
            protected=bool(table.get("protected")),
        )
    for operation in graph.get("operations", []):
        actions[target_key(operation["target"])] = Action(
            key=target_key(operation["target"]),
            kind="operations",
            file=operation.get("fileName", "?"),
            dependencies=tuple(target_key(t) for t in operation.get("dependencyTargets", [])),
            tags=tuple(operation.get("tags", [])),
            queries=tuple(operation.get("queries", [])),
            disabled=bool(operation.get("disabled")),
        )
    for assertion in graph.get("assertions", []):
        actions[target_key(assertion["target"])] = Action(
            key=target_key(assertion["target"]),
            kind="assertion",
            file=assertion.get("fileName", "?"),
            dependencies=tuple(target_key(t) for t in assertion.get("dependencyTargets", [])),
            tags=tuple(assertion.get("tags", [])),
            query=assertion.get("query", ""),
            disabled=bool(assertion.get("disabled")),
        )
    for declaration in graph.get("declarations", []):
        key = target_key(declaration["target"])
        actions[key] = Action(key=key, kind="declaration", file=declaration.get("fileName", "?"))
    return actions


def execution_order(actions: dict[str, Action]) -> list[str]:
    """Dependencies first; a dependency on an unknown target is an error naming the file."""
    graph = {}
    for key, action in actions.items():
        for dep in action.dependencies:
            if dep not in actions:
                raise ProjectError(f"{action.file}: {key} depends on {dep}, which the project does not define")
        graph[key] = set(action.dependencies)
    try:
        return list(TopologicalSorter(graph).static_order())
    except CycleError as error:
        raise ProjectError(f"the Dataform graph has a cycle: {' -> '.join(error.args[1])}") from None


def select(actions: dict[str, Action], selection: Selection) -> list[str]:
    """Keys to run, in execution order; an unknown tag or target is refused (it would select nothing)."""
    order = execution_order(actions)
    if not selection.tags and not selection.targets:
        chosen = set(actions)
    else:
        known_tags = {t for a in actions.values() for t in a.tags}
        unknown = [t for t in selection.tags if t not in known_tags]
        if unknown:
            raise UnknownSelection(f"unknown tag(s) {unknown}; the project's tags are {sorted(known_tags)}")
        chosen = {k for k, a in actions.items() if set(a.tags) & set(selection.tags)}
        for target in selection.targets:
            matches = [k for k in actions if k == target or k.split(".", 1)[1] == target]
            if not matches:
                raise UnknownSelection(f"unknown target {target!r}; known: {', '.join(sorted(actions))}")
            chosen.update(matches)
        if selection.include_dependencies:
            chosen |= _closure(chosen, lambda k: actions[k].dependencies)
        if selection.include_dependents:
            dependents: dict[str, set[str]] = {k: set() for k in actions}
            for key, action in actions.items():
                for dep in action.dependencies:
                    dependents[dep].add(key)
            chosen |= _closure(chosen, lambda k: dependents[k])
    return [k for k in order if k in chosen]


def _closure(start: set[str], neighbours: Callable[[str], Iterable[str]]) -> set[str]:
    seen, stack = set(start), list(start)
    while stack:
        for nxt in neighbours(stack.pop()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen
