"""Orientation: every unit goes to exactly one of the holders that may receive it.

Three layers: the built rows of a minimal instance, a micro-instance where the rule binds
(and the same solved with it switched off) and one where it does not, and a tiny instance
whose optimal loss is computed by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from core_instances import (
    LANDLORD,
    MONTH,
    PRIORITY_PER_HOLDER,
    SETTINGS,
    W_QUOTA,
    Row,
    applicant,
    build,
    column,
    column_names,
    convention,
    holder,
    micro_rules,
    row,
    scores,
    solve,
    unit,
    without,
)
from fluxopt.allocate import allocate
from fluxopt.constraints.ruleset import ConstraintSet, OrientationRule
from fluxopt.instance import Instance
from fluxopt.model.build import build_model
from fluxopt.problem import build_problem
from fluxopt.verify import verify


def test_built_rows_of_a_minimal_instance() -> None:
    # U1 (commune A) and U2 (commune B) may go to the State (department convention) or to
    # the landlord; U3 is kept in stock for the State, so its only column is fixed to 1.
    instance = build(
        [unit("U1", "RA"), unit("U2", "RB"), unit("U3", "RA", status="stock:ST")],
        [applicant("A1", "A;B")],
        [holder("ST", "state")],
        [convention("C_ST", "ST", 0.5)],
    )
    model, _ = build_model(build_problem(instance, micro_rules(), month=MONTH))
    labels = model.columns["orient"].labels
    assert sorted(map(tuple, labels[["unit_id", "holder_id"]].to_numpy().tolist())) == [
        ("U1", LANDLORD),
        ("U1", "ST"),
        ("U2", LANDLORD),
        ("U2", "ST"),
        ("U3", "ST"),
    ]
    assert model.rows["orientation"].labels["unit_id"].tolist() == ["U1", "U2"]
    assert model.rows["orientation"].family == "orientation"
    for unit_id in ("U1", "U2"):
        assert row(model, "orientation", unit_id=unit_id) == Row(
            {f"orient[{unit_id},{LANDLORD}]": 1.0, f"orient[{unit_id},ST]": 1.0}, 1.0, 1.0
        )
    fixed = column(model, "orient[U3,ST]")
    assert (model.col_lower[fixed], model.col_upper[fixed]) == (1.0, 1.0)
    free = [column(model, f"orient[U1,{h}]") for h in (LANDLORD, "ST")]
    assert model.col_lower[free].tolist() == [0.0, 0.0]
    assert model.integer[free].all()
    assert "orient[U3,LANDLORD]" not in column_names(model)


def quota_bound_case() -> tuple[Instance, ConstraintSet, ConstraintSet]:
    """Every holder that may take U1 (the commune and the landlord) owes 25 % priority
    households, and the only candidate is not one: whoever receives U1 is short by 0.25 of
    an attribution (0.25 * 200 = 50). Returns the instance, the rules, the rules without
    orientation."""
    instance = build(
        [unit("U1")],
        [applicant("A1")],
        [holder("CA", "commune")],
        [convention("C_CA", "CA", 0.5, perimeter_kind="commune", perimeter_id="A")],
    )
    rules = micro_rules(quotas=(PRIORITY_PER_HOLDER,))
    return instance, rules, without(rules, orientation=OrientationRule(enabled=False))


def test_orientation_binds_when_receiving_the_unit_costs_a_holder_its_quota() -> None:
    instance, rules, off = quota_bound_case()
    solved = solve(instance, rules)
    assert solved.holder_of["U1"] in ("CA", LANDLORD)
    assert solved.first == {"U1": "A1"}
    assert solved.objective == pytest.approx(0.25 * W_QUOTA)
    # Without the rule nobody receives U1, so no holder owes anything.
    allocation = allocate(instance, off, month=MONTH, settings=SETTINGS)
    assert allocation.objective == pytest.approx(0.0, abs=1e-6)
    assert allocation.decisions.orientation["holder_id"].tolist() == [""]
    assert allocation.decisions.first_ranked["applicant_id"].tolist() == ["A1"]


def test_the_verifier_reports_a_unit_left_without_holder() -> None:
    instance, _, off = quota_bound_case()
    allocation = allocate(instance, off, month=MONTH, settings=SETTINGS)
    decisions = allocation.decisions
    report = verify(instance, off, decisions.orientation, decisions.shortlist, month=MONTH)
    assert ("orientation", "U1") in [(f.rule, f.unit_id) for f in report.violations]


def test_a_unit_without_holder_lists_its_candidates_under_no_holder() -> None:
    instance, _, off = quota_bound_case()
    allocation = allocate(instance, off, month=MONTH, settings=SETTINGS)
    assert allocation.decisions.shortlist["holder_id"].tolist() == [""]


def test_orientation_does_not_bind_when_each_unit_has_one_possible_holder() -> None:
    instance = build([unit("U1"), unit("U2", "RB")], [applicant("A1"), applicant("A2", "B")])
    rules = micro_rules()
    model, _ = build_model(build_problem(instance, rules, month=MONTH))
    assert "orientation" not in model.rows
    off = without(rules, orientation=OrientationRule(enabled=False))
    on, switched_off = solve(instance, rules), solve(instance, off)
    assert on.holder_of == switched_off.holder_of == {"U1": LANDLORD, "U2": LANDLORD}
    assert on.first == switched_off.first == {"U1": "A1", "U2": "A2"}
    assert on.objective == pytest.approx(switched_off.objective)


def test_hand_computed_optimum_with_a_direct_holder() -> None:
    # U1 and U2 (commune A) may go to Action Logement in direct mode (it proposes its own
    # candidates: the unit counts as filled, value loss 1/2) or to the landlord. The only
    # applicant, A1 (best score, first wish, wished typology: value 1), can be first on one
    # list only. Optimum: A1 first on one unit (loss 0), the other unit to Action Logement
    # (loss 0.5): 0.5. Orienting both to Action Logement costs 1; leaving a unit empty 10,000.
    instance = build(
        [unit("U1"), unit("U2")],
        [applicant("A1")],
        [holder("AL", "action_logement", "direct")],
        [convention("C_AL", "AL", 0.5)],
    )
    solved = solve(instance, micro_rules(), scores=scores(A1=10.0))
    assert solved.objective == pytest.approx(0.5)
    assert sorted(solved.holder_of.values()) == ["AL", LANDLORD]
    landlord_unit = next(u for u, h in solved.holder_of.items() if h == LANDLORD)
    assert solved.first == {landlord_unit: "A1"}
    assert solved.allocation.summary()["units_with_first"] == 1
    assert np.isclose(solved.allocation.bound or 0.0, 0.5)
