"""Pruning of the candidate graph: the best ``keep_best`` per unit, plus what a rule may need.

Scores are given by hand so that the value order is plain: with every applicant wishing the
unit's commune first and its typology, ``value = 0.4 + 0.6 · score / max score``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core_instances import (
    FRAGILE_Q1_CAP,
    MONTH,
    Q1_OUTSIDE_QPV,
    STATE_PRIORITY,
    applicant,
    build,
    convention,
    holder,
    micro_rules,
    scores,
    unit,
    value,
)
from fluxopt.candidates import PairClass, normalised_scores, prune_chunk
from fluxopt.constraints.ruleset import ConstraintSet, PruningRule
from fluxopt.eligibility import PairChunk
from fluxopt.instance import Instance
from fluxopt.problem import AllocationProblem, build_problem

NON_Q1 = {"N1": 100.0, "N2": 90.0, "N3": 80.0, "N4": 70.0}
Q1 = {"Q1": 10.0, "Q2": 5.0, "Q3": 1.0}


def candidates(problem: AllocationProblem) -> dict[str, list[str]]:
    """Unit id → kept applicant ids, in the graph's order (decreasing value)."""
    frame = problem.pair_frame()
    return {str(u): rows["applicant_id"].tolist() for u, rows in frame.groupby("unit_id")}


def quartile_instance(units: int = 1) -> Instance:
    """``units`` T2 in A (E1, outside QPV); four applicants above the first quartile with high
    scores, three first-quartile ones (8,000 €/year ≤ 9,000) with low scores."""
    people = [applicant(a) for a in NON_Q1] + [applicant(a, income=8000.0) for a in Q1]
    return build([unit(f"U{i + 1}") for i in range(units)], people)


def problem_of(instance: Instance, rules: ConstraintSet) -> AllocationProblem:
    return build_problem(instance, rules, month=MONTH, scores=scores(**NON_Q1, **Q1))


def test_keep_best_keeps_the_most_valuable_candidates() -> None:
    instance = quartile_instance()
    problem = problem_of(instance, micro_rules(pruning=PruningRule(keep_best=2)))
    assert candidates(problem) == {"U1": ["N1", "N2"]}
    assert problem.stats["eligible_pairs"] == 7
    assert problem.stats["candidate_pairs"] == 2
    assert problem.graph.value.tolist() == pytest.approx([value(1.0), value(0.9)])


def test_a_quota_keeps_first_quartile_candidates_ranked_below_keep_best() -> None:
    # One unit in the EPCI: the quota may need ceil(0.25 * 1) + 1 = 2 first-quartile
    # candidates ('auto'), kept although they rank 5th and 6th by value.
    instance = quartile_instance()
    pruning = PruningRule(keep_best=2)
    with_quota = problem_of(instance, micro_rules(quotas=(Q1_OUTSIDE_QPV,), pruning=pruning))
    assert candidates(with_quota) == {"U1": ["N1", "N2", "Q1", "Q2"]}
    fixed = PruningRule(keep_best=2, keep_per_class=1)
    one_each = problem_of(instance, micro_rules(quotas=(Q1_OUTSIDE_QPV,), pruning=fixed))
    assert candidates(one_each) == {"U1": ["N1", "N2", "Q1"]}
    without = problem_of(instance, micro_rules(pruning=pruning))
    assert candidates(without) == {"U1": ["N1", "N2"]}


def test_auto_keep_grows_with_the_quota_group_and_is_bounded() -> None:
    # Five units of E1 outside QPV, no two alike (commune A or Z, T1 to T3), for households
    # of two (T1-T3, 1.5 consumption units: first quartile up to 13,500 a year):
    # ceil(0.25 * 5) + 1 = 3 first-quartile candidates kept per unit.
    places = [("RA", 1), ("RA", 2), ("RA", 3), ("RZ", 1), ("RZ", 2)]
    units = [unit(f"U{i + 1}", r, rooms=rooms) for i, (r, rooms) in enumerate(places)]
    people = [applicant(a, "A;Z", size=2, income=15000.0, wished_rooms=None) for a in NON_Q1] + [
        applicant(a, "A;Z", size=2, income=8000.0, wished_rooms=None) for a in Q1
    ]
    instance = build(units, people)
    pruning = PruningRule(keep_best=1)
    problem = problem_of(instance, micro_rules(quotas=(Q1_OUTSIDE_QPV,), pruning=pruning))
    kept = candidates(problem)
    assert len(kept) == 5
    assert all(people == ["N1", "Q1", "Q2", "Q3"] for people in kept.values())
    bounded = PruningRule(keep_best=1, max_per_class=2)
    problem = problem_of(instance, micro_rules(quotas=(Q1_OUTSIDE_QPV,), pruning=bounded))
    assert all(people == ["N1", "Q1", "Q2"] for people in candidates(problem).values())


