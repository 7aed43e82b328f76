"""The packages' imports, read from the source (module-level and inside functions): no cycle, and
every import points down: orchestrator -> mlops, generators -> lakehouse (README, Layout).

A submodule importing its own package's __init__ (the port it implements, e.g. lakehouse/warehouse/duckdb.py
importing lakehouse.warehouse) is the package idiom, not a cycle: that edge is left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("lakehouse", "orchestrator", "generators", "mlops")
# what each package may import of ours, besides itself
ALLOWED = {"lakehouse": set(), "generators": {"lakehouse"}, "mlops": {"lakehouse"},
           "orchestrator": {"lakehouse", "generators", "mlops"}}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for package in PACKAGES for p in sorted((ROOT / package).rglob("*.py"))}


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ours `name` imports anywhere in its file, each the most specific one that exists."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x, from ..a import b
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:  # `import a.b.c` of an attribute: the module holding it
                target = target.rpartition(".")[0]
            if target:
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    """Each module's imports of ours, minus itself and its own ancestors (the port idiom)."""
    found = modules()
    known = set(found)
    return {name: {t for t in imported(name, path, known) if t != name and not name.startswith(f"{t}.")}
            for name, path in found.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_from_every_module_and_its_function_level_imports():
    edges = graph()
    assert {"lakehouse.warehouse.duckdb", "orchestrator.cli", "mlops.registry.vertex"} <= set(edges)
    # a function-level import (the CLI's subcommands import what they run when they run)
    assert "lakehouse.transform.compiler" in edges["orchestrator.cli.dataform"]
    # the port idiom is left out: the adapter imports its package's __init__
    assert "lakehouse.warehouse" not in edges["lakehouse.warehouse.duckdb"]


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_cycles_are_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_import_points_down():
    def top(module: str) -> str:
        return module.split(".")[0]

    wrong = sorted(f"{source} imports {target}" for source, targets in graph().items() for target in targets
                   if top(target) != top(source) and top(target) not in ALLOWED[top(source)])
    assert wrong == []
