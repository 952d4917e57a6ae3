"""Eligible pairs: the vectorised filters against the verifier's scalar re-check, rule by rule.

Every test compares :func:`fluxopt.eligibility.eligible_pairs` (vectorised by commune and
typology) with :func:`fluxopt.verify.eligibility.pair_problems` (one pair at a time) over the
whole unit × applicant grid: an eligible pair has no problem, any other pair has at least
one. Each rule then has a micro-case where it excludes a pair (binding) and one where it
lets the pair through (non-binding, or switched off).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core_instances import applicant, build, unit
from fluxopt.constraints.ruleset import BenefitRule, EligibilityRule, load_constraint_set
from fluxopt.eligibility import eligible_pairs, room_bounds
from fluxopt.generate import PRESETS, generate
from fluxopt.instance import Instance, load_instance
from fluxopt.verify.eligibility import benefit, pair_problems

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
DEFAULT = EligibilityRule()
Pair = tuple[str, str]


def vector_pairs(instance: Instance, rule: EligibilityRule) -> pd.DataFrame:
    """The eligible pairs by id, with wish rank, q1, burden and fit."""
    units, applicants = instance.units, instance.applicants
    frames = [
        pd.DataFrame(
            {
                "unit_id": units["unit_id"].to_numpy()[chunk.unit],
                "applicant_id": applicants["applicant_id"].to_numpy()[chunk.applicant],
                "wish_rank": chunk.wish_rank,
                "q1": chunk.q1,
                "burden": chunk.burden,
                "fit": chunk.fit,
            }
        )
        for chunk in eligible_pairs(units, applicants, instance.ceilings, instance.thresholds, rule)
    ]
    if not frames:
        columns = ["unit_id", "applicant_id", "wish_rank", "q1", "burden", "fit"]
        return pd.DataFrame(columns=columns).set_index(["unit_id", "applicant_id"])
    return pd.concat(frames, ignore_index=True).set_index(["unit_id", "applicant_id"])


def scalar_problems(instance: Instance, rule: EligibilityRule) -> dict[Pair, list[str]]:
    """The verifier's problems of every pair of the grid."""
    ceilings = {
        (str(f), int(c)): (float(v), float(e))
        for f, c, v, e in instance.ceilings[
            ["financing", "category", "ceiling", "per_extra_person"]
        ].itertuples(index=False)
    }
    units = [{str(k): v for k, v in u.items()} for u in instance.units.to_dict("records")]
    applicants = [{str(k): v for k, v in a.items()} for a in instance.applicants.to_dict("records")]
    return {
        (str(u["unit_id"]), str(a["applicant_id"])): pair_problems(u, a, ceilings, rule)
        for u in units
        for a in applicants
    }


def eligible_ids(instance: Instance, rule: EligibilityRule = DEFAULT) -> set[Pair]:
    """Eligible pairs by id, after checking that both implementations agree on the grid."""
    vector = vector_pairs(instance, rule)
    found = {(str(u), str(a)) for u, a in vector.index}
    problems = scalar_problems(instance, rule)
    for pair, listed in problems.items():
        if pair in found:
            assert listed == [], f"{pair} is eligible but the verifier finds {listed}"
        else:
            assert listed, f"{pair} is not eligible but the verifier finds no problem"
    return found


def scalar_burden(instance: Instance, pair: Pair, rule: EligibilityRule) -> float:
    """Net rent burden of one pair, recomputed from the verifier's benefit estimate."""
    u = instance.units.set_index("unit_id").loc[pair[0]].to_dict()
    a = instance.applicants.set_index("applicant_id").loc[pair[1]].to_dict()
    uc = 1.0 + 0.5 * (a["adults"] - 1) + 0.3 * a["children"]
    monthly = max(a["annual_income"], rule.income_floor_per_uc * uc) / 12.0
    cost = u["rent"] + u["charges"]
    return float((cost - benefit(u["rent"], int(a["household_size"]), monthly, rule)) / monthly)


# --- whole instances ------------------------------------------------------------------------

RULE_VARIANTS = {
    "lec-default": load_constraint_set("lec-default").eligibility,
    "no-wish-slack-no-benefit": EligibilityRule(
        wished_rooms_slack=None, max_rent_burden=0.3, benefit=BenefitRule(enabled=False)
    ),
    "checks-off": EligibilityRule(
        max_rent_burden=None,
        check_income_ceiling=False,
        respect_max_rent=False,
        check_access=False,
    ),
}


