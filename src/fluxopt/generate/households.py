"""Households of the synthetic demand: composition, situation, criteria and priority.

Calibration (``domain.md`` §6 and the seed's figures table; ⚠ rates marked "plausible" are
not sourced and only keep the criteria in realistic proportions and correlations):

- household size 1 / 2 / 3 / 4 / 5+ persons = 40 / 25 / 15 / 11 / 9 %; ``adults`` (14 and
  over) + ``children`` (under 14) = ``household_size``; single-parent families are the
  one-adult households with children and some parents living with an older child;
- transfers (mutations, applicants already in social housing): the preset's share (47 % in
  the Doubs file, 30 % nationally);
- situation of the other applicants (plausible): 7 % without housing, 38 % hosted by third
  parties, 45 % private tenants, 10 % other (owners, hostels);
- income from work for about 55 % (plausible); of them 30 % employees of firms contributing to
  Action Logement and 9 % of the others State agents;
- priority households (L441-1, publics prioritaires): exactly 22 %, drawn with odds rising with
  the criteria (homeless, threatened eviction, domestic violence, indecent housing, disability,
  hosted); DALO (droit au logement opposable): exactly 3 %, all priority;
- needs an accessible dwelling: exactly 5 %, mostly households with a disabled member;
- demand age: the preset's share filed under 12 months before the reference date (70 % in
  the Doubs file), the rest on a long tail (12 months + exponential of mean 16 months, capped
  at 10 years), transfers waiting longer;
- refusals of suitable offers in the last year: 0 for 92 %, 1 for 6 %, 2 for 2 %.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from fluxopt.generate.presets import Preset
from fluxopt.generate.sampling import exact_count, pick, shuffled_labels

SIZE_SHARES = {1: 40.0, 2: 25.0, 3: 15.0, 4: 11.0, 5: 5.5, 6: 2.3, 7: 0.8, 8: 0.4}
"""Share (%) of each household size."""
SITUATIONS = ("homeless", "hosted", "private_tenant", "other")
SITUATION_SHARES = (0.07, 0.38, 0.45, 0.10)
"""Housing situation of the applicants who are not social tenants yet."""
PRIORITY_SHARE = 0.22
DALO_SHARE = 0.03
NEEDS_ACCESS_SHARE = 0.05
DAYS_PER_MONTH = 365.25 / 12
MAX_WAIT_MONTHS = 120.0


def make_households(preset: Preset, rng: np.random.Generator, reference: dt.date) -> pd.DataFrame:
    """One row per applicant: composition, situation, criteria, priority and filing date.

    The frame also keeps the hidden columns ``situation`` and ``working`` that incomes and
    wishes use.
    """
    n = preset.applicants
    size = shuffled_labels(rng, n, list(SIZE_SHARES), list(SIZE_SHARES.values())).astype(int)
    adults, children, single_parent = _composition(rng, size)
    is_transfer = pick(rng, 1.0 + 0.1 * (size - 1), exact_count(n, preset.transfer_share))
    situation = np.full(n, "social_tenant", dtype=object)
    situation[~is_transfer] = shuffled_labels(
        rng, int((~is_transfer).sum()), SITUATIONS, SITUATION_SHARES
    )
    homeless = situation == "homeless"
    hosted = situation == "hosted"
    private = situation == "private_tenant"
    work_odds = np.select([homeless, hosted, is_transfer], [0.25, 0.50, 0.60], 0.55)
    working = rng.random(n) < work_odds
    employer = working & (rng.random(n) < 0.30)
    state_agent = working & ~employer & (rng.random(n) < 0.09)
    job_mobility = working & (rng.random(n) < 0.09)
    eviction = rng.random(n) < np.select([private, is_transfer], [0.06, 0.015], 0.01)
    violence = rng.random(n) < np.where(adults == 1, 0.05, 0.01)
    disability = rng.random(n) < np.where(size == 1, 0.10, 0.07)
    indecent = rng.random(n) < np.select(
        [private, situation == "other", hosted], [0.08, 0.05, 0.02], 0.01
    )
    priority_weight = (
        0.3
        + 6.0 * homeless
        + 5.0 * eviction
        + 6.0 * violence
        + 3.0 * indecent
        + 2.0 * disability
        + 1.0 * hosted
        + 0.5 * single_parent
    )
    priority = pick(rng, priority_weight, exact_count(n, PRIORITY_SHARE))
    dalo_weight = np.where(priority, 1.0 + 3.0 * homeless + 2.0 * eviction + indecent, 0.0)
    dalo = pick(rng, dalo_weight, exact_count(n, DALO_SHARE))
    needs_access = pick(rng, np.where(disability, 40.0, 1.0), exact_count(n, NEEDS_ACCESS_SHARE))
    refusals = shuffled_labels(rng, n, [0, 1, 2], [0.92, 0.06, 0.02]).astype(int)
    filed_on = _filing_dates(rng, preset, is_transfer, reference)
    return pd.DataFrame(
        {
            "household_size": size,
            "adults": adults,
            "children": children,
            "filed_on": filed_on,
            "is_transfer": is_transfer,
            "dalo": dalo,
            "priority": priority,
            "needs_access": needs_access,
            "employer_action_logement": employer,
            "state_agent": state_agent,
            "homeless": homeless,
            "hosted": hosted,
            "threatened_eviction": eviction,
            "domestic_violence": violence,
            "disability": disability,
            "single_parent": single_parent,
            "indecent_housing": indecent,
            "job_mobility": job_mobility,
            "refusals": refusals,
            "situation": situation.astype(str),
            "working": working,
        }
    )


def _composition(
    rng: np.random.Generator, size: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Adults, children and single-parent flag of each household of the given size.

    Two persons: a couple (45 %), a parent with a child under 14 (40 %) or with an older
    child (15 %). Three or more: a couple with children (65 %, one child aged 14 or over in
    a fifth of them), a single parent with children (25 %, same), three adults and children
    (10 %).
    """
    n = len(size)
    draw = rng.random(n)
    older = rng.random(n) < 0.2
    adults = np.ones(n, dtype=int)
    single_parent = np.zeros(n, dtype=bool)
    two = size == 2
    adults[two & ((draw < 0.45) | (draw >= 0.85))] = 2
    single_parent[two & (draw >= 0.45)] = True
    many = size >= 3
    couple = many & (draw < 0.65)
    alone = many & (draw >= 0.65) & (draw < 0.90)
    three = many & (draw >= 0.90)
    adults[couple] = 2 + older[couple]
    adults[alone] = 1 + older[alone]
    single_parent[alone] = True
    adults[three] = 3
    adults = np.minimum(adults, size)
    return adults, size - adults, single_parent


def _filing_dates(
    rng: np.random.Generator, preset: Preset, is_transfer: np.ndarray, reference: dt.date
) -> np.ndarray:
    """Filing dates: the preset's share under 12 months, the rest on a long tail.

    Recent demands have a density decreasing with age (a truncated exponential of scale
    10 months on [0, 12)); older ones wait ``12 + Exp(16)`` months, at most 10 years.
    Transfers are 1.4 times as likely to be among the older demands.
    """
    n = len(is_transfer)
    old = pick(
        rng, np.where(is_transfer, 1.4, 1.0), n - exact_count(n, preset.under_12_months_share)
    )
    scale, limit = 10.0, 12.0
    recent = -scale * np.log1p(-rng.random(n) * (1.0 - np.exp(-limit / scale)))
    tail = np.minimum(12.0 + rng.exponential(16.0, n), MAX_WAIT_MONTHS)
    months = np.where(old, tail, recent)
    days = np.floor(months * DAYS_PER_MONTH).astype("int64")
    days = np.where(old, np.maximum(days, 366), np.minimum(days, 365))
    start = np.datetime64(reference.isoformat(), "D")
    return (start - days.astype("timedelta64[D]")).astype("datetime64[s]")
