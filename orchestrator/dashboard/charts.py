"""Charts as inline SVG, drawn on the server: the dashboard needs no JavaScript, no CDN, no network.

Every chart is a <figure data-chart="NAME" data-points="N"> (N: the values drawn), so a browser
test can tell a chart with data from an empty one; with no data the figure holds the reason
instead of a drawing (data-points="0", data-empty).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 28  # plot margins, for the axis labels
MARKED_POINTS = 12
PALETTE = ("#2f6fb0", "#e0823d", "#3c9d5d", "#b84a62", "#7a5cb8", "#8c8c8c")
Format = Callable[[float], str]


def compact(value: float) -> str:
    """12,345 -> 12.3k: axis labels stay short."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.1f}{suffix}"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def percent(value: float) -> str:
    return f"{value:.0%}"


def figure(name: str, title: str, drawing: str, points: int, *, note: str = "", empty: str = "") -> Markup:
    """The chart's frame; `empty` is what the reader sees (and should do) when there is nothing to draw."""
    if not points:
        return Markup('<figure class="chart" data-chart="{}" data-points="0" data-empty="true"><figcaption>{}'
                      '</figcaption><p class="empty">{}</p></figure>').format(name, title, empty or "no data")
    drawn = Markup(drawing)  # noqa: S704 - the functions below build it, escaping every text they put in
    return Markup('<figure class="chart" data-chart="{}" data-points="{}"><figcaption>{}</figcaption>{}{}'
                  '</figure>').format(name, points, title, drawn,
                                      Markup('<p class="note">{}</p>').format(note) if note else "")


def _svg(body: list[str], height: int = HEIGHT) -> str:
    return (f'<svg viewBox="0 0 {WIDTH} {height}" role="img" xmlns="http://www.w3.org/2000/svg">'
            + "".join(body) + "</svg>")


def _text(x: float, y: float, label: object, anchor: str = "start", css: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" class="{css}">{escape(str(label))}</text>'


def _axis_top(largest: float) -> tuple[float, float]:
    """A round top and tick step for values up to `largest`: 391 -> (400, 100), 5,500 -> (6,000, 2,000)."""
    if largest <= 0:  # nothing above zero: a unit axis
        return 1.0, 0.25
    rough = largest / 4
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if rough <= m * power + 1e-12)
    return step * math.ceil(largest / step - 1e-9) or step, step


def _y_axis(top: float, step: float, scale: Callable[[float], float], fmt: Format) -> list[str]:
    lines = []
    for i in range(round(top / step) + 1):
        value = step * i
        y = scale(value)
        lines.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        lines.append(_text(LEFT - 6, y + 4, fmt(value), "end", "axis"))
    return lines


def _legend(names: Sequence[str], y: float) -> list[str]:
    parts, x = [], LEFT
    for i, name in enumerate(names):
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>')
        parts.append(_text(x + 14, y, name, css="legend"))
        x += 24 + 7 * len(name)
    return parts


def line_chart(name: str, title: str, x_labels: Sequence[str], series: dict[str, Sequence[float | None]], *,
               fmt: Format = compact, empty: str = "", note: str = "") -> Markup:
    """One line per series over the same x positions (days); None leaves a gap."""
    values = [v for line in series.values() for v in line if v is not None]
    if not x_labels or not values:
        return figure(name, title, "", 0, empty=empty)
    top, tick = _axis_top(max(values))
    plot_h = HEIGHT - TOP - BOTTOM - (14 if len(series) > 1 else 0)
    step = (WIDTH - LEFT - RIGHT) / max(len(x_labels) - 1, 1)
    x0 = LEFT if len(x_labels) > 1 else (WIDTH + LEFT - RIGHT) / 2  # one point: in the middle

    def y_of(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    body = _y_axis(top, tick, y_of, fmt)
    for i, (label, line) in enumerate(series.items()):
        points = " ".join(f"{x0 + step * j:.1f},{y_of(v):.1f}" for j, v in enumerate(line) if v is not None)
        body.append(f'<polyline points="{points}" fill="none" stroke="{PALETTE[i % len(PALETTE)]}" '
                    f'stroke-width="2"><title>{escape(label)}</title></polyline>')
        if len(x_labels) <= MARKED_POINTS:  # a line of few points (one, even) shows as dots
            body += [f'<circle cx="{x0 + step * j:.1f}" cy="{y_of(v):.1f}" r="3.5" '
                     f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(label)} {escape(x_labels[j])}: '
                     f'{escape(fmt(v))}</title></circle>' for j, v in enumerate(line) if v is not None]
    for j in sorted({0, len(x_labels) // 2, len(x_labels) - 1}):
        anchor = "middle" if len(x_labels) == 1 else "start" if j == 0 else "end" if j == len(x_labels) - 1 \
            else "middle"
        body.append(_text(x0 + step * j, TOP + plot_h + 16, x_labels[j], anchor, "axis"))
    if len(series) > 1:
        body += _legend(list(series), HEIGHT - 4)
    return figure(name, title, _svg(body), len(values), note=note)


def bar_chart(name: str, title: str, bars: Sequence[tuple[str, float]], *, fmt: Format = compact,
              empty: str = "", note: str = "", labels: Sequence[str] | None = None) -> Markup:
    """Horizontal bars, in the given order; `labels` replace the value printed after each bar."""
    if not bars:
        return figure(name, title, "", 0, empty=empty)
    row, label_w = 22, min(270, 8 + 7 * max(len(label) for label, _ in bars))
    height = TOP + row * len(bars) + 4
    top = max(max(v for _, v in bars), 1e-9)
    values = list(labels) if labels else [fmt(v) for _, v in bars]
    span = WIDTH - label_w - RIGHT - 12 - 7 * max(len(v) for v in values)  # room for the longest value
    body = []
    for i, (label, value) in enumerate(bars):
        y = TOP + row * i
        width = max(span * value / top, 1)
        body.append(_text(label_w - 6, y + 14, label, "end", "label"))
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row - 6}" '
                    f'fill="{PALETTE[0]}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>')
        body.append(_text(label_w + width + 6, y + 14, values[i], css="value"))
    return figure(name, title, _svg(body, height), len(bars), note=note)


