"""Second stage: ranks 2..k of each shortlist, from the applicants left after the first ranks.

Once the first stage has fixed each unit's holder and first-ranked applicant, the
alternates are an assignment with capacities: each shortlisted unit takes up to ``k - 1``
more candidates among its own (admitted by its holder's channel), each applicant stands on
one list at most (first ranks included). It is solved exactly as a maximum flow of minimum
cost (OR-Tools): first as many alternates as possible (CALEOL examines three candidates
where there are three), then the most valuable ones. A candidate sharing the first-ranked
applicant's profile on the unit's quota rules gets a small bonus, so that a refusal by the
first does not undo the quota it served.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from ortools.graph.python import min_cost_flow

from fluxopt.candidates import rank_within
from fluxopt.problem import AllocationProblem, as_chunk

COST_SCALE = 10_000
PROFILE_BONUS = 0.1


def choose_alternates(
    problem: AllocationProblem,
    first_pairs: npt.NDArray[np.int64],
    unit_holder: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Pick the alternates; return (pair positions, rank) with ranks starting at 2.

    ``first_pairs`` are the graph positions of the first-ranked pairs; ``unit_holder`` the
    holder position of each unit (-1 when none).
    """
    k = problem.rules.families.shortlist.size
    graph = problem.graph
    if k <= 1 or len(first_pairs) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    chunk = as_chunk(graph)
    listed_units = np.zeros(problem.num_units, dtype=bool)
    listed_units[graph.unit[first_pairs]] = True
    used = np.zeros(len(problem.applicants), dtype=bool)
    used[graph.applicant[first_pairs]] = True
    ok = listed_units[graph.unit] & ~used[graph.applicant]
    holder_of_pair = unit_holder[graph.unit]
    for holder, admitted in problem.admits.items():
        on_holder = holder_of_pair == holder
        if on_holder.any():
            ok &= ~on_holder | admitted.members(chunk)
    candidates = np.flatnonzero(ok)
    if len(candidates) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    bonus = _profile_bonus(problem, first_pairs, candidates)
    value = graph.value[candidates] + bonus
    return _solve_flow(problem, candidates, value, k - 1)


def _profile_bonus(
    problem: AllocationProblem,
    first_pairs: npt.NDArray[np.int64],
    candidates: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    graph = problem.graph
    first_of_unit = np.full(problem.num_units, -1, dtype=np.int64)
    first_of_unit[graph.unit[first_pairs]] = first_pairs
    partner = first_of_unit[graph.unit[candidates]]
    bonus = np.zeros(len(candidates))
    for rule in problem.rules.active_quotas:
        member = problem.share_mask(rule.share)
        in_scope = problem.unit_mask(rule.scope)[graph.unit[candidates]]
        bonus += PROFILE_BONUS * (in_scope & (member[candidates] == member[partner]))
    return bonus


def _solve_flow(
    problem: AllocationProblem,
    candidates: npt.NDArray[np.int64],
    value: npt.NDArray[np.float64],
    slots: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    graph = problem.graph
    units, unit_node = np.unique(graph.unit[candidates], return_inverse=True)
    apps, app_node = np.unique(graph.applicant[candidates], return_inverse=True)
    n_units, n_apps = len(units), len(apps)
    source, sink = 0, 1 + n_units + n_apps
    unit_ids = 1 + np.arange(n_units)
    app_ids = 1 + n_units + np.arange(n_apps)
    tails = np.concatenate([np.full(n_units, source), 1 + unit_node, app_ids])
    heads = np.concatenate([unit_ids, 1 + n_units + app_node, np.full(n_apps, sink)])
    caps = np.concatenate([np.full(n_units, slots), np.ones(len(candidates)), np.ones(n_apps)])
    costs = np.concatenate(
        [
            np.zeros(n_units),
            -np.round(COST_SCALE * value),
            np.zeros(n_apps),
        ]
    )
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32),
        heads.astype(np.int32),
        caps.astype(np.int64),
        costs.astype(np.int64),
    )
    total = int(n_units * slots)
    flow.set_nodes_supplies(np.array([source, sink], dtype=np.int32), np.array([total, -total]))
    status = flow.solve_max_flow_with_min_cost()
    if status != flow.OPTIMAL:
        raise RuntimeError(f"alternates flow failed with status {status}")
    flows = flow.flows(arcs[n_units : n_units + len(candidates)])
    chosen = candidates[flows > 0]
    chosen_value = value[flows > 0]
    order = np.lexsort((-chosen_value, graph.unit[chosen]))
    chosen = chosen[order]
    return chosen, rank_within(graph.unit[chosen]) + 2
