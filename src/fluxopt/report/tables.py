r"""The tidy tables every batch output reads.

Units with their holder and deadline, and candidates with their household, income band,
score breakdown and reasons:

- :func:`unit_table`: the batch's orientation, one row per unit, with the holder's name,
  the unit's rent, surface and residence name, whether it was carried over from an earlier
  batch, and the deadline for the holder's candidates;
- :func:`candidate_table`: the batch's shortlist, one row per (unit, rank), with what the
  committee reads (see :mod:`fluxopt.report.why` for the reasons).

A holder's deadline is :math:`\max(\text{available on}, \text{first day of the month})
+ d` days, where :math:`d` is the smallest ``deadline_days`` of the holder's conventions
covering the unit (else of all its conventions); the landlord's own units have none.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from fluxopt.constraints.ruleset import ConstraintSet
from fluxopt.instance import Instance
from fluxopt.report.why import candidate_reasons, join_parts

UNIT_EXTRA = ("available_on", "surface_m2", "rent", "charges")
APPLICANT_FLAGS = ("renewal_relocation", "employer_action_logement", "state_agent")


def unit_table(
    orientation: pd.DataFrame, instance: Instance, month: str, carried: set[str]
) -> pd.DataFrame:
    """The batch's units with holder name, rent, residence name, carry-over and deadline."""
    units = instance.units.set_index("unit_id")
    holders = instance.holders.set_index("holder_id")
    residences = instance.residences.set_index("residence_id")
    out = orientation.copy()
    out["holder_name"] = out["holder_id"].map(holders["name"]).fillna("").astype(str)
    out["residence_name"] = out["residence_id"].map(residences["name"]).fillna("").astype(str)
    for column in UNIT_EXTRA:
        out[column] = out["unit_id"].map(units[column]).to_numpy()
    out["available_on"] = pd.to_datetime(out["available_on"]).dt.strftime("%Y-%m-%d").astype(str)
    out["carried_over"] = out["unit_id"].isin(carried)
    days = deadline_days(out, instance)
    start = np.maximum(
        pd.to_datetime(out["available_on"]).to_numpy(),
        np.datetime64(dt.date.fromisoformat(f"{month}-01")),
    )
    deadline = pd.Series(start + pd.to_timedelta(days.fillna(0), unit="D").to_numpy())
    out["deadline"] = np.where(days.notna(), deadline.dt.strftime("%Y-%m-%d"), "")
    return out


def deadline_days(units: pd.DataFrame, instance: Instance) -> pd.Series:
    """Days a holder has to propose candidates for each unit (NaN: no convention)."""
    conventions = instance.conventions[
        ["holder_id", "perimeter_kind", "perimeter_id", "deadline_days"]
    ]
    pairs = units[["unit_id", "holder_id", "epci", "commune"]].merge(conventions, on="holder_id")
    department = instance.config.territory.department
    kind, place = pairs["perimeter_kind"], pairs["perimeter_id"].astype(str)
    covers = (
        ((kind == "department") & (place == department))
        | ((kind == "epci") & (place == pairs["epci"].astype(str)))
        | ((kind == "commune") & (place == pairs["commune"].astype(str)))
    )
    covering = pairs[covers].groupby("unit_id")["deadline_days"].min()
    any_convention = pairs.groupby("unit_id")["deadline_days"].min()
    days = units["unit_id"].map(covering)
    return days.fillna(units["unit_id"].map(any_convention)).astype(float)


def candidate_table(
    shortlist: pd.DataFrame,
    units: pd.DataFrame,
    applicants: pd.DataFrame,
    rules: ConstraintSet,
    holders: pd.DataFrame,
    breakdown: pd.DataFrame,
    grid_used: bool = False,
) -> pd.DataFrame:
    """The shortlist with household, income band, score breakdown, priority and reasons.

    ``breakdown`` holds the points of each score entry per applicant (index
    ``applicant_id``); the three largest positive entries are shown beside the score, and
    among the reasons when ``grid_used``.
    """
    people = applicants.set_index("applicant_id")
    out = shortlist.copy()
    ids = out["applicant_id"]
    for column in (*APPLICANT_FLAGS, "household_size", "adults", "children", "income_per_uc"):
        out[column] = ids.map(people[column]).to_numpy()
    for column in APPLICANT_FLAGS:
        out[column] = out[column].fillna(False).astype(bool)
    out["household"] = household_text(out)
    out["income_band"] = np.where(out["q1"].astype(bool), "first quartile (Q1)", "above Q1")
    out["score_breakdown"] = breakdown_text(breakdown.reindex(ids).fillna(0.0)).to_numpy()
    out["priority_text"] = np.where(
        out["dalo"].astype(bool),
        "DALO",
        np.where(out["priority"].astype(bool), "priority (L441-1)", ""),
    )
    top = out["score_breakdown"] if grid_used else None
    out["why"] = candidate_reasons(out, units, applicants, rules, holders, top)
    return out


def household_text(frame: pd.DataFrame) -> pd.Series:
    """E.g. ``3 people: 1 adult, 2 children``."""
    size = frame["household_size"].astype(int).astype(str)
    adults = frame["adults"].astype(int)
    children = frame["children"].astype(int)
    text = (
        size
        + np.where(frame["household_size"].astype(int) == 1, " person: ", " people: ")
        + adults.astype(str)
        + np.where(adults == 1, " adult", " adults")
    )
    with_children: pd.Series = (
        text + ", " + children.astype(str) + np.where(children == 1, " child", " children")
    )
    return pd.Series(np.where(children > 0, with_children, text), index=frame.index)


def breakdown_text(points: pd.DataFrame, top: int = 3) -> pd.Series:
    """The ``top`` largest positive entries of each row, e.g. ``DALO 20 · wait 24``."""
    if points.empty or points.shape[1] == 0:
        return pd.Series("", index=points.index, dtype=object)
    values = points.to_numpy(dtype=np.float64)
    names = np.asarray(points.columns, dtype=object)
    order = np.argsort(-values, axis=1, kind="stable")[:, :top]
    parts = []
    for k in range(order.shape[1]):
        chosen = values[np.arange(len(values)), order[:, k]]
        label = names[order[:, k]] + " " + pd.Series(chosen).map("{:g}".format).to_numpy()
        parts.append(np.where(chosen > 0, label, ""))
    return pd.Series(join_parts(parts, " · "), index=points.index, dtype=object)


def default_breakdown(applicants: pd.DataFrame) -> pd.DataFrame:
    """Points of the engine's default score: wait (capped at 60), DALO 20, priority 10."""
    return pd.DataFrame(
        {
            "wait": applicants["wait_months"].clip(upper=60.0).round(1).to_numpy(),
            "DALO": 20.0 * applicants["dalo"].astype(float).to_numpy(),
            "priority": 10.0 * applicants["priority"].astype(float).to_numpy(),
        },
        index=pd.Index(applicants["applicant_id"], name="applicant_id"),
    )
