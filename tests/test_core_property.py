"""Properties on random small instances: fluxopt's decisions pass the verifier, and no greedy
allocation that keeps the hard rules has a smaller loss.

Each example draws a micro-territory instance (3-8 units, 10-40 applicants, 1-2 EPCIs, 2-4
holders, a few units withdrawn from the flux or kept in stock) and solves it under the
bundled ``lec-default`` rules to optimality. Both greedy allocations are measured with
:func:`fluxopt.evaluate.objective_of` on fluxopt's own model: the project's baseline
(:mod:`fluxopt.baselines.greedy`, when present) and the reference greedy below (units in
order of availability, each to its only possible holder or else to the landlord, with the
best-scored admissible applicant not yet listed).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core_instances import EXACT, LEC, MONTH, random_instance, solve
from fluxopt.allocate import Allocation
from fluxopt.constraints.ruleset import FluxRule
from fluxopt.decisions import Decisions, make_decisions
from fluxopt.evaluate import objective_of
from fluxopt.instance import Instance
from fluxopt.problem import AllocationProblem, as_chunk
from fluxopt.schema.problems import FluxoptError
from fluxopt.verify import verify

Baseline = Callable[[AllocationProblem], Decisions]


def reference_greedy(problem: AllocationProblem) -> Decisions:
    """Units by availability; each to its only holder or the landlord; best scores first."""
    graph, coverage = problem.graph, problem.coverage
    k = problem.rules.families.shortlist.size
    per_unit = coverage.groupby("unit")["holder"].agg(list)
    chunk = as_chunk(graph)
    score = problem.applicants["score"].to_numpy(dtype=np.float64)
    used = np.zeros(len(problem.applicants), dtype=bool)
    unit_holder = np.full(problem.num_units, -1, dtype=np.int64)
    pairs: list[int] = []
    ranks: list[int] = []
    order = problem.units.sort_values(["available_on", "unit_id"], kind="stable").index
    for u in order.to_numpy(dtype=np.int64):
        holders = per_unit.get(u, [])
        holder = holders[0] if len(holders) == 1 else problem.landlord
        unit_holder[u] = holder
        mine = np.flatnonzero(graph.unit == u)
        admitted = problem.admits.get(holder)
        if admitted is not None:
            mine = mine[admitted.members(chunk)[mine]]
        mine = mine[~used[graph.applicant[mine]]]
        best = mine[np.lexsort((graph.applicant[mine], -score[graph.applicant[mine]]))][:k]
        used[graph.applicant[best]] = True
        pairs += best.tolist()
        ranks += list(range(1, len(best) + 1))
    return make_decisions(
        problem,
        unit_holder,
        np.array(pairs, dtype=np.int64),
        np.array(ranks, dtype=np.int64),
    )


def baselines() -> dict[str, Baseline]:
    """The reference greedy, and the project's greedy baseline when it is installed."""
    found: dict[str, Baseline] = {"reference": reference_greedy}
    try:
        module = importlib.import_module("fluxopt.baselines.greedy")
    except ModuleNotFoundError:
        return found
    found["baseline"] = module.greedy_decisions
    return found


SOFT_FLUX = LEC.model_copy(
    update={"families": LEC.families.model_copy(update={"flux": FluxRule(enabled=False)})}
)
"""The rules for checking a greedy allocation: the flux rule is soft in ``lec-default``, so
its findings are shortfalls that never change ``ok``, and its (slow) recount is skipped."""


def loss_if_valid(instance: Instance, allocation: Allocation, decisions: Decisions) -> float | None:
    """The loss of decisions under the allocation's model, if they keep the hard rules
    (the verifier passes and the model admits them), else ``None``."""
    assert not LEC.families.flux.hard
    orientation, shortlist = decisions.orientation, decisions.shortlist
    if not verify(instance, SOFT_FLUX, orientation, shortlist, month=MONTH).ok:
        return None
    try:
        return objective_of(allocation.problem, allocation.model, allocation.variables, decisions)
    except FluxoptError:
        return None


@settings(max_examples=15, deadline=None, derandomize=True)
@given(
    seed=st.integers(0, 2**16),
    num_units=st.integers(3, 8),
    num_applicants=st.integers(10, 40),
    num_epcis=st.integers(1, 2),
    num_holders=st.integers(2, 4),
    greedy=st.sampled_from(sorted(baselines())),
)
def test_fluxopt_is_verified_and_never_worse_than_greedy(
    seed: int, num_units: int, num_applicants: int, num_epcis: int, num_holders: int, greedy: str
) -> None:
    instance = random_instance(seed, num_units, num_applicants, num_epcis, num_holders)
    solved = solve(instance, LEC, settings=EXACT)  # verified, objective re-evaluated
    allocation = solved.allocation
    loss = loss_if_valid(instance, allocation, baselines()[greedy](allocation.problem))
    if loss is not None:
        assert solved.objective <= loss + 1e-6, f"the {greedy} greedy does better: {loss}"


def test_the_reference_greedy_keeps_the_hard_rules_and_loses_more() -> None:
    instance = random_instance(3, 8, 30, 2, 4)
    solved = solve(instance, LEC, settings=EXACT)
    allocation = solved.allocation
    decisions = reference_greedy(allocation.problem)
    report = verify(instance, LEC, decisions.orientation, decisions.shortlist, month=MONTH)
    assert report.ok, report.text()
    assert (decisions.shortlist["rank"] == 1).any()
    loss = loss_if_valid(instance, allocation, decisions)
    assert loss is not None
    assert solved.objective <= loss + 1e-6
