r"""Reference floors of a solve: the LP relaxation and the plain assignment.

- **LP relaxation**: ``model.relaxed()`` solved by HiGHS with its interior-point method
  (then crossover), the quickest of its LP methods on these models; its optimum is the bound
  every MILP solve starts from, and its time the least a solve that proves a gap can take.
- **Plain assignment**: the same candidate graph without any side rule (no holders, flux,
  channels or quotas): each unit takes at most one applicant, each applicant at most one unit,
  as many units as possible, then the least value lost, :math:`\min \sum_p (1 - v_p) x_p`.
  A maximum flow of minimum cost (OR-Tools ``SimpleMinCostFlow``, integer costs
  :math:`\mathrm{round}(10^4 (1 - v_p))`) from a source through units and applicants to a sink.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from ortools.graph.python import min_cost_flow

from fluxopt.model.blocks import LinearModel
from fluxopt.problem import AllocationProblem
from fluxopt.solvers.highs import new_highs, to_highs_lp

COST_SCALE = 10_000


@dataclass(frozen=True)
class Floor:
    """The figures of one floor."""

    seconds: float
    status: str
    objective: float | None
    detail: str = ""


def lp_relaxation(model: LinearModel, time_limit: float, threads: int = 1) -> Floor:
    """Solve the model's LP relaxation with HiGHS (interior point, then crossover)."""
    highs = new_highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit))
    highs.setOptionValue("threads", int(threads))
    highs.setOptionValue("solver", "ipm")
    highs.passModel(to_highs_lp(model.relaxed()))
    started = time.perf_counter()
    highs.run()
    seconds = time.perf_counter() - started
    status = highs.modelStatusToString(highs.getModelStatus())
    info = highs.getInfo()
    objective = float(info.objective_function_value) if info.primal_solution_status == 2 else None
    return Floor(seconds, status, objective, "HiGHS ipm + crossover")


def plain_assignment(problem: AllocationProblem) -> Floor:
    """Maximum assignment of least value lost on the candidate graph (module docstring)."""
    started = time.perf_counter()
    graph = problem.graph
    units, unit_node = np.unique(graph.unit, return_inverse=True)
    apps, app_node = np.unique(graph.applicant, return_inverse=True)
    n_units, n_apps = len(units), len(apps)
    source, sink = 0, 1 + n_units + n_apps
    tails = np.concatenate([np.zeros(n_units), 1 + unit_node, 1 + n_units + np.arange(n_apps)])
    heads = np.concatenate([1 + np.arange(n_units), 1 + n_units + app_node, np.full(n_apps, sink)])
    loss = np.round(COST_SCALE * (1.0 - graph.value))
    costs = np.concatenate([np.zeros(n_units), loss, np.zeros(n_apps)])
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32),
        heads.astype(np.int32),
        np.ones(len(tails), dtype=np.int64),
        costs.astype(np.int64),
    )
    flow.set_nodes_supplies(
        np.array([source, sink], dtype=np.int32), np.array([n_units, -n_units], dtype=np.int64)
    )
    status = flow.solve_max_flow_with_min_cost()
    seconds = time.perf_counter() - started
    if status != flow.OPTIMAL:
        return Floor(seconds, f"status {status}", None)
    assigned = flow.flows(arcs[n_units : n_units + len(graph)]) > 0
    lost = float((1.0 - graph.value[assigned]).sum())
    return Floor(
        seconds,
        "optimal",
        lost,
        f"{int(assigned.sum())} of {problem.num_units} units assigned, value lost {lost:.2f}",
    )
