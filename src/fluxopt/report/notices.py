"""Orientation notices: for each holder, the units passed to it this month.

Under flux management the landlord tells each holder (réservataire) which vacated units are
oriented to it. A holder in ``direct`` mode proposes its own candidates by the deadline of
its convention; for a holder in ``delegated`` mode the landlord proposes them, and the
notice lists the landlord's shortlist so the holder can give its opinion by the deadline.
Each notice is written as ``notices/<holder_id>.csv`` and ``notices/<holder_id>.xlsx``.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from fluxopt.report.xlsx import add_readme_sheet, add_table_sheet, new_workbook, save

NOTICE_COLUMNS = {
    "unit_id": "Unit",
    "residence_id": "Residence",
    "residence_name": "Residence name",
    "commune": "Commune",
    "epci": "EPCI",
    "qpv_text": "In a QPV",
    "typology": "Typology",
    "financing": "Financing",
    "surface_m2": "Surface (m²)",
    "rent": "Rent (€/month)",
    "charges": "Charges (€/month)",
    "available_on": "Available on",
    "channel": "Channel",
    "proposed_by": "Candidates proposed by",
    "deadline": "Deadline",
    "landlord_shortlist": "Landlord's shortlist (rank: applicant)",
    "carried_text": "Offered again",
}

SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def notice_table(units: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """All holders' notice rows (column ``holder_id`` kept first), readable headers."""
    ordered = candidates.sort_values(["unit_id", "rank"], kind="stable")
    listed = (
        (ordered["rank"].astype(int).astype(str) + ": " + ordered["applicant_id"].astype(str))
        .groupby(ordered["unit_id"])
        .agg(", ".join)
    )
    out = units.copy()
    out["typology"] = "T" + out["rooms"].astype(int).astype(str)
    out["qpv_text"] = np.where(out["qpv"].astype(bool), "yes", "no")
    out["proposed_by"] = np.where(out["holder_mode"] == "direct", "you (holder)", "landlord")
    out["landlord_shortlist"] = out["unit_id"].map(listed).fillna("").astype(str)
    out["carried_text"] = np.where(out["carried_over"].astype(bool), "yes", "")
    out = out.sort_values(["holder_id", "available_on", "unit_id"], kind="stable")
    table = out[list(NOTICE_COLUMNS)].rename(columns=NOTICE_COLUMNS)
    table.insert(0, "holder_id", out["holder_id"].to_numpy())
    table.insert(1, "holder_name", out["holder_name"].to_numpy())
    return table.reset_index(drop=True)


def write_notices(
    folder: Path, units: pd.DataFrame, candidates: pd.DataFrame, month: str
) -> dict[str, Path]:
    """Write one CSV and one XLSX notice per holder that received units; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    table = notice_table(units, candidates)
    paths: dict[str, Path] = {}
    for holder_id, rows in table.groupby("holder_id", sort=True):
        holder = str(holder_id) or "unoriented"
        name = str(rows["holder_name"].iloc[0]) or holder
        stem = SAFE_NAME.sub("_", holder)
        body = rows.drop(columns=["holder_id", "holder_name"])
        csv_path = folder / f"{stem}.csv"
        body.to_csv(csv_path, index=False, encoding="utf-8")
        book = new_workbook()
        add_readme_sheet(
            book,
            f"Orientation notice {month}: {name}",
            (
                ("Holder", f"{name} ({holder})"),
                ("Month", month),
                ("Units", str(len(body))),
                (
                    "Meaning",
                    "These vacated units are oriented to you under your flux "
                    "convention (gestion en flux). Where you propose the candidates, send them "
                    "by the deadline; where the landlord proposes them, its shortlist is given "
                    "and your opinion is expected by the deadline.",
                ),
                ("QPV", "Quartier prioritaire de la politique de la ville (priority district)."),
                ("EPCI", "Intercommunal authority, by SIREN."),
            ),
        )
        add_table_sheet(book, "Units", body)
        paths[holder] = save(book, folder / f"{stem}.xlsx")
        paths[f"{holder}.csv"] = csv_path
    return paths
