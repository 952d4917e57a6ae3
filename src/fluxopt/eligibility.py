"""Eligible unit × applicant pairs, found without ever forming the dense grid.

A pair (unit ``u``, applicant ``a``) is eligible when every enabled rule holds:

- wish: ``u``'s commune is among ``a``'s wished communes (its rank is kept);
- typology: ``rooms_min(size_a) <= rooms_u <= rooms_max(size_a)`` and, when ``a`` states a
  wished typology ``w_a``, ``|rooms_u - w_a| <= slack``;
- income ceiling: ``income_a <= ceiling(financing_u, category_a) + extra · max(0, size_a - 6)``;
- rent burden (taux d'effort): ``(rent_u + charges_u - benefit(u, a)) / (resources_a / 12)
  <= max_burden``, resources being the income floored at ``income_floor_per_uc · uc_a``
  (social minima are not in the taxable income) and the benefit the simplified APL estimate
  of :class:`~fluxopt.constraints.ruleset.BenefitRule`;
- stated maximum: ``rent_u + charges_u <= max_rent_a`` when ``a`` states one;
- access: an applicant who needs access gets an accessible unit, or one on the ground floor,
  or one served by an elevator;
- activity: ``filed_on_a <= available_on_u`` and the demand has not lapsed by then.

Pairs are produced commune by commune (all units of a commune share its EPCI, so the
first-quartile flag of the pair is the applicant's flag against that EPCI's threshold), and
each chunk can be pruned at once (see :mod:`fluxopt.candidates`), so memory stays bounded by
the largest commune.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.constraints.ruleset import BenefitRule, EligibilityRule

FINANCING = ("PLAI", "PLUS", "PLS", "PLI")
_NAT = np.datetime64("NaT")


@dataclass(frozen=True)
class ApplicantArrays:
    """Positional arrays of the applicant columns the eligibility rules read."""

    income: npt.NDArray[np.float64]
    resources: npt.NDArray[np.float64]
    income_per_uc: npt.NDArray[np.float64]
    size: npt.NDArray[np.int64]
    rooms_lo: npt.NDArray[np.int64]
    rooms_hi: npt.NDArray[np.int64]
    ideal_rooms: npt.NDArray[np.float64]
    ceiling: npt.NDArray[np.float64]
    """Income ceiling per applicant and financing class, shape (applicants, 4)."""
    max_rent: npt.NDArray[np.float64]
    needs_access: npt.NDArray[np.bool_]
    filed_on: npt.NDArray[np.datetime64]
    expires_on: npt.NDArray[np.datetime64]


@dataclass(frozen=True)
class UnitArrays:
    """Positional arrays of the unit columns the eligibility rules read."""

    commune: npt.NDArray[np.object_]
    epci: npt.NDArray[np.object_]
    rooms: npt.NDArray[np.int64]
    cost: npt.NDArray[np.float64]
    rent: npt.NDArray[np.float64]
    financing: npt.NDArray[np.int64]
    access_ok: npt.NDArray[np.bool_]
    available_on: npt.NDArray[np.datetime64]


@dataclass(frozen=True)
class PairChunk:
    """Eligible pairs of one commune: positions and per-pair attributes."""

    unit: npt.NDArray[np.int64]
    applicant: npt.NDArray[np.int64]
    wish_rank: npt.NDArray[np.int64]
    q1: npt.NDArray[np.bool_]
    burden: npt.NDArray[np.float64]
    fit: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.unit)

    def take(self, keep: npt.NDArray[np.int64] | npt.NDArray[np.bool_]) -> PairChunk:
        """The sub-chunk at the given positions or mask."""
        return PairChunk(
            self.unit[keep],
            self.applicant[keep],
            self.wish_rank[keep],
            self.q1[keep],
            self.burden[keep],
            self.fit[keep],
        )


def room_bounds(
    size: npt.NDArray[np.int64], wished: pd.Series, rule: EligibilityRule
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Allowed typology range per applicant and its ideal typology (for the fit)."""
    largest = max(rule.rooms_for_size)
    table_lo = np.zeros(largest + 1, dtype=np.int64)
    table_hi = np.zeros(largest + 1, dtype=np.int64)
    for household, (low, high) in rule.rooms_for_size.items():
        table_lo[household], table_hi[household] = low, high
    capped = np.clip(size, 1, largest)
    lo, hi = table_lo[capped], table_hi[capped]
    ideal = (lo + hi) / 2.0
    wished_values = wished.to_numpy(dtype=np.float64, na_value=np.nan)
    has_wish = ~np.isnan(wished_values)
    if rule.wished_rooms_slack is not None:
        slack = rule.wished_rooms_slack
        wished_int = np.where(has_wish, wished_values, 0).astype(np.int64)
        lo = np.where(has_wish, np.maximum(lo, wished_int - slack), lo)
        hi = np.where(has_wish, np.minimum(hi, wished_int + slack), hi)
    ideal = np.where(has_wish, wished_values, ideal)
    return lo, hi, ideal


