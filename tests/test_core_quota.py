"""Quotas: ratio rules over first-ranked attributions, year to date included.

Units in commune A (EPCI E1, outside QPV, LEC applies) unless said otherwise. First quartile:
resources per consumption unit at most 9,000 (a single person earning 8,000 is; 12,000 is
not). Values: ``0.6 · score / max score + 0.4``; with scores 10 and 5, losses 0 and 0.3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core_instances import (
    FRAGILE_Q1_CAP,
    MONTH,
    NON_Q1_IN_QPV,
    PRIORITY_PER_HOLDER,
    Q1_OUTSIDE_QPV,
    W_QUOTA,
    Row,
    applicant,
    attributions,
    build,
    column,
    convention,
    holder,
    micro_rules,
    row,
    scores,
    solve,
    unit,
    value,
)
from fluxopt.allocate import allocate
from fluxopt.diagnose import InfeasibleRulesError
from fluxopt.instance import Instance
from fluxopt.model.build import build_model
from fluxopt.problem import build_problem
from fluxopt.reachable import quota_reachability

INF = float("inf")
Q1_RULE = "lec-q1-outside-qpv"
MARKS = scores(A1=10, A2=5)
PEOPLE = [applicant("A1"), applicant("A2", income=8000.0)]
"""A1 is not first quartile and scores best; A2 is first quartile."""
QUOTA = micro_rules(quotas=(Q1_OUTSIDE_QPV,))


def test_built_rows_of_an_epci_quota() -> None:
    # U1 outside QPV counts for the first-quartile quota, U2 in the QPV for the
    # non-first-quartile one; in each row a pair weighs (member - level).
    instance = build(
        [unit("U1"), unit("U2", "RQ")],
        [*PEOPLE, applicant("A3", "Q"), applicant("A4", "Q", income=8000.0)],
    )
    rules = micro_rules(quotas=(Q1_OUTSIDE_QPV, NON_Q1_IN_QPV))
    model, _ = build_model(build_problem(instance, rules, month=MONTH))
    block = model.rows[f"quota:{Q1_RULE}"]
    assert block.family == "quota"
    assert block.labels.to_dict("records") == [
        {"rule": Q1_RULE, "group": "E1", "level": 0.25, "ytd_rhs": 0.0}
    ]
    shortfall = f"quota:{Q1_RULE}:shortfall[E1]"
    assert row(model, f"quota:{Q1_RULE}", group="E1") == Row(
        {"first[U1,A1]": -0.25, "first[U1,A2]": 0.75, shortfall: 1.0}, 0.0, INF
    )
    j = column(model, shortfall)
    assert (model.cost[j], model.col_lower[j], model.col_upper[j]) == (W_QUOTA, 0.0, INF)
    assert row(model, "quota:lec-non-q1-in-qpv", group="E1") == Row(
        {
            "first[U2,A3]": 0.5,
            "first[U2,A4]": -0.5,
            "quota:lec-non-q1-in-qpv:shortfall[E1]": 1.0,
        },
        0.0,
        INF,
    )
    hard = micro_rules(quotas=(Q1_OUTSIDE_QPV.model_copy(update={"hard": True}),))
    model, _ = build_model(build_problem(instance, hard, month=MONTH))
    assert model.col_upper[column(model, shortfall)] == 0.0


def test_the_epci_quota_binds_and_is_met_when_attainable() -> None:
    instance = build([unit("U1")], PEOPLE)
    solved = solve(instance, QUOTA, scores=MARKS)
    assert solved.first == {"U1": "A2"}
    assert solved.objective == pytest.approx(0.3)
    quota = solved.report.quotas.set_index("group").loc["E1"]
    assert (quota["numerator"], quota["denominator"], bool(quota["met"])) == (1.0, 1.0, True)
    free = solve(instance, micro_rules(), scores=MARKS)
    assert free.first == {"U1": "A1"}


def test_the_epci_quota_does_not_bind_when_the_best_is_first_quartile() -> None:
    instance = build([unit("U1")], [applicant("A1", income=8000.0), applicant("A2")])
    solved = solve(instance, QUOTA, scores=MARKS)
    free = solve(instance, micro_rules(), scores=MARKS)
    assert solved.first == free.first == {"U1": "A1"}
    assert solved.objective == pytest.approx(free.objective)


def test_an_unreachable_quota_is_a_shortfall_not_an_infeasibility() -> None:
    # No first-quartile candidate: filling U1 with A1 leaves the EPCI 0.25 of an
    # attribution short (0.25 * 200 = 50); leaving U1 empty would cost 10,000.
    instance = build([unit("U1")], [applicant("A1")])
    solved = solve(instance, QUOTA)
    assert str(solved.allocation.status) == "optimal"
    assert solved.first == {"U1": "A1"}
    assert solved.objective == pytest.approx(0.25 * W_QUOTA)
    [finding] = [f for f in solved.report.shortfalls if f.rule.startswith("quota")]
    assert (finding.rule, finding.group, finding.amount) == (f"quota:{Q1_RULE}", "epci E1", 0.25)
    quota = solved.report.quotas.iloc[0]
    assert (bool(quota["met"]), quota["missing"]) == (False, 0.25)


def test_year_to_date_attributions_change_the_requirement() -> None:
    instance = build([unit("U1")], PEOPLE)
    # Two first-quartile households among four past attributions: 2 >= 0.25 * 5 with any
    # first rank, so A1 keeps the unit; the row's right-hand side is 0.25 * 4 - 2 = -1.
    ahead = attributions([{"q1": True}, {"q1": True}, {}, {}])
    solved = solve(instance, QUOTA, scores=MARKS, ytd=ahead)
    assert solved.first == {"U1": "A1"}
    built = row(solved.allocation.model, f"quota:{Q1_RULE}", group="E1")
    assert built.lower == pytest.approx(-1.0)
    quota = solved.report.quotas.iloc[0]
    assert (quota["numerator"], quota["denominator"]) == (2.0, 5.0)
    # None among four: even A2 leaves 0.25 * 5 - 1 = 0.25 missing; A1 would leave 1.25.
    behind = attributions([{}, {}, {}, {}])
    solved = solve(instance, QUOTA, scores=MARKS, ytd=behind)
    assert solved.first == {"U1": "A2"}
    assert solved.objective == pytest.approx(0.3 + 0.25 * W_QUOTA)
    assert solved.report.quotas.iloc[0]["missing"] == pytest.approx(0.25)
    # Attributions outside the scope (in a QPV, or where the LEC does not apply) do not count.
    elsewhere = attributions([{"qpv": True}, {"lec_applies": False}] * 2)
    assert solve(instance, QUOTA, scores=MARKS, ytd=elsewhere).first == {"U1": "A2"}


def fragile_case(cap: float | None) -> tuple[Instance, pd.Series]:
    """Two units of the fragile residence; Q1, Q2 first quartile (scores 10, 9), N1, N2 not
    (scores 1, 0)."""
    instance = build(
        [unit("U1", "RF"), unit("U2", "RF")],
        [
            applicant("Q1", income=8000.0),
            applicant("Q2", income=8000.0),
            applicant("N1"),
            applicant("N2"),
        ],
        cap_q1_share=cap,
    )
    return instance, scores(Q1=10, Q2=9, N1=1, N2=0)


def test_a_mixity_cap_with_the_residence_own_level() -> None:
    # Losses: Q1 0, Q2 0.06, N1 0.54, N2 0.6; each first-quartile attribution above the cap
    # costs 20 per unit of excess.
    # - no cap: Q1 and Q2 (0.06);
    # - default cap 50 % (the residence states none): one first-quartile of two, Q1 and N1
    #   (0.54) rather than 20 * (2 - 1) + 0.06;
    # - the residence's own cap 30 %: 0.6 allowed, so N1 and N2 (1.14) rather than
    #   Q1 and N1 with an excess 0.4 (8.54).
    capped = micro_rules(quotas=(FRAGILE_Q1_CAP,))
    instance, marks = fragile_case(None)
    free = solve(instance, micro_rules(), scores=marks)
    assert sorted(free.first.values()) == ["Q1", "Q2"]
    default = solve(instance, capped, scores=marks)
    assert sorted(default.first.values()) == ["N1", "Q1"]
    assert default.objective == pytest.approx(1 - value(0.1))
    instance, marks = fragile_case(0.3)
    own = solve(instance, capped, scores=marks)
    assert sorted(own.first.values()) == ["N1", "N2"]
    assert own.objective == pytest.approx(2 - value(0.1) - value(0.0))
    quota = own.report.quotas.set_index("group").loc["RF"]
    assert (quota["level"], quota["numerator"], bool(quota["met"])) == (0.3, 0.0, True)
    assert row(own.allocation.model, "quota:mixity-fragile-q1-cap", group="RF") == Row(
        {
            "first[U1,Q1]": 0.7,
            "first[U1,Q2]": 0.7,
            "first[U1,N1]": -0.3,
            "first[U1,N2]": -0.3,
            "first[U2,Q1]": 0.7,
            "first[U2,Q2]": 0.7,
            "first[U2,N1]": -0.3,
            "first[U2,N2]": -0.3,
            "quota:mixity-fragile-q1-cap:shortfall[RF]": -1.0,
        },
        -INF,
        0.0,
    )


def commune_unit(mode: str) -> Instance:
    return build(
        [unit("U1", status="stock:CA")],
        [applicant("A1"), applicant("A2", priority=True)],
        [holder("CA", "commune", mode)],
        [convention("C_CA", "CA", 0.1, perimeter_kind="commune", perimeter_id="A")],
    )


def test_built_rows_of_the_per_holder_quota() -> None:
    # U1 is kept in stock for the commune (delegated). r = counted[U1,CA] in [0, 1]:
    # r <= orient, r <= first of priority households, r + first of the others <= 1, and the
    # group row r - 0.25 orient + shortfall >= 0.
    instance = commune_unit("delegated")
    rules = micro_rules(quotas=(PRIORITY_PER_HOLDER,))
    model, _ = build_model(build_problem(instance, rules, month=MONTH))
    name = "quota:lec-priority-per-holder"
    counted = f"{name}:counted[U1,CA]"
    assert row(model, f"{name}:link-orient", unit_id="U1") == Row(
        {counted: 1.0, "orient[U1,CA]": -1.0}, -INF, 0.0
    )
    assert row(model, f"{name}:link-first", unit_id="U1") == Row(
        {counted: 1.0, "first[U1,A2]": -1.0}, -INF, 0.0
    )
    assert row(model, f"{name}:link-unit", unit_id="U1") == Row(
        {counted: 1.0, "first[U1,A1]": 1.0}, -INF, 1.0
    )
    assert row(model, name, group="CA") == Row(
        {counted: 1.0, "orient[U1,CA]": -0.25, f"{name}:shortfall[CA]": 1.0}, 0.0, INF
    )
    j = column(model, counted)
    assert (model.col_lower[j], model.col_upper[j], bool(model.integer[j])) == (0.0, 1.0, False)


def test_the_per_holder_quota_binds_for_delegated_holders_only() -> None:
    rules = micro_rules(quotas=(PRIORITY_PER_HOLDER,))
    delegated = commune_unit("delegated")
    solved = solve(delegated, rules, scores=MARKS)
    assert solved.first == {"U1": "A2"}
    assert solved.objective == pytest.approx(0.3)
    assert solve(delegated, micro_rules(), scores=MARKS).first == {"U1": "A1"}
    # A holder in direct mode proposes its own candidates: no rows, nothing to count.
    direct = commune_unit("direct")
    solved = solve(direct, rules, scores=MARKS)
    assert solved.lists == {}
    assert not any(name.startswith("quota:") for name in solved.allocation.model.rows)
    assert solved.report.quotas.empty


def test_a_hard_quota_that_cannot_be_met_names_the_rule() -> None:
    # Four past attributions without a first-quartile household: the batch would need
    # 0.25 * 5 = 1.25 of them from one unit, and its only candidate is not one.
    instance = build([unit("U1")], [applicant("A1")])
    hard = micro_rules(quotas=(Q1_OUTSIDE_QPV.model_copy(update={"hard": True}),))
    with pytest.raises(InfeasibleRulesError) as caught:
        allocate(instance, hard, month=MONTH, ytd=attributions([{}] * 4))
    [conflict] = caught.value.conflicts
    assert conflict.startswith(f"quota:{Q1_RULE} (")
    assert "group E1" in conflict
    assert "hard: false" in str(caught.value)
    # Attainable, a hard quota is simply met.
    solved = solve(build([unit("U1")], PEOPLE), hard, scores=MARKS)
    assert solved.first == {"U1": "A2"}
    assert np.isclose(solved.objective, 0.3)


def test_reachability_tells_an_unattainable_quota_from_an_accepted_shortfall() -> None:
    # Nobody in the first quartile: the best reachable share is 0 %, below the 25 % level.
    unreachable = solve(build([unit("U1")], [applicant("A1")]), QUOTA)
    [verdict] = quota_reachability(unreachable.allocation, unreachable.report).to_dict("records")
    assert (verdict["rule"], verdict["group"]) == (Q1_RULE, "E1")
    assert verdict["best_reachable"] == pytest.approx(0.0)
    assert not verdict["attainable"]
    assert verdict["verdict"] == "unattainable: best reachable 0% (target 25%)"
    # A first-quartile household exists: the quota is met, nothing to explain.
    reachable = solve(build([unit("U1")], [applicant("A1", income=8000.0), applicant("A2")]), QUOTA)
    assert quota_reachability(reachable.allocation, reachable.report).empty
