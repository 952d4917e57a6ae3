"""Orientation notices: for each holder, the units passed to it this month.

Under flux management the landlord tells each holder (réservataire) which vacated units are
oriented to it. A holder in ``direct`` mode proposes its own candidates by the deadline of
its convention; for a holder in ``delegated`` mode the landlord proposes them, and the
notice lists the landlord's shortlist so the holder can give its opinion by the deadline.
Each notice is written as ``notices/<file name>.csv`` and ``notices/<file name>.xlsx``, and
``notices/index.csv`` lists every holder with its files.

The file name of a holder is its id with every character other than ``A-Z a-z 0-9 _ . -``
replaced by ``_`` (:func:`notice_stems`). Two holders whose ids give the same name, ignoring
case (``STATE AGENTS`` and ``STATE_AGENTS``; ``State`` and ``STATE`` on a case-insensitive
file system), or a name reserved on some systems (``index``, ``CON``, ``NUL``, …), would
overwrite each other's notices: each of them gets the first 8 hexadecimal digits of the
SHA-256 of its holder id appended (``STATE_AGENTS-1f0c…``), the same on every run, and the
index and the notice's "Read me" sheet say so.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from fluxopt.cells import write_csv
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
INDEX_FILE = "index.csv"
RESERVED_STEMS = frozenset(
    {"index", "con", "prn", "aux", "nul"}
    | {f"{port}{n}" for port in ("com", "lpt") for n in range(1, 10)}
)
"""File names a notice may not take: the index, and device names of some file systems."""
HASH_DIGITS = 8


def notice_stems(holder_ids: Iterable[str]) -> dict[str, str]:
    """The file name (without suffix) of each holder's notice, unique ignoring case.

    The name is the holder id with unsafe characters replaced by ``_`` (``unoriented`` for
    the empty id); names shared by several holders ignoring case, and reserved names, get
    ``-`` and the first :data:`HASH_DIGITS` hexadecimal digits of the id's SHA-256.
    """
    plain = {holder: SAFE_NAME.sub("_", holder or "unoriented") for holder in holder_ids}
    counts: dict[str, int] = {}
    for stem in plain.values():
        counts[stem.lower()] = counts.get(stem.lower(), 0) + 1
    digits = HASH_DIGITS
    while True:
        stems = {}
        for holder, stem in plain.items():
            key = stem.lower()
            if counts[key] > 1 or key in RESERVED_STEMS or key.strip(".") == "":
                digest = hashlib.sha256(holder.encode("utf-8")).hexdigest()[:digits]
                stem = f"{stem}-{digest}"
            stems[holder] = stem
        if len({stem.lower() for stem in stems.values()}) == len(stems) or digits >= 64:
            return stems
        digits = 64  # a hashed name met another holder's own name: use the whole digest


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
    """Write one CSV and one XLSX notice per holder that received units, and the index.

    Returns the paths by file name (``<stem>.csv``, ``<stem>.xlsx``, ``index.csv``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    table = notice_table(units, candidates)
    groups = {str(holder_id): rows for holder_id, rows in table.groupby("holder_id", sort=True)}
    stems = notice_stems(groups)
    plain = {holder: SAFE_NAME.sub("_", holder or "unoriented") for holder in groups}
    paths: dict[str, Path] = {}
    index_rows = []
    for holder_id, rows in groups.items():
        holder = holder_id or "unoriented"
        name = str(rows["holder_name"].iloc[0]) or holder
        stem = stems[holder_id]
        note = (
            ""
            if stem == plain[holder_id]
            else f"the file name {plain[holder_id]} is shared with another holder (ignoring "
            "case) or reserved: a short hash of the holder id is added"
        )
        body = rows.drop(columns=["holder_id", "holder_name"])
        csv_path = write_csv(body, folder / f"{stem}.csv")
        book = new_workbook()
        readme = [
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
        ]
        if note:
            readme.append(("File name", f"{stem}: {note}."))
        add_readme_sheet(book, f"Orientation notice {month}: {name}", readme)
        add_table_sheet(book, "Units", body)
        paths[f"{stem}.xlsx"] = save(book, folder / f"{stem}.xlsx")
        paths[f"{stem}.csv"] = csv_path
        index_rows.append(
            {
                "holder_id": holder_id,
                "holder_name": name,
                "units": len(body),
                "csv": f"{stem}.csv",
                "xlsx": f"{stem}.xlsx",
                "note": note,
            }
        )
    index = pd.DataFrame(
        index_rows, columns=["holder_id", "holder_name", "units", "csv", "xlsx", "note"]
    )
    paths[INDEX_FILE] = write_csv(index, folder / INDEX_FILE)
    return paths
