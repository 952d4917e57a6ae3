"""``report.html``: one self-contained page per batch (inline CSS and SVG, no network).

It shows the summary's figures and two kinds of plots drawn by :mod:`fluxopt.report.svg`:

- the flux trajectory of each holder: cumulative target (dashed) and oriented units after
  each batch of the year, with the band target ± tolerance;
- quota attainment: for each quota rule counted per EPCI or per holder, one bar per group
  with the rule's level marked.

A short inline script counts the plots the browser laid out and writes the count into the
page (``data-plots-rendered`` on ``<body>``), which the browser test reads back.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from fluxopt import __version__
from fluxopt.report.svg import PALETTE, Line, bar_chart, line_chart

TEMPLATE = "report.html.j2"
CHARTED = ("epci", "holder")
"""Quota groupings drawn as bar charts (per-residence rules stay in the table)."""


def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _pct(value: object, digits: int = 0) -> str:
    if not isinstance(value, int | float) or math.isnan(float(value)):
        return "-"
    return f"{float(value):.{digits}%}"


def _num(value: object) -> str:
    if not isinstance(value, int | float) or math.isnan(float(value)):
        return "-"
    return f"{float(value):,.2f}"


def flux_charts(trajectory: pd.DataFrame) -> list[str]:
    """One line chart per holder: cumulative target vs oriented by month."""
    if trajectory.empty:
        return []
    months = sorted(trajectory["month"].unique())
    charts = []
    for holder_id, rows in trajectory.groupby("holder_id", sort=True):
        rows = rows.set_index("month").reindex(months).ffill().fillna(0.0)
        target = rows["target"].astype(float).tolist()
        tolerance = rows["tolerance"].astype(float).tolist()
        lines = [
            Line("target", target, PALETTE[0], dashed=True),
            Line("oriented", rows["oriented"].astype(float).tolist(), PALETTE[1]),
        ]
        band = (
            [max(t - d, 0.0) for t, d in zip(target, tolerance, strict=True)],
            [t + d for t, d in zip(target, tolerance, strict=True)],
        )
        charts.append(
            line_chart(
                f"Flux: {holder_id}",
                months,
                lines,
                band=band,
                data={"kind": "flux-trajectory", "holder": str(holder_id)},
            )
        )
    return charts


def quota_charts(quotas: pd.DataFrame) -> list[str]:
    """One bar chart per quota rule counted per EPCI or per holder."""
    if quotas.empty:
        return []
    charts = []
    for rule, rows in quotas[quotas["per"].isin(CHARTED)].groupby("rule", sort=False):
        charts.append(
            bar_chart(
                f"{rule} (per {rows['per'].iloc[0]})",
                rows["group"].astype(str).tolist(),
                rows["ratio"].astype(float).fillna(0.0).tolist(),
                rows["level"].astype(float).tolist(),
                at_least=bool((rows["sense"] == "at_least").all()),
                data={"kind": "quota-attainment", "rule": str(rule)},
            )
        )
    return charts


def render_report(summary: Mapping[str, Any]) -> str:
    """The page's HTML text for a batch summary (see :func:`batch_summary`)."""
    trajectory = pd.DataFrame(summary.get("trajectory", []))
    quotas = pd.DataFrame(summary.get("quotas", []))
    flux = flux_charts(trajectory)
    bars = quota_charts(quotas)
    template = _environment().get_template(TEMPLATE)
    return template.render(
        s=summary,
        # the charts are drawn by fluxopt.report.svg, which escapes every text it writes
        flux_charts=[Markup(c) for c in flux],
        quota_charts=[Markup(c) for c in bars],
        plots_expected=len(flux) + len(bars),
        pct=_pct,
        num=_num,
        version=__version__,
    )


def write_report(path: Path, summary: Mapping[str, Any]) -> Path:
    """Write ``report.html`` for a batch summary."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(summary), encoding="utf-8")
    return path
