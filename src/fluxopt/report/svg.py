"""Plain inline SVG charts for the HTML report: lines over months and bars against a level.

No plotting library is needed: each chart is a small ``<svg>`` element with a class
(``plot`` plus the chart's kind) that the report's page and its test look for. Values map
linearly to the drawing area, :math:`y_{px} = top + h (1 - (v - v_{min}) / (v_{max} -
v_{min}))`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 360, 200
MARGIN = {"left": 44, "right": 12, "top": 28, "bottom": 40}
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")


@dataclass(frozen=True)
class Line:
    """One series of a line chart: a name, one value per x label, and how it is drawn."""

    name: str
    values: Sequence[float]
    colour: str = PALETTE[0]
    dashed: bool = False


def nice_top(high: float, steps: int = 4) -> float:
    """The smallest round number at or above ``high`` that ``steps`` round steps reach.

    Steps are 1, 2, 2.5 or 5 times a power of ten, so tick labels read well.
    """
    if high <= 0:
        return 1.0
    raw = high / steps
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw - 1e-12)
    return step * steps


def _scale(value: float, low: float, high: float, start: float, length: float) -> float:
    span = high - low or 1.0
    return start + length * (value - low) / span


def _frame(kind: str, title: str, data: str, width: int = WIDTH) -> list[str]:
    return [
        f'<svg class="plot {kind.strip()}" {data}xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {width} {HEIGHT}" width="{width}" height="{HEIGHT}" role="img">',
        f"<title>{escape(title)}</title>",
        f'<text x="{width / 2:.0f}" y="16" text-anchor="middle" class="plot-title">'
        f"{escape(title)}</text>",
    ]


def _y_axis(low: float, high: float, percent: bool, width: int = WIDTH) -> list[str]:
    left, top = MARGIN["left"], MARGIN["top"]
    inner_h = HEIGHT - top - MARGIN["bottom"]
    out = []
    for step in range(5):
        value = low + (high - low) * step / 4
        y = top + inner_h - _scale(value, low, high, 0, inner_h)
        label = f"{value:.0%}" if percent else f"{value:g}"
        out.append(
            f'<line class="grid" x1="{left}" x2="{width - MARGIN["right"]}" '
            f'y1="{y:.1f}" y2="{y:.1f}"/>'
            f'<text x="{left - 4}" y="{y + 3:.1f}" text-anchor="end" class="tick">{label}</text>'
        )
    return out


def line_chart(
    title: str,
    labels: Sequence[str],
    lines: Sequence[Line],
    band: tuple[Sequence[float], Sequence[float]] | None = None,
    data: dict[str, str] | None = None,
) -> str:
    """A line chart over categorical x labels (months), with an optional shaded band."""
    attributes = "".join(f'data-{k}="{escape(v)}" ' for k, v in (data or {}).items())
    values = [v for line in lines for v in line.values]
    if band is not None:
        values += list(band[0]) + list(band[1])
    low, high = min([0.0, *values]), nice_top(max([1.0, *values]))
    left, top = MARGIN["left"], MARGIN["top"]
    inner_w = WIDTH - left - MARGIN["right"]
    inner_h = HEIGHT - top - MARGIN["bottom"]
    count = max(len(labels), 1)

    def x(i: int) -> float:
        return left + (inner_w * (i + 0.5) / count)

    def y(v: float) -> float:
        return top + inner_h - _scale(v, low, high, 0, inner_h)

    out = _frame("line-chart " + (data or {}).get("kind", ""), title, attributes)
    out += _y_axis(low, high, percent=False)
    if band is not None and labels:
        upper = [f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(band[1])]
        lower = [f"{x(i):.1f},{y(v):.1f}" for i, v in reversed(list(enumerate(band[0])))]
        out.append(f'<polygon class="band" points="{" ".join(upper + lower)}"/>')
    for line in lines:
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(line.values))
        dash = ' stroke-dasharray="5,4"' if line.dashed else ""
        out.append(
            f'<polyline class="series" data-series="{escape(line.name)}" points="{points}" '
            f'fill="none" stroke="{line.colour}" stroke-width="2"{dash}/>'
        )
        for i, v in enumerate(line.values):
            out.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{line.colour}"/>')
    for i, label in enumerate(labels):
        out.append(
            f'<text x="{x(i):.1f}" y="{HEIGHT - MARGIN["bottom"] + 14}" text-anchor="middle" '
            f'class="tick">{escape(label)}</text>'
        )
    out += _legend([(line.name, line.colour, line.dashed) for line in lines])
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    levels: Sequence[float],
    at_least: bool = True,
    data: dict[str, str] | None = None,
) -> str:
    """Bars of ratios in [0, 1] with each bar's level marked by a dashed line."""
    attributes = "".join(f'data-{k}="{escape(v)}" ' for k, v in (data or {}).items())
    low, high = 0.0, nice_top(max([1.0, *values]))
    left, top = MARGIN["left"], MARGIN["top"]
    width_px = max(WIDTH, left + MARGIN["right"] + 56 * len(labels))
    inner_w = width_px - left - MARGIN["right"]
    inner_h = HEIGHT - top - MARGIN["bottom"]
    count = max(len(labels), 1)
    slot = inner_w / count
    out = _frame("bar-chart", title, attributes, width_px)
    out += _y_axis(low, high, percent=True, width=width_px)
    for i, (label, value, level) in enumerate(zip(labels, values, levels, strict=True)):
        x0 = left + slot * i + slot * 0.15
        width = slot * 0.7
        y_value = top + inner_h - _scale(value, low, high, 0, inner_h)
        y_level = top + inner_h - _scale(level, low, high, 0, inner_h)
        met = value >= level - 1e-9 if at_least else value <= level + 1e-9
        state = "met" if met else "unmet"
        out.append(
            f'<rect class="bar {state}" data-group="{escape(label)}" x="{x0:.1f}" '
            f'y="{y_value:.1f}" width="{width:.1f}" height="{top + inner_h - y_value:.1f}">'
            f"<title>{escape(label)}: {value:.0%} (level {level:.0%})</title></rect>"
        )
        out.append(
            f'<line class="level" x1="{x0 - 3:.1f}" x2="{x0 + width + 3:.1f}" '
            f'y1="{y_level:.1f}" y2="{y_level:.1f}" stroke-dasharray="4,3"/>'
        )
        limit = max(int(slot / 6), 4)
        short = label if len(label) <= limit else label[: limit - 1] + "…"
        out.append(
            f'<text x="{x0 + width / 2:.1f}" y="{HEIGHT - MARGIN["bottom"] + 14}" '
            f'text-anchor="middle" class="tick">{escape(short)}</text>'
        )
    out += _legend([("attained", "#4e79a7", False), ("level", "#333333", True)])
    out.append("</svg>")
    return "\n".join(out)


def _legend(entries: Sequence[tuple[str, str, bool]]) -> list[str]:
    out = []
    x = MARGIN["left"]
    y = HEIGHT - 10
    for name, colour, dashed in entries:
        dash = ' stroke-dasharray="5,4"' if dashed else ""
        out.append(
            f'<line x1="{x}" x2="{x + 18}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" '
            f'stroke-width="2"{dash}/><text x="{x + 22}" y="{y}" class="legend">'
            f"{escape(name)}</text>"
        )
        x += 30 + 7 * len(name)
    return out
