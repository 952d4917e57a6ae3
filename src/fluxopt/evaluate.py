"""The objective of any decision tables under a batch's model.

Baselines (greedy, naive formulations) and fluxopt's own solution are compared on the same
objective: the decisions fix the integer columns (``first`` and ``orient``); the continuous
columns (shortfall slacks, counted attributions) are then set at their cheapest feasible
values by an LP over them alone. The result equals the solver's objective for fluxopt's own
decisions (a test checks it).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.decisions import Decisions
from fluxopt.model.blocks import LinearModel
from fluxopt.model.variables import Variables
from fluxopt.problem import AllocationProblem
from fluxopt.schema.problems import FluxoptError
from fluxopt.solvers.base import SolveOptions, SolveResult
from fluxopt.solvers.highs import HighsSolver


def decision_columns(
    problem: AllocationProblem, variables: Variables, decisions: Decisions
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Values of the ``first`` and ``orient`` columns that the decision tables describe."""
    first = np.zeros(variables.first.size)
    orient = np.zeros(variables.orient.size)
    graph = problem.graph
    pair_index = pd.Series(
        np.arange(len(graph)),
        index=pd.MultiIndex.from_arrays(
            [
                problem.units["unit_id"].to_numpy()[graph.unit],
                problem.applicants["applicant_id"].to_numpy()[graph.applicant],
            ]
        ),
    )
    ranked_first = decisions.first_ranked
    keys = pd.MultiIndex.from_arrays(
        [ranked_first["unit_id"].astype(str), ranked_first["applicant_id"].astype(str)]
    )
    positions = pair_index.reindex(keys).to_numpy()
    if np.isnan(positions).any():
        raise FluxoptError("the decisions rank first a pair outside the candidate graph")
    first[positions.astype(np.int64)] = 1.0
    cov = problem.coverage
    cov_index = pd.Series(
        np.arange(len(cov)),
        index=pd.MultiIndex.from_arrays(
            [
                problem.units["unit_id"].to_numpy()[cov["unit"].to_numpy()],
                problem.holders["holder_id"].to_numpy()[cov["holder"].to_numpy()],
            ]
        ),
    )
    oriented = decisions.orientation
    keys = pd.MultiIndex.from_arrays(
        [oriented["unit_id"].astype(str), oriented["holder_id"].astype(str)]
    )
    rows = cov_index.reindex(keys).to_numpy()
    if np.isnan(rows).any():
        raise FluxoptError("the decisions orient a unit to a holder that may not receive it")
    orient[rows.astype(np.int64)] = 1.0
    return first, orient


def complete(
    model: LinearModel,
    variables: Variables,
    first: npt.NDArray[np.float64],
    orient: npt.NDArray[np.float64],
) -> SolveResult:
    """The model's cheapest solution with ``first`` and ``orient`` fixed (an LP)."""
    lower, upper = model.col_lower.copy(), model.col_upper.copy()
    for block, values in ((variables.first, first), (variables.orient, orient)):
        lower[block.start : block.stop] = values
        upper[block.start : block.stop] = values
    fixed = model.with_bounds(lower, upper, f"{model.name}-evaluate").relaxed()
    return HighsSolver().run(fixed, SolveOptions(lp_first=False))


def objective_of(
    problem: AllocationProblem, model: LinearModel, variables: Variables, decisions: Decisions
) -> float:
    """The model objective of the decisions (their hard-rule breaches raise an error)."""
    first, orient = decision_columns(problem, variables, decisions)
    result = complete(model, variables, first, orient)
    if not result.status.has_solution or result.objective is None:
        raise FluxoptError(
            "the decisions break a hard rule of the model (no feasible completion); "
            "run fluxopt verify on them to see which"
        )
    return float(result.objective)