def income_ceilings(applicants: pd.DataFrame, ceilings: pd.DataFrame) -> npt.NDArray[np.float64]:
    """Income ceiling of each applicant for each financing class, shape (applicants, 4).

    ``ceiling(f, category) + per_extra_person(f) · max(0, size - 6)``; a financing class
    without ceilings admits nobody (``-inf``).
    """
    table = np.full((len(FINANCING), 7), -np.inf)
    extra = np.zeros(len(FINANCING))
    for financing, category, ceiling, per_extra in zip(
        ceilings["financing"].astype(str),
        ceilings["category"].to_numpy(dtype=np.int64),
        ceilings["ceiling"].to_numpy(dtype=np.float64),
        ceilings["per_extra_person"].to_numpy(dtype=np.float64),
        strict=True,
    ):
        f = FINANCING.index(financing)
        table[f, category] = ceiling
        if category == 6:
            extra[f] = per_extra
    category = applicants["category"].to_numpy(dtype=np.int64)
    beyond = np.maximum(applicants["household_size"].to_numpy(dtype=np.int64) - 6, 0)
    return (table[:, category] + extra[:, None] * beyond[None, :]).T


def applicant_arrays(
    applicants: pd.DataFrame, ceilings: pd.DataFrame, rule: EligibilityRule
) -> ApplicantArrays:
    """Extract the arrays the rules need from the derived applicants table."""
    size = applicants["household_size"].to_numpy(dtype=np.int64)
    lo, hi, ideal = room_bounds(size, applicants["wished_rooms"], rule)
    income = applicants["annual_income"].to_numpy(dtype=np.float64)
    uc = applicants["consumption_units"].to_numpy(dtype=np.float64)
    return ApplicantArrays(
        income=income,
        resources=np.maximum(income, rule.income_floor_per_uc * uc),
        income_per_uc=applicants["income_per_uc"].to_numpy(dtype=np.float64),
        size=size,
        rooms_lo=lo,
        rooms_hi=hi,
        ideal_rooms=ideal,
        ceiling=income_ceilings(applicants, ceilings),
        max_rent=applicants["max_rent"].to_numpy(dtype=np.float64, na_value=np.nan),
        needs_access=applicants["needs_access"].to_numpy(dtype=bool),
        filed_on=applicants["filed_on"].to_numpy(dtype="datetime64[s]"),
        expires_on=applicants["expires_on"].to_numpy(dtype="datetime64[s]"),
    )


def unit_arrays(units: pd.DataFrame) -> UnitArrays:
    """Extract the arrays the rules need from the derived units table."""
    codes = {f: i for i, f in enumerate(FINANCING)}
    financing = np.array([codes[f] for f in units["financing"].astype(str)], dtype=np.int64)
    access_ok = (
        units["accessible"].to_numpy(dtype=bool)
        | units["elevator"].to_numpy(dtype=bool)
        | (units["floor"].to_numpy(dtype=np.int64) <= 0)
    )
    rent = units["rent"].to_numpy(dtype=np.float64)
    return UnitArrays(
        commune=units["commune"].to_numpy(dtype=object),
        epci=units["epci"].to_numpy(dtype=object),
        rooms=units["rooms"].to_numpy(dtype=np.int64),
        cost=rent + units["charges"].to_numpy(dtype=np.float64),
        rent=rent,
        financing=financing,
        access_ok=access_ok,
        available_on=units["available_on"].to_numpy(dtype="datetime64[s]"),
    )


def housing_benefit(
    rent: npt.NDArray[np.float64],
    size: npt.NDArray[np.int64],
    monthly_resources: npt.NDArray[np.float64],
    rule: BenefitRule,
) -> npt.NDArray[np.float64]:
    """Simplified monthly housing benefit (APL), ⚠ an estimate, not the legal formula.

    ``max(0, min(rent, cap(size)) + allowance(size) - (base + rate · resources))``.
    """
    if not rule.enabled:
        return np.zeros_like(rent)
    largest = max(rule.rent_cap)
    caps = np.array([rule.rent_cap.get(min(max(k, 1), largest), 0.0) for k in range(largest + 1)])
    capped = np.minimum(size, largest)
    cap = caps[capped] + rule.rent_cap_extra * np.maximum(size - largest, 0)
    allowance = rule.charge_allowance + rule.charge_allowance_extra * np.maximum(size - 2, 0)
    participation = rule.base + rule.rate * monthly_resources
    return np.maximum(0.0, np.minimum(rent, cap) + allowance - participation)


