"""The committee's shortlists as an XLSX workbook: one sheet per residence.

The allocation committee (CALEOL) examines at least three candidates per unit (CCH R441-3)
and may rank them. The workbook opens on a "Read me" sheet that explains the French terms
once, then a "Units" overview, then one sheet per residence with one row per (unit, rank):
unit, rank, applicant, household, income band, score with its breakdown, wait, priority
and the reasons the candidate is listed. A unit without candidates still has one row that
says why (a holder that proposes its own candidates, a defence unit, no eligible applicant).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fluxopt.report.xlsx import add_readme_sheet, add_table_sheet, new_workbook, save

GLOSSARY: tuple[tuple[str, str], ...] = (
    ("Terms", ""),
    (
        "CALEOL",
        "Commission d'attribution des logements et d'examen de l'occupation des "
        "logements: the allocation committee that examines the candidates and decides.",
    ),
    (
        "Holder (réservataire)",
        "A body holding reservation rights on a share of the yearly "
        "flow of vacated dwellings: the State (préfet), Action Logement, a commune, an EPCI, the "
        "department, or the landlord itself (bailleur) for what is left.",
    ),
    (
        "Flux",
        "Since the ELAN law, reservation rights are a share of the flow of vacated units "
        "(gestion en flux) rather than named dwellings.",
    ),
    (
        "EPCI",
        "Établissement public de coopération intercommunale: the intercommunal authority "
        "(identified by its SIREN) over which quotas are counted.",
    ),
    ("QPV", "Quartier prioritaire de la politique de la ville: a priority urban district."),
    (
        "Q1 (first quartile)",
        "Households whose income per consumption unit is below the "
        "first-quartile threshold of the unit's EPCI (the poorest quarter of applicants).",
    ),
    (
        "DALO",
        "Droit au logement opposable: households recognised as priority and urgent by "
        "the mediation commission (enforceable right to housing).",
    ),
    (
        "Priority (L441-1)",
        "Households meeting a priority criterion of article L441-1 of the "
        "Housing Code (disability, homelessness, violence, threatened eviction, …).",
    ),
    (
        "Cotation (score)",
        "The territory's scoring grid of applications; it informs the "
        "committee and never decides alone.",
    ),
    ("Mutation", "Internal transfer of a sitting social tenant."),
    (
        "Financing",
        "PLAI, PLUS, PLS, PLI: the loan that financed the dwelling; it sets the "
        "income ceiling and the rent level (PLAI lowest).",
    ),
    ("T1 … T6", "Typology: number of main rooms."),
    ("Columns", ""),
    ("Rank", "1 is the candidate the engine proposes first; 2 and 3 are alternates."),
    ("Score breakdown", "The largest contributions to the score."),
    (
        "Why",
        "Short reasons: top criteria of the grid, wish rank, priority, the quota the "
        "candidate helps meet, the holder's channel.",
    ),
    ("Deadline", "Date by which the holder proposes its candidates or gives its opinion."),
)

COMMITTEE_COLUMNS = {
    "unit_id": "Unit",
    "typology": "Typology",
    "financing": "Financing",
    "surface_m2": "Surface (m²)",
    "rent": "Rent (€/month)",
    "charges": "Charges (€/month)",
    "available_on": "Available on",
    "holder_name": "Holder",
    "deadline": "Deadline",
    "rank": "Rank",
    "applicant_id": "Applicant",
    "household": "Household",
    "income_band": "Income band",
    "income_per_uc": "Income per UC (€/year)",
    "score": "Score",
    "score_breakdown": "Score breakdown",
    "wait_months": "Wait (months)",
    "priority_text": "Priority",
    "why": "Why",
}

OVERVIEW_COLUMNS = {
    "unit_id": "Unit",
    "residence_id": "Residence",
    "residence_name": "Residence name",
    "commune": "Commune",
    "epci": "EPCI",
    "qpv_text": "QPV",
    "typology": "Typology",
    "financing": "Financing",
    "rent": "Rent (€/month)",
    "holder_name": "Holder",
    "channel": "Channel",
    "holder_mode": "Candidates proposed by",
    "deadline": "Deadline",
    "carried_text": "Carried over",
    "candidates": "Candidates",
    "first_applicant": "First-ranked applicant",
}


def committee_rows(units: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """One row per (unit, rank), plus one row for each unit without candidates."""
    unit_columns = [
        "unit_id",
        "residence_id",
        "residence_name",
        "rooms",
        "financing",
        "surface_m2",
        "rent",
        "charges",
        "available_on",
        "holder_name",
        "holder_mode",
        "channel",
        "deadline",
    ]
    listed = candidates.merge(units[unit_columns], on="unit_id", how="left")
    alone = units[~units["unit_id"].isin(set(candidates["unit_id"]))][unit_columns].copy()
    alone["why"] = no_candidate_reason(alone)
    rows = pd.concat([listed, alone], ignore_index=True)
    rows["typology"] = "T" + rows["rooms"].astype(int).astype(str)
    rows["wait_months"] = rows["wait_months"].astype(float).round(1)
    rows["score"] = rows["score"].astype(float).round(2)
    rows["income_per_uc"] = rows["income_per_uc"].astype(float).round(0)
    rank = rows["rank"].astype(float).fillna(0)
    rows = rows.assign(_rank=rank).sort_values(["residence_id", "unit_id", "_rank"], kind="stable")
    rows["rank"] = rows["rank"].astype("Int64")
    return rows.drop(columns="_rank").reset_index(drop=True)


def no_candidate_reason(units: pd.DataFrame) -> pd.Series:
    """Why a unit has no shortlist: a direct holder, a defence unit, or no candidate."""
    direct = units["holder_mode"].astype(str) == "direct"
    defense = units["channel"].astype(str) == "excluded:defense"
    by = " by " + units["deadline"].astype(str)
    proposes: pd.Series = (
        units["holder_name"].astype(str)
        + " proposes its own candidates"
        + np.where(units["deadline"].astype(str) != "", by, "")
    )
    text = np.where(
        direct,
        proposes,
        np.where(defense, "let by the defence services (no shortlist)", "no eligible candidate"),
    )
    return pd.Series(text, index=units.index, dtype=object)


def overview(units: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """The "Units" sheet: one row per unit of the batch."""
    counts = candidates.groupby("unit_id").size()
    first = candidates[candidates["rank"] == 1].set_index("unit_id")["applicant_id"]
    out = units.copy()
    out["typology"] = "T" + out["rooms"].astype(int).astype(str)
    out["qpv_text"] = np.where(out["qpv"].astype(bool), "yes", "no")
    out["carried_text"] = np.where(out["carried_over"].astype(bool), "yes", "")
    out["candidates"] = out["unit_id"].map(counts).fillna(0).astype(int)
    out["first_applicant"] = out["unit_id"].map(first).fillna("").astype(str)
    out["holder_mode"] = np.where(out["holder_mode"] == "direct", "holder", "landlord")
    out = out.sort_values(["residence_id", "unit_id"], kind="stable")
    return out[list(OVERVIEW_COLUMNS)].rename(columns=OVERVIEW_COLUMNS)


def write_committee_workbook(
    path: Path, units: pd.DataFrame, candidates: pd.DataFrame, title: str
) -> Path:
    """Write the committee workbook (see the module docstring)."""
    book = new_workbook()
    add_readme_sheet(book, title, GLOSSARY)
    add_table_sheet(book, "Units", overview(units, candidates))
    rows = committee_rows(units, candidates)
    for residence_id, group in rows.groupby("residence_id", sort=True):
        name = str(group["residence_name"].iloc[0])
        table = group[list(COMMITTEE_COLUMNS)].rename(columns=COMMITTEE_COLUMNS)
        add_table_sheet(book, f"{residence_id} {name}".strip(), table)
    return save(book, path)
