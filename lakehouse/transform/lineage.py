"""The compiled Dataform graph as lineage: each dataset's actions, what they read and feed, their
descriptions and columns from the SQLX config blocks, and the assertions that check them.

Used by `winterdays dataform compile --json`, `winterdays dataform ls`, `GET /docs` and
`winterdays docs --out DIR`. Assertions hang under what they check (Dataform's `parentAction`
for a table's own uniqueKey/nonNull/rowConditions, the dependencies for a standalone one).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lakehouse.transform.actions import Action, Targeted, actions_from_graph, execution_order, target_key


@dataclass
class Check:
    key: str
    file: str
    description: str = ""
    rule: str = ""  # uniqueKey | nonNull | rowConditions | custom


@dataclass
class Node(Targeted):
    key: str
    kind: str
    file: str
    tags: list[str]
    description: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # documented columns
    dependencies: list[str] = field(default_factory=list)
    dependents: list[str] = field(default_factory=list)
    assertions: list[Check] = field(default_factory=list)
    layer: int = 0  # longest path from a source: the graph's column


def lineage(graph: dict[str, Any]) -> dict[str, Node]:
    """Every action but the assertions, layer by layer (an execution order), with its assertions attached."""
    actions = actions_from_graph(graph)
    raw = _raw_by_key(graph)
    order = [k for k in execution_order(actions) if actions[k].kind != "assertion"]
    nodes = {k: _node(actions[k], raw.get(k, {})) for k in order}
    for key, node in nodes.items():
        node.dependencies = [d for d in node.dependencies if d in nodes]
        for dep in node.dependencies:
            nodes[dep].dependents.append(key)
        node.layer = 1 + max((nodes[d].layer for d in node.dependencies), default=-1)
    nodes = {k: nodes[k] for k in sorted(nodes, key=lambda k: (nodes[k].layer, k))}  # still dependencies first
    for assertion in graph.get("assertions", []):
        key = target_key(assertion["target"])
        parent = assertion.get("parentAction")
        checked = [target_key(parent)] if parent else [target_key(t) for t in assertion.get("dependencyTargets", [])]
        check = Check(key, assertion.get("fileName", "?"), _description(assertion), _rule(key, bool(parent)))
        for target in checked:
            if target in nodes:
                nodes[target].assertions.append(check)
    return nodes


def as_json(graph: dict[str, Any]) -> dict[str, Any]:
    """What `winterdays dataform compile --json` prints: the actions in order and the edges."""
    nodes = lineage(graph)
    return {
        "count": len(nodes),
        "actions": [{**{k: v for k, v in asdict(n).items() if k != "assertions"},
                     "assertions": [asdict(a) for a in n.assertions]} for n in nodes.values()],
        "edges": [[dep, key] for key, n in nodes.items() for dep in n.dependencies],
    }


def _raw_by_key(graph: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for section in ("tables", "operations", "declarations"):
        for item in graph.get(section, []):
            found[target_key(item["target"])] = item
    return found


def _node(action: Action, raw: dict[str, Any]) -> Node:
    descriptor = raw.get("actionDescriptor") or {}
    columns = {".".join(c.get("path", [])): c.get("description", "") for c in descriptor.get("columns", [])}
    return Node(action.key, action.kind, action.file, list(action.tags), descriptor.get("description", ""),
                columns, list(action.dependencies))


def _description(item: dict[str, Any]) -> str:
    return str((item.get("actionDescriptor") or {}).get("description", ""))


RULES = {"uniqueKey": "uniqueKey: no two rows share the config's unique key",
         "rowConditions": "nonNull and rowConditions: every row meets the config's conditions"}


def _rule(key: str, generated: bool) -> str:
    """What a generated assertion (from a table's `assertions` config) checks; a standalone one is custom."""
    found = next((r for r in RULES if f"_assertions_{r}" in key), None) if generated else None
    return RULES[found] if found else "custom"