def test_identical_units_keep_one_more_candidate_per_rival() -> None:
    # Two T2 of commune A rank the same applicants first: each keeps keep_best + 1.
    instance = quartile_instance(units=2)
    problem = problem_of(instance, micro_rules(pruning=PruningRule(keep_best=2)))
    assert candidates(problem) == {"U1": ["N1", "N2", "N3"], "U2": ["N1", "N2", "N3"]}


def test_an_at_most_cap_keeps_candidates_outside_its_share() -> None:
    # In the fragile residence the cap needs applicants who are *not* first quartile: here the
    # first-quartile ones score best, so the others are kept for the cap's sake.
    people = [applicant(a, income=8000.0) for a in NON_Q1] + [applicant(a) for a in Q1]
    instance = build([unit("U1", "RF")], people)
    pruning = PruningRule(keep_best=2)
    problem = problem_of(instance, micro_rules(quotas=(FRAGILE_Q1_CAP,), pruning=pruning))
    assert candidates(problem) == {"U1": ["N1", "N2", "Q1", "Q2"]}


def test_a_restricted_channel_keeps_its_public() -> None:
    # The unit may go to the State (share 0.5 of one unit: need 0.5 + tolerance 1 → 2 units
    # at most), so two priority households are kept beyond keep_best.
    people = [applicant(a) for a in NON_Q1] + [applicant(a, priority=True) for a in Q1]
    instance = build([unit("U1")], people, [holder("ST", "state")], [convention("C_ST", "ST", 0.5)])
    pruning = PruningRule(keep_best=2)
    problem = problem_of(instance, micro_rules(channels=(STATE_PRIORITY,), pruning=pruning))
    assert candidates(problem) == {"U1": ["N1", "N2", "Q1", "Q2"]}
    assert candidates(problem_of(instance, micro_rules(pruning=pruning))) == {"U1": ["N1", "N2"]}


def test_a_unit_fixed_to_a_restricted_holder_keeps_only_its_public() -> None:
    people = [applicant(a) for a in NON_Q1] + [applicant(a, priority=True) for a in Q1]
    instance = build(
        [unit("U1", status="stock:ST")],
        people,
        [holder("ST", "state")],
        [convention("C_ST", "ST", 0.5)],
    )
    problem = problem_of(instance, micro_rules(channels=(STATE_PRIORITY,)))
    assert candidates(problem) == {"U1": ["Q1", "Q2", "Q3"]}


def test_prune_chunk_orders_by_unit_then_value_and_keeps_forced_pairs() -> None:
    chunk = PairChunk(
        unit=np.array([0, 0, 0, 1, 1]),
        applicant=np.array([0, 1, 2, 0, 1]),
        wish_rank=np.ones(5, dtype=np.int64),
        q1=np.array([False, False, True, False, False]),
        burden=np.zeros(5),
        fit=np.ones(5),
    )
    values = np.array([0.5, 0.9, 0.1, 0.3, 0.8])
    rule = PruningRule(keep_best=1, keep_per_class=1)
    assert prune_chunk(chunk, values, rule, []).tolist() == [1, 4]
    forced = np.array([False, False, False, True, False])
    assert prune_chunk(chunk, values, rule, [], forced).tolist() == [1, 4, 3]
    everyone = np.ones(3, dtype=bool)
    q1_only = PairClass("q1", everyone, np.zeros(3, dtype=bool), np.array([1, 1]))
    assert prune_chunk(chunk, values, rule, [q1_only]).tolist() == [1, 2, 4]


def test_normalised_scores() -> None:
    assert normalised_scores(pd.Series([10.0, 5.0, 0.0])).tolist() == [1.0, 0.5, 0.0]
    assert normalised_scores(pd.Series([0.0, 0.0])).tolist() == [0.0, 0.0]
    assert normalised_scores(pd.Series([-2.0, 2.0])).tolist() == [0.0, 1.0]
