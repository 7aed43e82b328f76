"""The lineage graph as inline SVG, drawn on the server: no script, like the dashboard's charts.

Columns are the graph's layers (the longest path from a source), so every edge points right;
within a column, an action sits near the mean row of what it reads, which keeps edges short.
Each box links to the action's section of the page.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import mean

from markupsafe import Markup, escape

from lakehouse.transform.lineage import Node

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 210, 34, 64, 10, 12
FILLS = {"winter_days_staging": ("#e0f2fe", "#0369a1"), "winter_days_warehouse": ("#fef3c7", "#b45309")}
OTHER = ("#f1f5f9", "#475569")


def positions(nodes: dict[str, Node]) -> dict[str, tuple[float, float]]:
    """Top-left corner of each action's box."""
    layers: dict[int, list[Node]] = defaultdict(list)
    for node in nodes.values():
        layers[node.layer].append(node)
    tallest = max((len(v) for v in layers.values()), default=0)
    rows: dict[str, float] = {}
    found: dict[str, tuple[float, float]] = {}
    for layer in sorted(layers):
        members = sorted(layers[layer], key=lambda n: (mean(rows[d] for d in n.dependencies)
                                                       if n.dependencies else -1.0, n.key))
        offset = (tallest - len(members)) / 2  # centre the column
        for index, node in enumerate(members):
            rows[node.key] = index + offset
            found[node.key] = (PAD + layer * (BOX_W + GAP_X), PAD + (index + offset) * (BOX_H + GAP_Y))
    return found


def svg(nodes: dict[str, Node]) -> Markup:
    where = positions(nodes)
    width = max((x for x, _ in where.values()), default=0) + BOX_W + PAD
    height = max((y for _, y in where.values()), default=0) + BOX_H + PAD
    edges = [_edge(where[dep], where[key]) for key, node in nodes.items() for dep in node.dependencies]
    boxes = [_box(node, *where[key]) for key, node in nodes.items()]
    return Markup(  # noqa: S704 - built here, escaping every name it puts in
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="Dataform lineage: '
        f'{len(nodes)} actions, {len(edges)} dependencies" data-edges="{len(edges)}">'
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#9aa5b1"/></marker></defs>'
        + "".join(edges) + "".join(boxes) + "</svg>")


def _edge(source: tuple[float, float], target: tuple[float, float]) -> str:
    x1, y1 = source[0] + BOX_W, source[1] + BOX_H / 2
    x2, y2 = target[0], target[1] + BOX_H / 2
    middle = (x1 + x2) / 2
    return (f'<path class="edge" d="M{x1:.1f},{y1:.1f} C{middle:.1f},{y1:.1f} {middle:.1f},{y2:.1f} '
            f'{x2 - 1:.1f},{y2:.1f}" fill="none" stroke="#9aa5b1" stroke-width="1" marker-end="url(#arrow)"/>')


def _box(node: Node, x: float, y: float) -> str:
    fill, stroke = FILLS.get(node.dataset, OTHER)
    checks = f" · {len(node.assertions)} assertion{'s' * (len(node.assertions) != 1)}" if node.assertions else ""
    return (f'<a href="#{escape(node.key)}"><g class="node" data-action="{escape(node.key)}">'
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{BOX_W}" height="{BOX_H}" rx="4" fill="{fill}" stroke="{stroke}"/>'
            f'<text x="{x + 8:.1f}" y="{y + 14:.1f}" class="name">{escape(node.name)}</text>'
            f'<text x="{x + 8:.1f}" y="{y + 27:.1f}" class="axis">{escape(node.kind)}{checks}</text></g></a>')
