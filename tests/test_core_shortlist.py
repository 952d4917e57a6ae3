"""Shortlist, first stage: one first-ranked applicant per unit, one list per applicant.

Values with every applicant on its wished typology: ``0.6 · score / 10 + 0.25 / wish rank
+ 0.15``; a score of 10 with the first wish is worth 1, 5 is worth 0.7, 0 is worth 0.4.
"""

from __future__ import annotations

import numpy as np
import pytest

from core_instances import (
    MONTH,
    W_UNFILLED,
    Row,
    applicant,
    build,
    column,
    micro_rules,
    row,
    scores,
    solve,
    unit,
    value,
)
from fluxopt.model.build import build_model
from fluxopt.problem import build_problem

INF = float("inf")


def test_built_rows_of_a_minimal_instance() -> None:
    # U1 and U2 (commune A) share the candidates A1 and A2; U3 (commune B) has only A3:
    # a unit or an applicant with a single pair needs no row.
    instance = build(
        [unit("U1"), unit("U2"), unit("U3", "RB")],
        [applicant("A1"), applicant("A2"), applicant("A3", "B")],
    )
    problem = build_problem(instance, micro_rules(), month=MONTH, scores=scores(A1=10, A2=5, A3=0))
    model, _ = build_model(problem)
    assert model.rows["shortlist:unit"].labels["unit_id"].tolist() == ["U1", "U2"]
    assert row(model, "shortlist:unit", unit_id="U1") == Row(
        {"first[U1,A1]": 1.0, "first[U1,A2]": 1.0}, -INF, 1.0
    )
    assert model.rows["shortlist:applicant"].labels["applicant_id"].tolist() == ["A1", "A2"]
    assert row(model, "shortlist:applicant", applicant_id="A1") == Row(
        {"first[U1,A1]": 1.0, "first[U2,A1]": 1.0}, -INF, 1.0
    )
    # Objective: 10,000 per fillable unit as offset, and each first rank earns it back
    # minus its value loss 1 - v.
    assert model.offset == pytest.approx(3 * W_UNFILLED)
    costs = {
        name: model.cost[column(model, name)]
        for name in ("first[U1,A1]", "first[U1,A2]", "first[U3,A3]")
    }
    assert costs == pytest.approx(
        {
            "first[U1,A1]": (1 - value(1.0)) - W_UNFILLED,
            "first[U1,A2]": (1 - value(0.5)) - W_UNFILLED,
            "first[U3,A3]": (1 - value(0.0)) - W_UNFILLED,
        }
    )
    block = model.columns["first"]
    assert model.integer[block.start : block.stop].all()
    assert np.all(model.col_upper[block.start : block.stop] == 1.0)

    shared = micro_rules(one_list=False)
    model, _ = build_model(build_problem(instance, shared, month=MONTH))
    assert "shortlist:applicant" not in model.rows


def test_one_list_per_applicant_binds() -> None:
    # The best applicant A1 wishes both units: with the rule she is first on one of them
    # and A2 (score 0, value 0.4) on the other; without it she is first on both.
    instance = build([unit("U1"), unit("U2")], [applicant("A1"), applicant("A2")])
    marks = scores(A1=10, A2=0)
    solved = solve(instance, micro_rules(), scores=marks)
    assert sorted(solved.first.values()) == ["A1", "A2"]
    assert solved.objective == pytest.approx(1 - value(0.0))
    shared = solve(instance, micro_rules(one_list=False), scores=marks)
    assert shared.first == {"U1": "A1", "U2": "A1"}
    assert shared.objective == pytest.approx(0.0, abs=1e-6)


def test_one_list_per_applicant_does_not_bind_without_shared_candidates() -> None:
    instance = build([unit("U1"), unit("U2", "RB")], [applicant("A1"), applicant("A2", "B")])
    marks = scores(A1=10, A2=0)
    solved = solve(instance, micro_rules(), scores=marks)
    shared = solve(instance, micro_rules(one_list=False), scores=marks)
    assert solved.first == shared.first == {"U1": "A1", "U2": "A2"}
    assert solved.objective == pytest.approx(shared.objective)


def test_hand_computed_optimum() -> None:
    # U1 and U2 in commune A. A1: score 10, first wish: value 1. A2: score 5, A is her
    # second wish: 0.6 * 0.5 + 0.25 / 2 + 0.15 = 0.575. A3: score 0: value 0.4.
    # Best: A1 and A2 first (losses 0 and 0.425) rather than A3 (0.6): loss 0.425.
    # A3 is the one alternate left (rank 2 on one list); each list is short of 3.
    instance = build(
        [unit("U1"), unit("U2")],
        [applicant("A1"), applicant("A2", "B;A"), applicant("A3")],
    )
    solved = solve(instance, micro_rules(), scores=scores(A1=10, A2=5, A3=0))
    assert solved.objective == pytest.approx(1 - 0.575)
    assert sorted(solved.first.values()) == ["A1", "A2"]
    shortlist = solved.allocation.decisions.shortlist
    assert shortlist.loc[shortlist["applicant_id"] == "A3", "rank"].tolist() == [2]
    a2 = shortlist[shortlist["applicant_id"] == "A2"].iloc[0]
    assert (a2["wish_rank"], a2["value"]) == (2, pytest.approx(0.575))
    short = {f.unit_id: f.amount for f in solved.report.shortfalls if f.rule == "shortlist"}
    assert sorted(short.values()) == [1.0, 2.0]


def test_shortlist_size_one_has_no_alternates() -> None:
    instance = build([unit("U1")], [applicant("A1"), applicant("A2"), applicant("A3")])
    solved = solve(instance, micro_rules(size=1), scores=scores(A1=10, A2=5, A3=0))
    assert solved.lists == {"U1": ["A1"]}
    assert solved.report.shortfalls == []