@pytest.fixture(scope="module")
def tiny() -> Instance:
    return load_instance(TINY)


@pytest.fixture(scope="module")
def generated() -> Instance:
    preset = dataclasses.replace(PRESETS["tiny"], name="small", units_per_month=24, applicants=160)
    return generate(preset, 5)


@pytest.mark.parametrize("variant", sorted(RULE_VARIANTS))
@pytest.mark.parametrize("which", ["tiny", "generated"])
def test_vectorised_pairs_agree_with_the_scalar_check(
    which: str, variant: str, tiny: Instance, generated: Instance
) -> None:
    instance = tiny if which == "tiny" else generated
    rule = RULE_VARIANTS[variant]
    found = eligible_ids(instance, rule)
    assert found, "the instance should have eligible pairs"
    grid = len(instance.units) * len(instance.applicants)
    assert len(found) < grid
    vector = vector_pairs(instance, rule)
    for pair in list(found)[:40]:
        expected = scalar_burden(instance, pair, rule)
        assert vector.loc[pair, "burden"] == pytest.approx(expected, rel=1e-9)


def test_wish_ranks_and_first_quartile_flags_on_tiny(tiny: Instance) -> None:
    vector = vector_pairs(tiny, DEFAULT)
    units, applicants = tiny.units, tiny.applicants
    commune = dict(zip(units["unit_id"], units["commune"], strict=True))
    epci = dict(zip(units["unit_id"], units["epci"], strict=True))
    wishes = dict(zip(applicants["applicant_id"], applicants["wished_communes"], strict=True))
    per_uc = dict(zip(applicants["applicant_id"], applicants["income_per_uc"], strict=True))
    threshold = dict(zip(tiny.thresholds["epci"], tiny.thresholds["q1_threshold"], strict=True))
    for pair in vector.reset_index().itertuples():
        ranked = str(wishes[pair.applicant_id]).split(";")
        assert ranked.index(commune[pair.unit_id]) + 1 == pair.wish_rank
        assert pair.q1 == (per_uc[pair.applicant_id] <= threshold[epci[pair.unit_id]])


# --- one rule at a time ---------------------------------------------------------------------


def test_wish_rule_keeps_wished_communes_with_their_rank() -> None:
    instance = build(
        [unit("U1", "RA")],
        [applicant("A1", "A"), applicant("A2", "B"), applicant("A3", "B;A")],
    )
    assert eligible_ids(instance) == {("U1", "A1"), ("U1", "A3")}
    ranks = vector_pairs(instance, DEFAULT)["wish_rank"]
    assert ranks[("U1", "A1")] == 1
    assert ranks[("U1", "A3")] == 2


def test_typology_rule_with_and_without_the_wished_rooms_slack() -> None:
    # household of 1: T1-T2; of 2: T1-T3; of 3: T2-T4. A3 wishes a T2 (slack 1: T2-T3),
    # A4 a T3 (T2-T4).
    instance = build(
        [unit("U1", rooms=3), unit("U2", rooms=4)],
        [
            applicant("A1", size=1, wished_rooms=None),
            applicant("A2", size=2, wished_rooms=None),
            applicant("A3", size=3, wished_rooms=2),
            applicant("A4", size=3, wished_rooms=3),
        ],
    )
    assert eligible_ids(instance) == {("U1", "A2"), ("U1", "A3"), ("U1", "A4"), ("U2", "A4")}
    ignoring_wish = EligibilityRule(wished_rooms_slack=None)
    assert ("U2", "A3") in eligible_ids(instance, ignoring_wish)
    assert ("U1", "A1") not in eligible_ids(instance, ignoring_wish)
    fit = vector_pairs(instance, DEFAULT)["fit"]
    assert fit[("U1", "A2")] == pytest.approx(0.5)  # ideal (1 + 3) / 2 = 2, one room off
    assert fit[("U1", "A4")] == pytest.approx(1.0)  # the wished T3
    assert fit[("U2", "A4")] == pytest.approx(0.5)


def test_room_bounds_cap_large_households_at_the_largest_row() -> None:
    low, high, ideal = room_bounds(
        np.array([1, 6, 9]), pd.Series([pd.NA, pd.NA, 5], dtype="Int64"), DEFAULT
    )
    assert low.tolist() == [1, 4, 4]
    assert high.tolist() == [2, 6, 6]
    assert ideal.tolist() == [1.5, 5.0, 5.0]


