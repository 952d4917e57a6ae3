r"""The batch summary: figures for ``summary.json``, the terminal and the HTML report.

- fill: units with a first-ranked candidate or passed to a holder that proposes its own,
  over the batch's units;
- flux position per holder: the sum over the holder's conventions of the cumulative target
  :math:`T_h` and of the units oriented so far :math:`O_h` (year to date and this batch),
  the gap :math:`O_h - T_h` and whether every convention is within its tolerance;
- flux trajectory: the same figures after each batch of the year, from the ledger;
- quota attainment per group (EPCI, holder, residence): planned (first-ranked candidates of
  this batch plus the year's attributions), and attributed so far (the ledger alone).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from rich.table import Table

from fluxopt.allocate import Allocation
from fluxopt.outcome import summarise
from fluxopt.verify import VerificationReport

FLUX_COLUMNS = [
    "holder_id",
    "convention_id",
    "target_cumulative",
    "oriented",
    "gap",
    "tolerance",
    "within",
]


@dataclass(frozen=True)
class BatchFacts:
    """What the batch knows beyond the solve: ledger, carried units, inputs."""

    batch_id: str
    month: str
    ledger: str
    grid: str
    units_new: int
    units_carried: int
    set_aside: dict[str, int] = field(default_factory=dict)
    awaiting_decision: int = 0
    inputs: dict[str, str] = field(default_factory=dict)
    holder_names: dict[str, str] = field(default_factory=dict)


def flux_by_holder(flux: pd.DataFrame, names: Mapping[str, str]) -> pd.DataFrame:
    """Per holder: cumulative target, oriented, gap, tolerance, within (all conventions)."""
    if flux.empty:
        return pd.DataFrame(
            columns=[
                "holder_id",
                "holder_name",
                "target_cumulative",
                "oriented",
                "gap",
                "tolerance",
                "within",
            ]
        )
    table = flux.groupby("holder_id", sort=False).agg(
        target_cumulative=("target_cumulative", "sum"),
        oriented=("oriented", "sum"),
        tolerance=("tolerance", "sum"),
        within=("within", "all"),
    )
    table["gap"] = table["oriented"] - table["target_cumulative"]
    table = table.reset_index()
    table.insert(1, "holder_name", table["holder_id"].map(dict(names)).fillna(""))
    return table[
        ["holder_id", "holder_name", "target_cumulative", "oriented", "gap", "tolerance", "within"]
    ]


def flux_trajectory(history: pd.DataFrame, current: pd.DataFrame, month: str) -> pd.DataFrame:
    """Per month and holder: cumulative target and oriented, from earlier batches and this one.

    ``history`` is the ledger's ``flux_positions`` of earlier batches (with ``batch_month``);
    ``current`` the verifier's flux table of this batch.
    """
    frames = []
    if not history.empty:
        frames.append(history.assign(month=history["batch_month"])[["month", *FLUX_COLUMNS]])
    if not current.empty:
        frames.append(current.assign(month=month)[["month", *FLUX_COLUMNS]])
    if not frames:
        return pd.DataFrame(columns=["month", "holder_id", "target", "oriented", "tolerance"])
    both = pd.concat(frames, ignore_index=True)
    both = both[both["month"] <= month]
    out = both.groupby(["month", "holder_id"], as_index=False).agg(
        target=("target_cumulative", "sum"),
        oriented=("oriented", "sum"),
        tolerance=("tolerance", "sum"),
    )
    return out.sort_values(["holder_id", "month"], ignore_index=True)


def quota_table(report: VerificationReport, per: Mapping[str, str]) -> pd.DataFrame:
    """The verifier's quota attainment with the grouping of each rule (``per``)."""
    if report.quotas.empty:
        return pd.DataFrame(
            columns=[
                "rule",
                "per",
                "group",
                "numerator",
                "denominator",
                "ratio",
                "level",
                "sense",
                "met",
            ]
        )
    table = report.quotas.copy()
    table.insert(1, "per", table["rule"].map(dict(per)).fillna(""))
    table["group"] = table["group"].astype(str)
    return table[
        ["rule", "per", "group", "numerator", "denominator", "ratio", "level", "sense", "met"]
    ]


