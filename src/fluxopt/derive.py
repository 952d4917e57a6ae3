"""Columns derived from the input tables, computed by code and never read from files.

- consumption units (unités de consommation, UC) of a household, on the scale the
  first-quartile arrêté uses: 1 for the first person, 0.5 for each other person aged 14
  or over, 0.3 for each child under 14, i.e. ``uc = 1 + 0.5 (adults - 1) + 0.3 children``;
- resources per UC: ``annual_income / uc``;
- first quartile (premier quartile) of a household for an EPCI: resources per UC at or
  below that EPCI's threshold, ``income / uc <= q1_threshold[epci]``;
- household category for income ceilings: the household size capped at 6, moved up one
  when a member is disabled (capped at 6; persons beyond six add ``per_extra_person``);
- wait in months: whole days between filing and the reference date divided by 30.4375.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

DAYS_PER_MONTH = 365.25 / 12
ROOM_GROUPS = {1: "T1-T2", 2: "T1-T2", 3: "T3", 4: "T4", 5: "T5+", 6: "T5+"}
"""Typology groups used for the flux segment mix (small, middle, family, large)."""

CONSTRUCTION_PERIODS = (
    (0, 1948, "before 1949"),
    (1949, 1974, "1949-1974"),
    (1975, 1999, "1975-1999"),
    (2000, 2012, "2000-2012"),
    (2013, 9999, "2013 and later"),
)
"""Construction periods of the annual bilan (R441-5-1)."""


def consumption_units(adults: pd.Series, children: pd.Series) -> pd.Series:
    """Consumption units: ``1 + 0.5 (adults - 1) + 0.3 children``."""
    return 1.0 + 0.5 * (adults.astype("float64") - 1.0) + 0.3 * children.astype("float64")


def household_category(household_size: pd.Series, disability: pd.Series) -> pd.Series:
    """Ceiling category 1..6: size capped at 6, plus one if a member is disabled (capped)."""
    size = household_size.astype("int64").clip(upper=6)
    bumped = size + disability.fillna(False).astype("int64")
    return bumped.clip(upper=6).astype("int64")


def wait_months(filed_on: pd.Series, reference: dt.date) -> pd.Series:
    """Months waited from filing to ``reference`` (never negative)."""
    days = (pd.Timestamp(reference) - filed_on).dt.days.astype("float64")
    return (days / DAYS_PER_MONTH).clip(lower=0.0)


def room_group(rooms: pd.Series) -> pd.Series:
    """Typology group of each unit (T1-T2, T3, T4, T5+)."""
    return rooms.map(ROOM_GROUPS).astype("str")


def construction_period(built_year: pd.Series) -> pd.Series:
    """Construction period of each unit, as the annual bilan breaks them down."""
    labels = np.full(len(built_year), "", dtype=object)
    years = built_year.to_numpy()
    for low, high, label in CONSTRUCTION_PERIODS:
        labels[(years >= low) & (years <= high)] = label
    return pd.Series(labels, index=built_year.index, dtype="str")


def derive_units(units: pd.DataFrame, residences: pd.DataFrame) -> pd.DataFrame:
    """Units with commune/EPCI/QPV filled from the residence and derived segments.

    Adds ``room_group``, ``month`` (YYYY-MM of availability), ``construction_period``,
    ``in_flux`` (part of the flux basis) and ``segment`` (room group × QPV × financing).
    """
    out = units.copy()
    by_residence = residences.set_index("residence_id")
    for column in ("commune", "epci", "qpv"):
        from_residence = out["residence_id"].map(by_residence[column])
        out[column] = out[column].where(out[column].notna(), from_residence)
    out["qpv"] = out["qpv"].astype("bool")
    out["fragile"] = out["residence_id"].map(by_residence["fragile"]).astype("bool")
    out["room_group"] = room_group(out["rooms"])
    out["month"] = out["available_on"].dt.strftime("%Y-%m").astype("str")
    out["construction_period"] = construction_period(out["built_year"])
    out["in_flux"] = out["flux_status"] == "flux"
    out["segment"] = (
        out["room_group"] + "|" + np.where(out["qpv"], "QPV", "non-QPV") + "|" + out["financing"]
    ).astype("str")
    return out


def derive_applicants(
    applicants: pd.DataFrame,
    residences: pd.DataFrame,
    thresholds: pd.DataFrame,
    reference: dt.date,
) -> pd.DataFrame:
    """Applicants with consumption units, category, wait, home EPCI and first-quartile flag.

    The home EPCI is the EPCI of the first wished commune where the landlord has a residence;
    ``q1`` compares resources per UC with that EPCI's threshold (empty when no wish is here).
    The quota rules use the EPCI of each unit instead (see ``eligibility``).
    """
    out = applicants.copy()
    out["consumption_units"] = consumption_units(out["adults"], out["children"])
    out["income_per_uc"] = out["annual_income"] / out["consumption_units"]
    out["category"] = household_category(out["household_size"], out["disability"])
    out["wait_months"] = wait_months(out["filed_on"], reference)
    commune_epci = residences.drop_duplicates("commune").set_index("commune")["epci"]
    wishes = out["wished_communes"].fillna("").str.split(";").explode().str.strip()
    out["first_wish"] = wishes.groupby(level=0, sort=False).first().astype("str")
    here = wishes[wishes.isin(commune_epci.index)]
    first_here = here.groupby(level=0, sort=False).first()
    out["home_epci"] = first_here.map(commune_epci).reindex(out.index).astype("str")
    threshold = out["home_epci"].map(thresholds.set_index("epci")["q1_threshold"])
    below = (out["income_per_uc"] <= threshold).to_numpy()
    q1 = pd.array(below, dtype="boolean")
    q1[threshold.isna().to_numpy()] = pd.NA
    out["q1"] = q1
    return out
