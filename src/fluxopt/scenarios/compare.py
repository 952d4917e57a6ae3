"""The comparison of a sweep: one table (``compare.csv``) and one page (``compare.html``).

The table has one row per scenario with the columns of :mod:`fluxopt.scenarios.task`, the
headline figures first, then the flux position per holder, the quota attainment per group,
the overrides, and the error of a failed scenario. The page shows the headline table, bar
charts of the objective, units filled and priority households housed, each holder's flux
attainment, each quota group's attainment, trade-off curves (a figure against every numeric
override that takes three values or more, one line per combination of the other
overrides), and any extra sections (the price of each rule, a quota's trade-off).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from fluxopt.cells import write_csv
from fluxopt.scenarios.plots import bar_chart, grouped_bars, line_chart

HEADLINE = (
    "scenario",
    "kind",
    "status",
    "objective",
    "bound",
    "gap",
    "seconds",
    "units",
    "units_filled",
    "units_left",
    "priority_housed",
    "mean_wait_housed",
    "violations",
    "quota_groups_unmet",
)
HIDDEN = ("key", "worker_pid")
COUNTS = (
    "units",
    "units_filled",
    "units_left",
    "priority_housed",
    "violations",
    "quota_groups_unmet",
    "months",
    "monthly_violations",
)
PREFIX_ORDER = ("flux_attainment:", "flux_gap:", "flux_oriented:", "flux_target:", "quota:")
MAX_GROUPED_SERIES = 10
TEMPLATE = "compare.html.j2"


@dataclass
class Section:
    """An extra part of the page: a title, a sentence, a table and charts."""

    title: str
    text: str = ""
    table: pd.DataFrame | None = None
    charts: list[str] = field(default_factory=list)


def comparison_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with their columns in report order (headline, flux, quotas, overrides)."""
    columns = [str(c) for c in rows.columns if c not in HIDDEN]
    ordered = [c for c in HEADLINE if c in columns]
    for prefix in PREFIX_ORDER:
        ordered += sorted(c for c in columns if c.startswith(prefix))
    ordered += sorted(c for c in columns if c.startswith("param:"))
    ordered += [c for c in ("changes", "error") if c in columns]
    ordered += [c for c in columns if c not in ordered]
    table = rows[ordered].reset_index(drop=True)
    for column in COUNTS:
        if column in table:
            table[column] = pd.to_numeric(table[column], errors="coerce").round().astype("Int64")
    return table


def write_reports(
    rows: pd.DataFrame,
    out: Path,
    title: str,
    sections: Sequence[Section] = (),
    description: str = "",
) -> dict[str, Path]:
    """Write ``compare.csv`` and ``compare.html`` into ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    table = comparison_table(rows)
    csv_path = out / "compare.csv"
    write_csv(table, csv_path)
    html_path = out / "compare.html"
    html_path.write_text(render_html(table, title, sections, description), encoding="utf-8")
    return {"csv": csv_path, "html": html_path}


def render_html(
    table: pd.DataFrame, title: str, sections: Sequence[Section] = (), description: str = ""
) -> str:
    """The comparison page (see the module docstring)."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["cell"] = format_cell
    done = table[table["status"] != "error"] if "status" in table else table
    names = done["scenario"].astype(str).tolist() if "scenario" in done else []
    charts = [
        bar_chart(names, _numbers(done, column), label)
        for column, label in (
            ("objective", "Objective (loss, lower is better)"),
            ("units_filled", "Units filled"),
            ("priority_housed", "Priority households housed"),
        )
        if column in done
    ]
    flux = pivot(done, "flux_attainment:")
    if not flux.empty and len(names) <= MAX_GROUPED_SERIES:
        charts.append(
            grouped_bars(
                list(flux.index),
                {name: flux[name].tolist() for name in flux.columns},
                "Flux attainment per holder (oriented / target)",
            )
        )
    headline = table[[c for c in (*HEADLINE, "changes", "error") if c in table]]
    headline = headline.loc[:, [not _empty(headline[c]) for c in headline.columns]]
    quotas = pivot(done, "quota:")
    return environment.get_template(TEMPLATE).render(
        title=title,
        description=description,
        scenarios=len(table),
        failed=int((table["status"] == "error").sum()) if "status" in table else 0,
        headline=_records(headline),
        headline_columns=list(headline.columns),
        charts=charts,
        curves=tradeoff_charts(done),
        flux=_records(flux.reset_index()) if not flux.empty else [],
        flux_columns=["holder", *flux.columns] if not flux.empty else [],
        quotas=_records(quotas.reset_index()) if not quotas.empty else [],
        quota_columns=["rule : group", *quotas.columns],
        sections=[
            {
                "title": s.title,
                "text": s.text,
                "columns": [] if s.table is None else [str(c) for c in s.table.columns],
                "rows": [] if s.table is None else _records(s.table),
                "charts": s.charts,
            }
            for s in sections
        ],
    )


def pivot(table: pd.DataFrame, prefix: str) -> pd.DataFrame:
    """Columns ``<prefix><name>`` as a table: one row per name, one column per scenario."""
    columns = [c for c in table.columns if str(c).startswith(prefix)]
    if not columns or "scenario" not in table:
        return pd.DataFrame()
    values = table.set_index("scenario")[columns].apply(pd.to_numeric, errors="coerce").T
    values.index = [str(c)[len(prefix) :] for c in columns]
    values.columns = [str(c) for c in values.columns]
    return values.dropna(how="all")


def tradeoff_charts(table: pd.DataFrame) -> list[str]:
    """Objective and priority households housed against each numeric swept override.

    An override column ``param:<path>`` with three numeric values or more is an axis; the
    scenarios are grouped into one line per combination of the other overrides' values.
    """
    params = [c for c in table.columns if str(c).startswith("param:")]
    charts = []
    for axis in params:
        x = pd.to_numeric(table[axis], errors="coerce")
        if x.nunique() < 3:
            continue
        others = [p for p in params if p != axis and table[p].nunique(dropna=False) > 1]
        labels = pd.Series("", index=table.index, dtype=object)
        for other in others:
            shown = table[other].map(lambda v: "-" if pd.isna(v) else str(v)).astype(object)
            labels = labels + (", " if other != others[0] else "") + f"{other[6:]}=" + shown
        for figure, label in (
            ("objective", "Objective"),
            ("priority_housed", "Priority households housed"),
        ):
            if figure not in table:
                continue
            y = pd.to_numeric(table[figure], errors="coerce")
            series: dict[str, list[tuple[float, float | None]]] = {}
            for group, xv, yv in zip(labels, x, y, strict=True):
                if pd.notna(xv):
                    point = (float(xv), None if pd.isna(yv) else float(yv))
                    series.setdefault(str(group), []).append(point)
            charts.append(line_chart(series, f"{label} against {axis[6:]}", axis[6:]))
    return charts


def format_cell(value: Any) -> str:
    """A cell as text: numbers to four significant digits, missing values empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if pd.isna(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else f"{value:.4g}"
    return str(value)


def _empty(column: pd.Series) -> bool:
    """Whether a column holds nothing but missing values and empty text."""
    return bool((column.isna() | (column.astype(str).str.strip() == "")).all())


def _numbers(table: pd.DataFrame, column: str) -> list[float | None]:
    values = pd.to_numeric(table[column], errors="coerce")
    return [None if pd.isna(v) else float(v) for v in values]


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    frame = table.astype(object).where(table.notna(), None)
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]