def batch_summary(
    allocation: Allocation,
    report: VerificationReport,
    facts: BatchFacts,
    trajectory: pd.DataFrame,
    attributed_quotas: pd.DataFrame,
) -> dict[str, Any]:
    """Every headline figure of the batch, JSON-ready (see the module docstring)."""
    out = summarise(allocation, report)
    per = {q.name: q.per for q in allocation.problem.rules.active_quotas}
    units = out["units"] or 0
    out.update(
        {
            "batch_id": facts.batch_id,
            "month": facts.month,
            "ledger": facts.ledger,
            "grid": facts.grid or "(default: wait, DALO, priority)",
            "units_new": facts.units_new,
            "units_carried_over": facts.units_carried,
            "fill_rate": (out["units_filled"] / units) if units else None,
            "applicants_set_aside": dict(facts.set_aside),
            "units_awaiting_decision": facts.awaiting_decision,
            "inputs": dict(facts.inputs),
            "flux_by_holder": _records(flux_by_holder(report.flux, facts.holder_names)),
            "quotas": _records(quota_table(report, per)),
            "quotas_attributed": _records(attributed_quotas),
            "trajectory": _records(trajectory),
        }
    )
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def summary_tables(summary: Mapping[str, Any]) -> list[Table]:
    """Rich tables of a summary: headline, flux per holder, quota attainment."""
    head = Table(title=f"Batch {summary['instance']} {summary['month']}", show_header=False)
    head.add_column("figure")
    head.add_column("value", justify="right")
    gap = summary.get("gap")
    rows = [
        ("solver status", f"{summary['status']} ({summary['solver']})"),
        ("gap", f"{gap:.3%}" if isinstance(gap, float) else "-"),
        (
            "units",
            f"{summary['units']} ({summary['units_new']} new, "
            f"{summary['units_carried_over']} carried over)",
        ),
        ("units filled", f"{summary['units_filled']} of {summary['units']}"),
        ("units with a shortlist", str(summary["units_with_shortlist"])),
        (
            "applicants set aside",
            ", ".join(f"{v} {k}" for k, v in summary["applicants_set_aside"].items()) or "0",
        ),
        ("units awaiting a decision", str(summary["units_awaiting_decision"])),
        (
            "verification",
            f"{summary['verification']['violations']} violation(s), "
            f"{summary['verification']['shortfalls']} shortfall(s)",
        ),
        ("time", ", ".join(f"{k} {v:.2f}s" for k, v in summary["timings"].items())),
    ]
    for name, value in rows:
        head.add_row(name, value)
    flux = Table(title="Flux position per holder (cumulative, after this batch)")
    for column in ("holder", "target", "oriented", "gap", "within"):
        flux.add_column(column, justify="left" if column == "holder" else "right")
    for row in summary["flux_by_holder"]:
        flux.add_row(
            str(row["holder_id"]),
            f"{row['target_cumulative']:.2f}",
            f"{row['oriented']:g}",
            f"{row['gap']:+.2f}",
            "yes" if row["within"] else "[yellow]no[/]",
        )
    quotas = Table(title="Quota attainment (first-ranked of this batch + year's attributions)")
    for column in ("rule", "per", "group", "count", "ratio", "level", "met"):
        quotas.add_column(
            column, justify="right" if column in ("count", "ratio", "level") else "left"
        )
    for row in summary["quotas"]:
        sign = "≥" if row["sense"] == "at_least" else "≤"
        quotas.add_row(
            str(row["rule"]),
            str(row["per"]),
            str(row["group"]),
            f"{row['numerator']:g}/{row['denominator']:g}",
            f"{row['ratio']:.0%}",
            f"{sign} {row['level']:.0%}",
            "yes" if row["met"] else "[red]no[/]",
        )
    return [head, flux, quotas]


def facts_dict(facts: BatchFacts) -> dict[str, Any]:
    """The facts as a plain mapping."""
    return asdict(facts)
