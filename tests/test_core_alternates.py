"""Alternates: ranks 2..k from the applicants left, admitted by the unit's holder.

Values: ``0.6 · score / max score + 0.25 / wish rank + 0.15`` (wished typology).
"""

from __future__ import annotations

import pytest

from core_instances import (
    Q1_OUTSIDE_QPV,
    STATE_PRIORITY,
    applicant,
    build,
    convention,
    holder,
    micro_rules,
    scores,
    solve,
    unit,
)


def test_as_many_alternates_as_possible() -> None:
    # F1 and F2 are first on U1 (commune A) and U2 (commune B). B wishes both communes and
    # is worth more on U1 (0.7) than C (0.46); she is U2's only other candidate. With one
    # alternate per list, taking B for U1 would leave U2 without one: the flow gives C to
    # U1 and B to U2.
    instance = build(
        [unit("U1"), unit("U2", "RB")],
        [
            applicant("F1"),
            applicant("F2", "B"),
            applicant("B", "A;B"),
            applicant("C"),
        ],
    )
    solved = solve(instance, micro_rules(size=2), scores=scores(F1=100, F2=100, B=50, C=10))
    assert solved.lists == {"U1": ["F1", "C"], "U2": ["F2", "B"]}
    assert solved.report.shortfalls == []


def test_at_most_k_per_unit_ranked_by_value_each_applicant_once() -> None:
    # Two units of commune A and six applicants: with k = 3 every list is full, ranks are
    # 1..3 in decreasing value, and nobody appears twice.
    people = {f"A{i}": float(60 - 10 * i) for i in range(6)}
    instance = build([unit("U1"), unit("U2")], [applicant(a) for a in people])
    solved = solve(instance, micro_rules(size=3), scores=scores(**people))
    shortlist = solved.allocation.decisions.shortlist
    assert shortlist.groupby("unit_id")["rank"].apply(list).to_dict() == {
        "U1": [1, 2, 3],
        "U2": [1, 2, 3],
    }
    assert shortlist["applicant_id"].is_unique
    assert set(shortlist["applicant_id"]) == set(people)
    for _, rows in shortlist.groupby("unit_id"):
        alternates = rows[rows["rank"] > 1]["value"].tolist()
        assert alternates == sorted(alternates, reverse=True)
    assert sorted(solved.first.values()) == ["A0", "A1"]


def test_alternates_are_admitted_by_the_unit_holder() -> None:
    instance = build(
        [unit("U1", status="stock:ST")],
        [
            applicant("N1"),
            applicant("N2"),
            applicant("P1", priority=True),
            applicant("P2", dalo=True),
        ],
        [holder("ST", "state")],
        [convention("C_ST", "ST", 0.5)],
    )
    marks = scores(N1=100, N2=90, P1=50, P2=40)
    solved = solve(instance, micro_rules(channels=(STATE_PRIORITY,)), scores=marks)
    assert solved.lists == {"U1": ["P1", "P2"]}


@pytest.mark.parametrize(("quota", "alternate"), [(True, "A4"), (False, "A3")])
def test_an_alternate_of_the_first_ranked_profile_is_preferred(quota: bool, alternate: str) -> None:
    # A2 (first quartile, best score) is first either way. Under the first-quartile quota,
    # A4 (first quartile, value 0.88 + 0.1 profile bonus) goes before A3 (not, 0.94), so
    # that a refusal by A2 does not undo the quota; without the quota A3 goes first.
    instance = build(
        [unit("U1")],
        [
            applicant("A2", income=8000.0),
            applicant("A3"),
            applicant("A4", income=8000.0),
        ],
    )
    rules = micro_rules(size=2, quotas=(Q1_OUTSIDE_QPV,) if quota else ())
    solved = solve(instance, rules, scores=scores(A2=10, A3=9, A4=8))
    assert solved.lists == {"U1": ["A2", alternate]}
