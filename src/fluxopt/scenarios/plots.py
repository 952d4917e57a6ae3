"""Small inline SVG charts for the comparison report: bars, grouped bars and lines.

Each function returns the SVG text of one chart, self-contained (no script, no external
style), sized ``WIDTH`` × ``HEIGHT`` and scaling with its container. Values that are missing
(``None`` or NaN) are left out. Axes start at zero for bars and span the data for lines,
with "nice" ticks (1, 2 or 5 times a power of ten).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

WIDTH, HEIGHT = 640, 300
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 32, 84
LEGEND_ROW = 16
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
Number = float | int | None


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round tick values covering [low, high]."""
    if not math.isfinite(low) or not math.isfinite(high):
        return [0.0, 1.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def bar_chart(labels: Sequence[str], values: Sequence[Number], title: str) -> str:
    """One bar per label."""
    return grouped_bars(labels, {"": list(values)}, title)


def grouped_bars(
    categories: Sequence[str], series: Mapping[str, Sequence[Number]], title: str
) -> str:
    """For each category, one bar per series (a legend names the series when several)."""
    numbers = [_value(v) for values in series.values() for v in values]
    present = [v for v in numbers if v is not None]
    ticks = nice_ticks(min([0.0, *present]), max([0.0, *present]) if present else 1.0)
    low, high = ticks[0], ticks[-1]
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    parts = _frame(title, ticks, low, high)
    slot = plot_w / max(len(categories), 1)
    bar_w = slot * 0.8 / max(len(series), 1)

    def y_of(value: float) -> float:
        return MARGIN_TOP + plot_h * (high - value) / (high - low)

    zero = y_of(0.0)
    for c, category in enumerate(categories):
        x0 = MARGIN_LEFT + c * slot + slot * 0.1
        for s, (name, values) in enumerate(series.items()):
            value = _value(values[c]) if c < len(values) else None
            if value is None:
                continue
            top, bottom = sorted((y_of(value), zero))
            parts.append(
                f'<rect x="{x0 + s * bar_w:.1f}" y="{top:.1f}" width="{bar_w * 0.9:.1f}" '
                f'height="{max(bottom - top, 0.5):.1f}" fill="{PALETTE[s % len(PALETTE)]}">'
                f"<title>{escape(str(category))}{' · ' + escape(name) if name else ''}: "
                f"{value:.4g}</title></rect>"
            )
        label_x = MARGIN_LEFT + (c + 0.5) * slot
        label_y = HEIGHT - MARGIN_BOTTOM + 12
        parts.append(
            f'<text x="{label_x:.1f}" y="{label_y}" font-size="10" text-anchor="end" '
            f'transform="rotate(-35 {label_x:.1f} {label_y})">{escape(_short(category))}</text>'
        )
    legend = _legend(list(series)) if len(series) > 1 else ([], 0)
    return _svg(parts + legend[0], legend[1])


def line_chart(
    series: Mapping[str, Sequence[tuple[float, Number]]], title: str, x_label: str
) -> str:
    """One line with markers per series, through its (x, y) points in x order."""
    points = {
        name: sorted((float(x), y) for x, v in values if (y := _value(v)) is not None)
        for name, values in series.items()
    }
    xs = [x for values in points.values() for x, _ in values]
    ys = [y for values in points.values() for _, y in values]
    if not xs:
        return _svg(_frame(title, [0.0, 1.0], 0.0, 1.0))
    x_ticks = nice_ticks(min(xs), max(xs))
    y_ticks = nice_ticks(min(ys), max(ys))
    x_low, x_high, y_low, y_high = x_ticks[0], x_ticks[-1], y_ticks[0], y_ticks[-1]
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    parts = _frame(title, y_ticks, y_low, y_high)

    def place(x: float, y: float) -> tuple[float, float]:
        return (
            MARGIN_LEFT + plot_w * (x - x_low) / (x_high - x_low),
            MARGIN_TOP + plot_h * (y_high - y) / (y_high - y_low),
        )

    for tick in x_ticks:
        px, _ = place(tick, y_low)
        parts.append(
            f'<text x="{px:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 14}" font-size="10" '
            f'text-anchor="middle">{tick:g}</text>'
        )
    parts.append(
        f'<text x="{MARGIN_LEFT + plot_w / 2:.1f}" y="{HEIGHT - MARGIN_BOTTOM + 32}" '
        f'font-size="11" text-anchor="middle">{escape(x_label)}</text>'
    )
    for s, (name, values) in enumerate(points.items()):
        colour = PALETTE[s % len(PALETTE)]
        placed = [place(x, y) for x, y in values]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in placed)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for (px, py), (x, y) in zip(placed, values, strict=True):
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)}: {x:g} → {y:.4g}</title></circle>"
            )
    legend = _legend(list(points)) if len(points) > 1 else ([], 0)
    return _svg(parts + legend[0], legend[1])


def _frame(title: str, ticks: list[float], low: float, high: float) -> list[str]:
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    parts = [
        f'<text x="{MARGIN_LEFT}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>'
    ]
    for tick in ticks:
        y = MARGIN_TOP + plot_h * (high - tick) / (high - low) if high > low else MARGIN_TOP
        parts.append(
            f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#ddd"/>'
        )
        parts.append(
            f'<text x="{MARGIN_LEFT - 6}" y="{y + 3:.1f}" font-size="10" '
            f'text-anchor="end">{tick:g}</text>'
        )
    return parts


def _legend(names: list[str]) -> tuple[list[str], int]:
    """Legend entries below the chart, wrapped into rows; the parts and the rows used."""
    parts = []
    x, row = MARGIN_LEFT, 0
    for s, name in enumerate(names):
        label = _short(name, 40)
        width = 24 + 6 * len(label)
        if x + width > WIDTH and x > MARGIN_LEFT:
            x, row = MARGIN_LEFT, row + 1
        y = HEIGHT + row * LEGEND_ROW
        colour = PALETTE[s % len(PALETTE)]
        parts.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/>')
        parts.append(f'<text x="{x + 14}" y="{y + 9}" font-size="10">{escape(label)}</text>')
        x += width
    return parts, row + 1


def _svg(parts: list[str], legend_rows: int = 0) -> str:
    body = "\n".join(parts)
    height = HEIGHT + legend_rows * LEGEND_ROW + (4 if legend_rows else 0)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" style="max-width:{WIDTH}px" font-family="sans-serif">\n{body}\n</svg>'
    )


def _value(value: Number) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _short(text: str, limit: int = 20) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