def column_chart(name: str, title: str, columns: Sequence[tuple[str, float]], *, fmt: Format = compact,
                 empty: str = "", note: str = "") -> Markup:
    """Vertical bars side by side (a histogram): every column labelled under it."""
    if not columns:
        return figure(name, title, "", 0, empty=empty)
    top, tick = _axis_top(max(v for _, v in columns))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / len(columns)

    def y_of(v: float) -> float:
        return TOP + plot_h * (1 - v / top)

    body = _y_axis(top, tick, y_of, fmt)
    for i, (label, value) in enumerate(columns):
        x = LEFT + slot * i
        body.append(f'<rect x="{x + 2:.1f}" y="{y_of(value):.1f}" width="{max(slot - 4, 1):.1f}" '
                    f'height="{TOP + plot_h - y_of(value):.1f}" fill="{PALETTE[1]}"><title>{escape(label)}: '
                    f'{escape(fmt(value))}</title></rect>')
        if len(columns) <= 12 or i % 2 == 0:
            body.append(_text(x + slot / 2, HEIGHT - BOTTOM + 16, label, "middle", "axis"))
    return figure(name, title, _svg(body), len(columns), note=note)


def stacked_bars(name: str, title: str, rows: Sequence[tuple[str, dict[str, float]]], keys: Sequence[str], *,
                 fmt: Format = compact, empty: str = "", note: str = "") -> Markup:
    """One horizontal bar per row, split into `keys` (e.g. a run's steps), with a legend."""
    if not rows:
        return figure(name, title, "", 0, empty=empty)
    row, label_w = 22, min(270, 8 + 7 * max(len(label) for label, _ in rows))
    height = TOP + row * len(rows) + 26
    top = max(max(sum(parts.values()) for _, parts in rows), 1e-9)
    span = WIDTH - label_w - RIGHT - 60
    body, points = [], 0
    for i, (label, parts) in enumerate(rows):
        y, x = TOP + row * i, float(label_w)
        body.append(_text(label_w - 6, y + 14, label, "end", "label"))
        for k, key in enumerate(keys):
            value = parts.get(key, 0.0)
            if value <= 0:
                continue
            width = span * value / top
            body.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{max(width, 0.5):.1f}" height="{row - 6}" '
                        f'fill="{PALETTE[k % len(PALETTE)]}"><title>{escape(key)}: {escape(fmt(value))}</title></rect>')
            x += width
            points += 1
        body.append(_text(x + 6, y + 14, fmt(sum(parts.values())), css="value"))
    body += _legend(keys, height - 6)
    return figure(name, title, _svg(body, height), points, empty=empty, note=note)


def table(name: str, title: str, headers: Sequence[str], rows: Sequence[Sequence[object]], *,
          empty: str = "", note: str = "") -> Markup:
    """A plain table: cells are escaped text, or Markup for a cell that carries its own."""
    if not rows:
        return figure(name, title, "", 0, empty=empty)
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in cells) + "</tr>" for cells in rows)
    return figure(name, title, f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>", len(rows),
                  note=note)