def test_income_ceiling_with_category_bump_and_extra_persons() -> None:
    # PLUS ceilings: category 1 20,000; 2 25,000; 6 45,000 + 3,000 per person beyond six.
    # PLAI category 1: 15,000.
    instance = build(
        [unit("U1"), unit("U2", rooms=5), unit("U3", financing="PLAI")],
        [
            applicant("A1", income=20000.0),
            applicant("A2", income=20001.0),
            applicant("A3", income=22000.0, disability=True),
            applicant("A4", income=22000.0),
            applicant("A5", size=8, income=50000.0, wished_rooms=5),
            applicant("A6", size=7, income=50000.0, wished_rooms=5),
        ],
    )
    assert eligible_ids(instance) == {("U1", "A1"), ("U1", "A3"), ("U2", "A5")}
    unchecked = eligible_ids(instance, EligibilityRule(check_income_ceiling=False))
    assert {("U1", "A2"), ("U1", "A4"), ("U2", "A6"), ("U3", "A1")} <= unchecked


def test_rent_burden_counts_the_housing_benefit_estimate() -> None:
    # A1 earns 12,000 a year: 1,000 a month. Benefit: min(rent, 280) + 57 - (40 + 0.2 * 1000)
    # = 97 for any rent of 280 or more. Net burden: U1 (310 + 50 - 97) / 1000 = 0.263,
    # U2 (405 + 50 - 97) / 1000 = 0.358 > 0.35, U3 (395 + 50 - 97) / 1000 = 0.348.
    # A2 earns 3,000 but counts at the floor of 6,500 (541.67 a month): benefit 188.67,
    # U1: (360 - 188.67) / 541.67 = 0.316.
    instance = build(
        [
            unit("U1", rent=310.0, charges=50.0),
            unit("U2", rent=405.0, charges=50.0),
            unit("U3", rent=395.0, charges=50.0),
        ],
        [applicant("A1", income=12000.0), applicant("A2", income=3000.0)],
    )
    assert eligible_ids(instance) == {("U1", "A1"), ("U3", "A1"), ("U1", "A2")}
    burden = vector_pairs(instance, DEFAULT)["burden"]
    assert burden[("U1", "A1")] == pytest.approx(0.263)
    assert burden[("U3", "A1")] == pytest.approx(0.348)
    assert burden[("U1", "A2")] == pytest.approx((360 - (337 - 40 - 6500 / 60)) / (6500 / 12))
    no_benefit = EligibilityRule(benefit=BenefitRule(enabled=False))
    assert eligible_ids(instance, no_benefit) == set()  # 360 / 1000 = 0.36 > 0.35
    no_floor = EligibilityRule(income_floor_per_uc=0.0)
    assert ("U1", "A2") not in eligible_ids(instance, no_floor)  # (360 - 247) / 250 = 0.452
    anything = EligibilityRule(max_rent_burden=None)
    assert len(eligible_ids(instance, anything)) == 6


def test_stated_maximum_rent() -> None:
    instance = build(
        [unit("U1", rent=200.0, charges=50.0)],
        [
            applicant("A1", max_rent=250.0),
            applicant("A2", max_rent=249.0),
            applicant("A3"),
        ],
    )
    assert eligible_ids(instance) == {("U1", "A1"), ("U1", "A3")}
    assert ("U1", "A2") in eligible_ids(instance, EligibilityRule(respect_max_rent=False))


def test_access_needs_a_reachable_unit() -> None:
    instance = build(
        [
            unit("U1", floor=2),
            unit("U2", floor=2, elevator=True),
            unit("U3", floor=2, accessible=True),
            unit("U4", floor=0),
        ],
        [applicant("A1", needs_access=True), applicant("A2")],
    )
    found = eligible_ids(instance)
    assert {u for u, a in found if a == "A1"} == {"U2", "U3", "U4"}
    assert {u for u, a in found if a == "A2"} == {"U1", "U2", "U3", "U4"}
    assert ("U1", "A1") in eligible_ids(instance, EligibilityRule(check_access=False))


def test_filing_and_lapse_dates() -> None:
    instance = build(
        [unit("U1", day="2026-01-10")],
        [
            applicant("A1", filed="2026-01-10"),
            applicant("A2", filed="2026-01-11"),
            applicant("A3", expires="2026-01-10"),
            applicant("A4", expires="2026-01-09"),
        ],
    )
    assert eligible_ids(instance) == {("U1", "A1"), ("U1", "A3")}
