"""Write and read a batch's decision tables, and summarise a solved batch.

A solved batch folder holds ``orientation.csv``, ``shortlist.csv``, ``summary.json`` and
``verification.txt``; :func:`read_decisions` reads the first two back for ``fluxopt verify``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from fluxopt.allocate import Allocation
from fluxopt.cells import restore_frame, write_csv
from fluxopt.decisions import Decisions
from fluxopt.schema.problems import FluxoptError
from fluxopt.verify import VerificationReport


def summarise(allocation: Allocation, report: VerificationReport) -> dict[str, Any]:
    """Headline figures of a solved, verified batch (JSON-ready)."""
    decisions = allocation.decisions
    orientation = decisions.orientation
    first = decisions.first_ranked
    filled = set(first["unit_id"]) | set(
        orientation.loc[orientation["holder_mode"] == "direct", "unit_id"]
    )
    quotas = report.quotas.to_dict("records") if not report.quotas.empty else []
    flux = (
        report.flux[
            [
                "holder_id",
                "convention_id",
                "target_cumulative",
                "oriented",
                "gap",
                "tolerance",
                "within",
            ]
        ].to_dict("records")
        if not report.flux.empty
        else []
    )
    return {
        "instance": allocation.problem.instance.name,
        "month": allocation.problem.month,
        "constraint_set": allocation.problem.rules.name,
        "solver": allocation.settings.solver,
        "status": str(allocation.status),
        "objective": allocation.objective,
        "bound": allocation.bound,
        "gap": allocation.gap,
        "units": len(orientation),
        "units_filled": len(filled),
        "units_with_shortlist": int(first["unit_id"].nunique()),
        "shortlist_rows": len(decisions.shortlist),
        "candidate_pairs": allocation.problem.stats.get("candidate_pairs"),
        "eligible_pairs": allocation.problem.stats.get("eligible_pairs"),
        "timings": {k: round(v, 4) for k, v in allocation.timings.items()},
        "model": allocation.model.stats(),
        "verification": {
            "violations": len(report.violations),
            "shortfalls": len(report.shortfalls),
        },
        "quotas": _jsonable(quotas),
        "flux": _jsonable(flux),
    }


def _jsonable(records: list[dict[Any, Any]]) -> list[dict[str, Any]]:
    return [
        {str(k): (v.item() if hasattr(v, "item") else v) for k, v in record.items()}
        for record in records
    ]


def write_decisions(
    folder: Path, allocation: Allocation, report: VerificationReport
) -> dict[str, Path]:
    """Write the decision tables, the summary and the verification report."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "orientation": folder / "orientation.csv",
        "shortlist": folder / "shortlist.csv",
        "summary": folder / "summary.json",
        "verification": folder / "verification.txt",
    }
    write_csv(allocation.decisions.orientation, paths["orientation"])
    write_csv(allocation.decisions.shortlist, paths["shortlist"])
    paths["summary"].write_text(
        json.dumps(summarise(allocation, report), indent=2, ensure_ascii=False, default=str),
        encoding="utf-8",
    )
    paths["verification"].write_text(report.text(limit=10_000) + "\n", encoding="utf-8")
    return paths


def read_decisions(folder: Path) -> Decisions:
    """Read ``orientation.csv`` and ``shortlist.csv`` back from a batch folder.

    Text cells get back the exact ids of the batch: the quote prefix that
    :mod:`fluxopt.cells` put before a text that would start a formula is removed.
    """
    missing = [n for n in ("orientation.csv", "shortlist.csv") if not (folder / n).exists()]
    if missing:
        raise FluxoptError(f"{folder} has no {' and '.join(missing)}; run fluxopt solve first")
    orientation = restore_frame(
        pd.read_csv(folder / "orientation.csv", dtype={"unit_id": str, "holder_id": str})
    )
    shortlist = restore_frame(
        pd.read_csv(
            folder / "shortlist.csv", dtype={"unit_id": str, "applicant_id": str, "holder_id": str}
        )
    )
    orientation["holder_id"] = orientation["holder_id"].fillna("")
    return Decisions(orientation=orientation, shortlist=shortlist)