def wish_table(applicants: pd.DataFrame) -> pd.DataFrame:
    """One row per (applicant position, wished commune, rank), rank 1 = first wish."""
    lists = applicants["wished_communes"].fillna("").str.split(";")
    lengths = lists.map(len).to_numpy()
    flat = np.concatenate(lists.to_numpy()) if len(lists) else np.array([], dtype=object)
    owner = np.repeat(np.arange(len(applicants)), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    rank = np.arange(len(flat)) - starts + 1
    table = pd.DataFrame({"applicant": owner, "commune": pd.Series(flat).str.strip(), "rank": rank})
    table = table[table["commune"] != ""]
    return table.drop_duplicates(["applicant", "commune"], keep="first")


def eligible_pairs(
    units: pd.DataFrame,
    applicants: pd.DataFrame,
    ceilings: pd.DataFrame,
    thresholds: pd.DataFrame,
    rule: EligibilityRule,
) -> Iterator[PairChunk]:
    """Yield the eligible pairs, one chunk per commune that has units."""
    apps = applicant_arrays(applicants, ceilings, rule)
    unit = unit_arrays(units)
    threshold_of = thresholds.set_index("epci")["q1_threshold"]
    wishes = wish_table(applicants)
    by_commune: dict[str, pd.DataFrame] = {
        str(name): rows for name, rows in wishes.groupby("commune", sort=True)
    }
    unit_order = pd.Series(np.arange(len(units))).groupby(unit.commune, sort=True)
    for commune, unit_positions in unit_order:
        wish_rows = by_commune.get(str(commune))
        if wish_rows is None:
            continue
        chunk = _commune_pairs(
            unit_positions.to_numpy(dtype=np.int64),
            wish_rows["applicant"].to_numpy(dtype=np.int64),
            wish_rows["rank"].to_numpy(dtype=np.int64),
            unit,
            apps,
            float(threshold_of.get(unit.epci[unit_positions.iloc[0]], np.nan)),
            rule,
        )
        if len(chunk):
            yield chunk


def _commune_pairs(
    unit_pos: npt.NDArray[np.int64],
    app_pos: npt.NDArray[np.int64],
    ranks: npt.NDArray[np.int64],
    unit: UnitArrays,
    apps: ApplicantArrays,
    threshold: float,
    rule: EligibilityRule,
) -> PairChunk:
    """Pairs of one commune, typology by typology (a dense block per typology only)."""
    parts: list[PairChunk] = []
    for rooms in np.unique(unit.rooms[unit_pos]):
        units_r = unit_pos[unit.rooms[unit_pos] == rooms]
        if rule.rooms_for_size:
            fits = (apps.rooms_lo[app_pos] <= rooms) & (rooms <= apps.rooms_hi[app_pos])
        else:
            fits = np.ones(len(app_pos), dtype=bool)
        apps_r, ranks_r = app_pos[fits], ranks[fits]
        if len(apps_r) == 0:
            continue
        u = np.repeat(units_r, len(apps_r))
        a = np.tile(apps_r, len(units_r))
        rank = np.tile(ranks_r, len(units_r))
        ok = _pair_rules(u, a, unit, apps, rule)
        u, a, rank = u[ok], a[ok], rank[ok]
        monthly = apps.resources[a] / 12.0
        benefit = housing_benefit(unit.rent[u], apps.size[a], monthly, rule.benefit)
        burden = (unit.cost[u] - benefit) / monthly
        if rule.max_rent_burden is not None:
            affordable = burden <= rule.max_rent_burden
            u, a, rank, burden = u[affordable], a[affordable], rank[affordable], burden[affordable]
        q1 = (
            apps.income_per_uc[a] <= threshold if np.isfinite(threshold) else np.zeros(len(a), bool)
        )
        fit = np.clip(1.0 - 0.5 * np.abs(unit.rooms[u] - apps.ideal_rooms[a]), 0.0, 1.0)
        parts.append(PairChunk(u, a, rank, q1, burden, fit))
    if not parts:
        empty_i = np.zeros(0, dtype=np.int64)
        empty_f = np.zeros(0, dtype=np.float64)
        return PairChunk(empty_i, empty_i, empty_i, np.zeros(0, dtype=bool), empty_f, empty_f)
    return concat_chunks(parts)


def _pair_rules(
    u: npt.NDArray[np.int64],
    a: npt.NDArray[np.int64],
    unit: UnitArrays,
    apps: ApplicantArrays,
    rule: EligibilityRule,
) -> npt.NDArray[np.bool_]:
    ok = apps.filed_on[a] <= unit.available_on[u]
    expires = apps.expires_on[a]
    ok &= np.isnat(expires) | (expires >= unit.available_on[u])
    if rule.check_income_ceiling:
        ok &= apps.income[a] <= apps.ceiling[a, unit.financing[u]]
    if rule.respect_max_rent:
        limit = apps.max_rent[a]
        ok &= np.isnan(limit) | (unit.cost[u] <= limit)
    if rule.check_access:
        ok &= ~apps.needs_access[a] | unit.access_ok[u]
    return ok


def concat_chunks(chunks: list[PairChunk]) -> PairChunk:
    """One chunk holding every pair of ``chunks``, in order."""
    return PairChunk(
        np.concatenate([c.unit for c in chunks]),
        np.concatenate([c.applicant for c in chunks]),
        np.concatenate([c.wish_rank for c in chunks]),
        np.concatenate([c.q1 for c in chunks]),
        np.concatenate([c.burden for c in chunks]),
        np.concatenate([c.fit for c in chunks]),
    )
