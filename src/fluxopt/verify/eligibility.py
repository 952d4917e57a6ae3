"""Eligibility of one listed pair, re-derived row by row from the instance.

This is deliberately a second, scalar implementation of the rules of
:mod:`fluxopt.eligibility` (which is vectorised by commune and typology), so that a bug in
one is caught by the other.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from fluxopt.constraints.ruleset import EligibilityRule


def ceiling_for(
    ceilings: dict[tuple[str, int], tuple[float, float]], financing: str, size: int, disabled: bool
) -> float:
    """Income ceiling of a household for a financing class."""
    category = min(min(size, 6) + (1 if disabled else 0), 6)
    ceiling, extra = ceilings.get((financing, category), (-math.inf, 0.0))
    if category == 6:
        extra = ceilings.get((financing, 6), (0.0, 0.0))[1]
    return ceiling + extra * max(0, size - 6)


def benefit(rent: float, size: int, monthly: float, rule: EligibilityRule) -> float:
    """The simplified housing benefit of the rule, for one household."""
    b = rule.benefit
    if not b.enabled:
        return 0.0
    largest = max(b.rent_cap)
    cap = b.rent_cap[min(size, largest)] + b.rent_cap_extra * max(0, size - largest)
    allowance = b.charge_allowance + b.charge_allowance_extra * max(0, size - 2)
    return max(0.0, min(rent, cap) + allowance - (b.base + b.rate * monthly))


def pair_problems(
    unit: dict[str, Any],
    applicant: dict[str, Any],
    ceilings: dict[tuple[str, int], tuple[float, float]],
    rule: EligibilityRule,
) -> list[str]:
    """Every eligibility rule the pair breaks (empty list: eligible)."""
    problems: list[str] = []
    wishes = [c.strip() for c in str(applicant["wished_communes"]).split(";") if c.strip()]
    if unit["commune"] not in wishes:
        problems.append(f"commune {unit['commune']} is not wished")
    size = int(applicant["household_size"])
    largest = max(rule.rooms_for_size)
    low, high = rule.rooms_for_size[min(max(size, 1), largest)]
    wished = applicant.get("wished_rooms")
    if rule.wished_rooms_slack is not None and wished is not None and not pd.isna(wished):
        low = max(low, int(wished) - rule.wished_rooms_slack)
        high = min(high, int(wished) + rule.wished_rooms_slack)
    rooms = int(unit["rooms"])
    if not low <= rooms <= high:
        problems.append(f"T{rooms} does not fit a household of {size} (allowed T{low}-T{high})")
    income = float(applicant["annual_income"])
    if rule.check_income_ceiling:
        limit = ceiling_for(ceilings, unit["financing"], size, bool(applicant["disability"]))
        if income > limit:
            problems.append(
                f"income {income:.0f} is over the {unit['financing']} ceiling {limit:.0f}"
            )
    cost = float(unit["rent"]) + float(unit["charges"])
    if rule.respect_max_rent:
        max_rent = applicant.get("max_rent")
        if max_rent is not None and not pd.isna(max_rent) and cost > float(max_rent):
            problems.append(f"rent {cost:.0f} is over the stated maximum {float(max_rent):.0f}")
    reachable = bool(unit["accessible"]) or bool(unit["elevator"]) or int(unit["floor"]) <= 0
    if rule.check_access and bool(applicant["needs_access"]) and not reachable:
        problems.append("the household needs an accessible unit")
    if rule.max_rent_burden is not None:
        adults, children = int(applicant["adults"]), int(applicant["children"])
        uc = 1.0 + 0.5 * (adults - 1) + 0.3 * children
        monthly = max(income, rule.income_floor_per_uc * uc) / 12.0
        burden = (cost - benefit(float(unit["rent"]), size, monthly, rule)) / monthly
        if burden > rule.max_rent_burden + 1e-9:
            problems.append(f"rent burden {burden:.0%} is over {rule.max_rent_burden:.0%}")
    available = pd.Timestamp(unit["available_on"])
    if pd.Timestamp(applicant["filed_on"]) > available:
        problems.append("the demand was filed after the unit became available")
    expires = applicant.get("expires_on")
    if expires is not None and not pd.isna(expires) and pd.Timestamp(expires) < available:
        problems.append("the demand had lapsed when the unit became available")
    return problems
