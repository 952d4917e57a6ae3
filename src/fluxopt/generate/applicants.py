"""The active demand (demandes actives) of a synthetic instance and its EPCI thresholds.

Assembles :mod:`~fluxopt.generate.households` (who applies), :mod:`~fluxopt.generate.wishes`
(where and what they wish, where they live now) and :mod:`~fluxopt.generate.incomes` (how
much they earn, the first-quartile thresholds that follow, the rent they accept).

Identifiers look like the unique registration number (numéro unique): department on three
digits, year and month of filing, then a sequence number (``0252511000123``). Urban-renewal
relocations (1.5 % of the demand) are transfers whose home EPCI has a QPV residence; the
other transfers' current landlord is the instance's landlord for 60 % of them.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from fluxopt.generate.households import make_households
from fluxopt.generate.incomes import (
    annual_incomes,
    consumption_units,
    max_rents,
    thresholds_table,
)
from fluxopt.generate.presets import Preset
from fluxopt.generate.sampling import exact_count, pick, stream
from fluxopt.generate.territory import Territory
from fluxopt.generate.wishes import current_dwelling, wished_communes, wished_rooms

RENEWAL_SHARE = 0.015
OWN_LANDLORD_SHARE = 0.6
OTHER_LANDLORDS = ("Other landlord A", "Other landlord B", "Other landlord C")

APPLICANT_COLUMNS = (
    "applicant_id", "household_size", "adults", "children", "annual_income", "filed_on",
    "expires_on", "is_transfer", "current_landlord", "dalo", "priority", "renewal_relocation",
    "wished_communes", "wished_rooms", "max_rent", "needs_access", "employer_action_logement",
    "state_agent", "homeless", "hosted", "threatened_eviction", "domestic_violence",
    "disability", "single_parent", "indecent_housing", "job_mobility", "rooms_now",
    "housing_cost_now", "refusals",
)  # fmt: skip


def make_applicants(
    preset: Preset,
    territory: Territory,
    residences: pd.DataFrame,
    ceilings: pd.DataFrame,
    seed: int,
    reference: dt.date,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The applicants table and the thresholds table consistent with its incomes."""
    rng = stream(seed, "applicants")
    people = make_households(preset, rng, reference)
    wishes, first = wished_communes(stream(seed, "wishes"), preset, territory)
    epci_pos = territory.communes["epci_pos"].to_numpy()[first]
    home_epci = territory.epcis["epci"].to_numpy()[epci_pos]
    level = territory.epcis["income_level"].to_numpy()[epci_pos]
    income_rng = stream(seed, "incomes")
    income = annual_incomes(income_rng, people, level, ceilings, preset.round_money)
    lec_epcis = set(residences.loc[residences["qpv"], "epci"])
    per_uc = income / consumption_units(
        people["adults"].to_numpy(dtype=float), people["children"].to_numpy(dtype=float)
    )
    thresholds = thresholds_table(territory.epcis, home_epci, per_uc, lec_epcis)
    is_transfer = people["is_transfer"].to_numpy()
    renewal = pick(
        rng,
        np.where(is_transfer & np.isin(home_epci, list(lec_epcis)), 1.0, 0.0),
        exact_count(preset.applicants, RENEWAL_SHARE),
    )
    own = rng.random(preset.applicants) < OWN_LANDLORD_SHARE
    other = np.asarray(OTHER_LANDLORDS)[rng.integers(0, len(OTHER_LANDLORDS), len(own))]
    landlord = np.where(is_transfer, np.where(own | renewal, preset.landlord, other), "")
    size = people["household_size"].to_numpy()
    rooms_now, cost_now = current_dwelling(rng, size, people["situation"].to_numpy())
    ids = registration_numbers(preset.department, people["filed_on"].to_numpy())
    out = people.drop(columns=["situation", "working"]).assign(
        applicant_id=ids,
        annual_income=income,
        expires_on=pd.Series(pd.NaT, index=people.index, dtype="datetime64[s]"),
        current_landlord=landlord,
        renewal_relocation=renewal,
        wished_communes=wishes.to_numpy(),
        wished_rooms=wished_rooms(rng, size).to_numpy(),
        max_rent=max_rents(income_rng, income).to_numpy(),
        rooms_now=rooms_now,
        housing_cost_now=cost_now,
    )
    return out[list(APPLICANT_COLUMNS)], thresholds


def registration_numbers(department: str, filed_on: np.ndarray) -> np.ndarray:
    """Unique numbers: department (3 digits), year and month of filing, sequence (6 digits)."""
    months = filed_on.astype("datetime64[M]").astype("int64")
    year, month = months // 12 + 1970, months % 12 + 1
    sequence = np.arange(1, len(filed_on) + 1)
    code = pd.Series((year % 100) * 10**8 + month * 10**6 + sequence).astype(str).str.zfill(10)
    return (f"{department:0>3}" + code).to_numpy(dtype=object)
