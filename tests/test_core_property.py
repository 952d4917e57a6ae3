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

import datetime as dt
import importlib
from collections.abc import Callable

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from core_instances import (
    EXACT,
    LANDLORD,
    LEC,
    MONTH,
    applicant,
    build,
    convention,
    holder,
    solve,
    unit,
)
from fluxopt.allocate import Allocation
from fluxopt.constraints.ruleset import FluxRule
from fluxopt.decisions import Decisions, make_decisions
from fluxopt.evaluate import objective_of
from fluxopt.instance import Instance
from fluxopt.problem import AllocationProblem, as_chunk
from fluxopt.schema.problems import FluxoptError
from fluxopt.verify import verify

Baseline = Callable[[AllocationProblem], Decisions]


OPTIONAL_HOLDERS = (
    (holder("ST", "state"), convention("C_ST", "ST", 0.25)),
    (holder("AL", "action_logement", "direct"), convention("C_AL", "AL", 0.2)),
    (
        holder("CA", "commune"),
        convention("C_CA", "CA", 0.1, perimeter_kind="commune", perimeter_id="A"),
    ),
    (holder("SA", "state_agents"), convention("C_SA", "SA", 0.05)),
    (holder("ALD", "action_logement"), convention("C_ALD", "ALD", 0.2)),
)
"""Holders a random instance may have besides the landlord, with their conventions."""


def wished(rng: np.random.Generator, communes: list[str]) -> str:
    """One to all of the communes, in a random order of preference."""
    count = int(rng.integers(1, len(communes) + 1))
    return ";".join(str(c) for c in rng.permutation(communes)[:count])


def random_instance(
    seed: int, num_units: int, num_applicants: int, num_epcis: int, num_holders: int
) -> Instance:
    """A random instance of the micro territory (the landlord plus ``num_holders - 1``)."""
    rng = np.random.default_rng(seed)
    places = ["RA", "RF", "RQ"] + (["RB"] if num_epcis > 1 else [])
    communes = ["A", "Q"] + (["B"] if num_epcis > 1 else [])
    picked = rng.choice(len(OPTIONAL_HOLDERS), size=num_holders - 1, replace=False)
    chosen = [OPTIONAL_HOLDERS[int(i)] for i in sorted(picked)]
    holder_rows = [h for h, _ in chosen]
    stock_holders = [h["holder_id"] for h in holder_rows] + [LANDLORD]
    statuses = ["flux"] * 6 + [
        "excluded:mutation",
        "excluded:renewal",
        "excluded:defense",
        f"stock:{stock_holders[int(rng.integers(len(stock_holders)))]}",
    ]
    units = [
        unit(
            f"U{i + 1}",
            str(rng.choice(places)),
            rooms=int(rng.integers(1, 5)),
            rent=float(rng.integers(15, 45) * 10),
            charges=float(rng.integers(0, 6) * 10),
            financing=str(rng.choice(["PLAI", "PLUS"])),
            status=str(rng.choice(statuses)),
            day=f"2026-01-{int(rng.integers(2, 29)):02d}",
            floor=int(rng.integers(0, 4)),
            elevator=bool(rng.random() < 0.5),
        )
        for i in range(num_units)
    ]
    applicants = [
        applicant(
            f"A{i + 1:02d}",
            ";".join(
                str(c) for c in rng.permutation(communes)[: rng.integers(1, len(communes) + 1)]
            ),
            size=int(rng.integers(1, 5)),
            income=float(rng.integers(3, 31) * 1000),
            filed=str(dt.date(2025, 1, 1) - dt.timedelta(days=int(rng.integers(0, 900)))),
            wished_rooms=int(rng.integers(1, 5)) if rng.random() < 0.5 else None,
            priority=bool(rng.random() < 0.3),
            dalo=bool(rng.random() < 0.1),
            is_transfer=bool(rng.random() < 0.3),
            renewal_relocation=bool(rng.random() < 0.1),
            employer_action_logement=bool(rng.random() < 0.3),
            state_agent=bool(rng.random() < 0.15),
            needs_access=bool(rng.random() < 0.1),
        )
        for i in range(num_applicants)
    ]
    return build(
        units,
        applicants,
        holder_rows,
        [c for _, c in chosen],
        cap_q1_share=float(rng.choice([0.3, 0.5])),
        lec_in_e2=bool(rng.random() < 0.5),
    )


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
