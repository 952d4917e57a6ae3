"""Incomes of the synthetic demand and the first-quartile thresholds they imply.

**Incomes.** Each household's reference income is a ratio of its PLUS ceiling (by category:
size capped at 6, plus one with a disabled member; plus the amount per person beyond six):

``income = PLUS_ceiling × exp(σ z + ln level(EPCI) + ln m(profile) + s)``

with ``z`` standard normal, ``σ = 0.24``, ``level`` the income level of the home EPCI,
``m`` a product of plausible profile factors (without housing × 0.55, hosted × 0.80,
priority × 0.85, DALO × 0.80, income from work × 1.45, Action Logement employee × 1.10,
transfer × 1.05, single parent × 0.90), and ``s`` the shift that puts exactly 70 % of the
households under their PLAI ceiling (70-75 % is typical of social-housing demand). Then
exactly 3 % of the households above their PLAI ceiling (twice as likely when they earn
from work) get an income 2-40 % above their PLUS ceiling: tenants whose income rose.

**Thresholds.** The first-quartile threshold of an EPCI (arrêté premier quartile) is the
25th percentile of the resources per consumption unit of the applicants whose home EPCI it
is (the EPCI of their first wished commune in the territory), with
``uc = 1 + 0.5 (adults − 1) + 0.3 children``, rounded to the euro; so that about 25 % of each
EPCI's applicants are first quartile by construction. The calibration above puts these
thresholds in the real 2021 range (417 EPCIs: min 5,964 €, mean 8,436 €, max 12,087 €).
The LEC quotas apply (``lec_applies``) to the EPCIs that have a residence in QPV.

**Highest accepted rent.** Half of the applicants state a highest rent plus charges, at
25-35 % of their monthly income, rounded to 10 € and at least 150 €.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fluxopt.generate.ceilings import household_ceiling
from fluxopt.generate.sampling import exact_count, pick

INCOME_SPREAD = 0.24
UNDER_PLAI_SHARE = 0.70
OVER_PLUS_SHARE = 0.03
PROFILE_FACTORS = {
    "homeless": 0.55,
    "hosted": 0.80,
    "priority": 0.85,
    "dalo": 0.80,
    "working": 1.45,
    "employer_action_logement": 1.10,
    "is_transfer": 1.05,
    "single_parent": 0.90,
}
MAX_RENT_SHARE = 0.5
MIN_MAX_RENT = 150.0


def consumption_units(adults: np.ndarray, children: np.ndarray) -> np.ndarray:
    """Consumption units of the first-quartile arrêté: ``1 + 0.5 (adults − 1) + 0.3 children``."""
    return 1.0 + 0.5 * (adults - 1.0) + 0.3 * children


def ceiling_category(size: np.ndarray, disability: np.ndarray) -> np.ndarray:
    """Ceiling category 1..6: size capped at 6, plus one with a disabled member (capped)."""
    return np.minimum(np.minimum(size, 6) + disability.astype(int), 6)


def annual_incomes(
    rng: np.random.Generator,
    households: pd.DataFrame,
    level: np.ndarray,
    ceilings: pd.DataFrame,
    round_money: bool,
) -> np.ndarray:
    """Reference income of each household (see the module docstring for the law)."""
    size = households["household_size"].to_numpy()
    category = ceiling_category(size, households["disability"].to_numpy())
    plus = household_ceiling(ceilings, "PLUS", category, size)
    plai = household_ceiling(ceilings, "PLAI", category, size)
    log_ratio = INCOME_SPREAD * rng.standard_normal(len(size)) + np.log(level)
    for column, factor in PROFILE_FACTORS.items():
        log_ratio = log_ratio + np.log(factor) * households[column].to_numpy(dtype=float)
    margin = np.log(plai / plus) - log_ratio
    shift = float(np.quantile(margin, 1.0 - UNDER_PLAI_SHARE))
    income = plus * np.exp(log_ratio + shift)
    step = 100.0 if round_money else 1.0
    income = np.round(income / step) * step
    # Rounding must not move a household across its PLAI ceiling.
    below = log_ratio + shift < np.log(plai / plus)
    income = np.where(below, np.minimum(income, np.floor(plai / step) * step), income)
    weight = np.where(below, 0.0, 1.0 + households["working"].to_numpy(dtype=float))
    over = pick(rng, weight, exact_count(len(size), OVER_PLUS_SHARE))
    above = np.ceil(plus * rng.uniform(1.02, 1.40, len(size)) / step) * step
    return np.where(over, above, income)


def thresholds_table(
    epcis: pd.DataFrame,
    home_epci: np.ndarray,
    income_per_uc: np.ndarray,
    lec_epcis: set[str],
) -> pd.DataFrame:
    """One row per EPCI: the 25th percentile of its applicants' resources per UC."""
    frame = pd.DataFrame({"epci": home_epci, "per_uc": income_per_uc})
    quartile = frame.groupby("epci")["per_uc"].quantile(0.25)
    fallback = float(np.quantile(income_per_uc, 0.25))
    threshold = epcis["epci"].map(quartile).fillna(fallback).round(0)
    return pd.DataFrame(
        {
            "epci": epcis["epci"],
            "epci_name": epcis["epci_name"],
            "q1_threshold": threshold.astype(float),
            "lec_applies": epcis["epci"].isin(lec_epcis),
        }
    )


def max_rents(rng: np.random.Generator, income: np.ndarray) -> pd.Series:
    """Highest monthly rent + charges accepted, for about half the applicants (else empty)."""
    n = len(income)
    stated = pick(rng, np.ones(n), exact_count(n, MAX_RENT_SHARE))
    value = np.maximum(np.round(income / 12.0 * rng.uniform(0.25, 0.35, n), -1), MIN_MAX_RENT)
    return pd.Series(np.where(stated, value, np.nan), dtype="float64")
