r"""The annual bilan of article R441-5-1 of the Housing Code (CCH), from the ledger.

Before 28 February, the landlord sends every holder (réservataire) a bilan of the units
**proposed** (oriented) to it and the units **attributed** through it in the previous year,
broken down by typology, financing, location in a QPV or not, commune and construction
period. Counting rules:

- proposed: distinct (unit, holder) pairs over the year's batches (a unit offered again to
  the same holder after a refusal counts once; offered to another holder, it counts for
  both), with the unit's attributes from its latest batch;
- attributed: the committee outcomes that end with a lease (attributed to a listed
  applicant or to the holder's own candidate), with the unit's attributes at attribution.

For every holder and every breakdown, the categories add up to the holder's totals:
:math:`\sum_c P_{h,c} = P_h` and :math:`\sum_c A_{h,c} = A_h`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fluxopt.cells import write_csv
from fluxopt.ledger.schema import ATTRIBUTING, OrientationRow, OutcomeRow
from fluxopt.ledger.store import Ledger
from fluxopt.report.xlsx import add_readme_sheet, add_table_sheet, new_workbook, save
from fluxopt.schema.problems import FluxoptError

DIMENSIONS = {
    "typology": "Typology",
    "financing": "Financing",
    "location": "QPV or not",
    "commune": "Commune",
    "construction_period": "Construction period",
}
BILAN_COLUMNS = ["holder_id", "holder_name", "dimension", "category", "proposed", "attributed"]


def _categories(frame: pd.DataFrame) -> pd.DataFrame:
    """The breakdown columns of a table of units."""
    return pd.DataFrame(
        {
            "holder_id": frame["holder_id"].astype(str).to_numpy(),
            "typology": ("T" + frame["rooms"].astype(int).astype(str)).to_numpy(),
            "financing": frame["financing"].astype(str).to_numpy(),
            "location": np.where(frame["qpv"].astype(bool), "QPV", "outside QPV"),
            "commune": frame["commune"].astype(str).to_numpy(),
            "construction_period": frame["construction_period"].astype(str).to_numpy(),
        }
    )


def proposed_units(ledger: Ledger, year: int) -> pd.DataFrame:
    """Distinct (unit, holder) pairs oriented in the year, attributes of the latest batch."""
    rows = ledger.frame(OrientationRow, year=year)
    rows = rows[rows["holder_id"] != ""].sort_values(["unit_id", "batch_month"], kind="stable")
    return rows.drop_duplicates(["unit_id", "holder_id"], keep="last").reset_index(drop=True)


def attributed_units(ledger: Ledger, year: int) -> pd.DataFrame:
    """The year's attributing outcomes, one per unit."""
    rows = ledger.frame(OutcomeRow, year=year)
    return rows[rows["decision"].isin(ATTRIBUTING)].reset_index(drop=True)


def bilan_table(ledger: Ledger, year: int) -> pd.DataFrame:
    """Per holder and breakdown category: units proposed and units attributed.

    One row per (holder, dimension, category), plus a ``total`` dimension per holder.
    """
    proposed = proposed_units(ledger, year)
    if proposed.empty:
        raise FluxoptError(f"the ledger {ledger.name} has no batch in {year}")
    attributed = attributed_units(ledger, year)
    names = proposed.drop_duplicates("holder_id").set_index("holder_id")["holder_name"]
    both = [_categories(proposed).assign(proposed=1, attributed=0)]
    if not attributed.empty:
        both.append(_categories(attributed).assign(proposed=0, attributed=1))
    units = pd.concat(both, ignore_index=True).assign(total="all")
    tables = []
    for dimension in [*DIMENSIONS, "total"]:
        counts = units.groupby(["holder_id", dimension], as_index=False)[
            ["proposed", "attributed"]
        ].sum()
        tables.append(counts.rename(columns={dimension: "category"}).assign(dimension=dimension))
    table = pd.concat(tables, ignore_index=True)
    table["holder_name"] = table["holder_id"].map(names).fillna("").astype(str)
    table[["proposed", "attributed"]] = table[["proposed", "attributed"]].astype(np.int64)
    order = {name: i for i, name in enumerate([*DIMENSIONS, "total"])}
    table = table.assign(_order=table["dimension"].map(order)).sort_values(
        ["holder_id", "_order", "category"], kind="stable"
    )
    return table[BILAN_COLUMNS].reset_index(drop=True)


def wide_sheet(table: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """One breakdown as a wide table: a row per holder, two columns per category, totals."""
    rows = table[table["dimension"] == dimension]
    wide = rows.pivot_table(
        index=["holder_id", "holder_name"],
        columns="category",
        values=["proposed", "attributed"],
        aggfunc="sum",
        fill_value=0,
    )
    categories = sorted(rows["category"].unique())
    columns = [(kind, c) for c in categories for kind in ("proposed", "attributed")]
    wide = wide.reindex(columns=pd.MultiIndex.from_tuples(columns), fill_value=0)
    wide.columns = [f"{pair[1]}: {pair[0]}" for pair in columns]
    wide = wide.reset_index().rename(columns={"holder_id": "Holder", "holder_name": "Name"})
    totals = wide.drop(columns=["Holder", "Name"]).sum()
    total_row = pd.DataFrame([{"Holder": "All holders", "Name": "", **totals.to_dict()}])
    return pd.concat([wide, total_row], ignore_index=True)


def write_bilan(
    folder: Path, table: pd.DataFrame, year: int, landlord: str = ""
) -> dict[str, Path]:
    """Write ``bilan-<year>.csv`` (long table) and ``bilan-<year>.xlsx`` (one sheet each)."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / f"bilan-{year}.csv"
    write_csv(table, csv_path)
    book = new_workbook()
    add_readme_sheet(
        book,
        f"Annual bilan {year} (CCH R441-5-1){f' — {landlord}' if landlord else ''}",
        (
            (
                "What",
                "Units proposed (oriented) to each holder (réservataire) and units "
                "attributed through it during the year, by typology, financing, QPV or not, "
                "commune and construction period, as article R441-5-1 of the Housing Code asks "
                "the landlord to send every holder before 28 February.",
            ),
            (
                "Proposed",
                "Distinct units oriented to the holder in the year's monthly batches "
                "(a unit offered again to the same holder counts once).",
            ),
            (
                "Attributed",
                "Units let (lease signed) to a candidate presented through the "
                "holder, as recorded from the allocation committee (CALEOL).",
            ),
            ("QPV", "Quartier prioritaire de la politique de la ville: priority district."),
            ("Financing", "PLAI, PLUS, PLS, PLI: the loan that financed the dwelling."),
            ("T1 … T6", "Typology: number of main rooms."),
        ),
    )
    totals = table[table["dimension"] == "total"][
        ["holder_id", "holder_name", "proposed", "attributed"]
    ]
    add_table_sheet(
        book, "Totals", totals.rename(columns={"holder_id": "Holder", "holder_name": "Name"})
    )
    for dimension, title in DIMENSIONS.items():
        add_table_sheet(book, title, wide_sheet(table, dimension))
    xlsx_path = save(book, folder / f"bilan-{year}.xlsx")
    return {"csv": csv_path, "xlsx": xlsx_path}
