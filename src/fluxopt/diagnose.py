"""When a solve fails: name the rules in conflict instead of showing a stack trace.

A hard rule keeps a slack column bounded to zero. If the model is infeasible, the same model
is solved again with every such slack freed and heavily penalised; the rules whose slacks
are then used are the ones in conflict, reported by name and group ("quota
lec-q1-outside-qpv, epci 200041465: short by 2 attributions").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from fluxopt.model.blocks import LinearModel
from fluxopt.schema.problems import FluxoptError
from fluxopt.solvers.base import SolveResult, Status, get_solver

if TYPE_CHECKING:
    from fluxopt.allocate import SolveSettings
    from fluxopt.problem import AllocationProblem

SLACK_SUFFIXES = (":under", ":over", ":shortfall", ":slack")
RELAXED_COST = 1e6


class InfeasibleRulesError(FluxoptError):
    """The hard rules cannot all hold; carries the conflicting rules."""

    def __init__(self, conflicts: list[str]) -> None:
        self.conflicts = conflicts
        lines = ["the hard rules cannot all be met; these rules are in conflict:"]
        lines += [f"  - {c}" for c in conflicts]
        lines.append("make one of them soft (hard: false) or relax its level, then run again.")
        super().__init__("\n".join(lines))


def slack_blocks(model: LinearModel) -> list[str]:
    """Names of the slack column blocks of a model."""
    return [name for name in model.columns if name.endswith(SLACK_SUFFIXES)]


def freed(model: LinearModel) -> LinearModel:
    """The model with every zero-bounded slack freed and penalised."""
    upper = model.col_upper.copy()
    cost = model.cost.copy()
    for name in slack_blocks(model):
        block = model.columns[name]
        hard = upper[block.start : block.stop] == 0.0
        upper[block.start : block.stop][hard] = np.inf
        cost[block.start : block.stop][hard] = RELAXED_COST
    return LinearModel(
        cost=cost,
        col_lower=model.col_lower,
        col_upper=upper,
        integer=model.integer,
        matrix=model.matrix,
        row_lower=model.row_lower,
        row_upper=model.row_upper,
        columns=model.columns,
        rows=model.rows,
        offset=model.offset,
        name=f"{model.name}-relaxed",
    )


def conflicts(original: LinearModel, relaxed_x: np.ndarray) -> list[str]:
    """Hard rules (block and label) whose freed slack the relaxed solution uses."""
    found: list[str] = []
    for name in slack_blocks(original):
        block = original.columns[name]
        was_hard = original.col_upper[block.start : block.stop] == 0.0
        used = relaxed_x[block.start : block.stop] > 1e-6
        for i in np.flatnonzero(was_hard & used):
            label = ", ".join(f"{k} {v}" for k, v in block.labels.iloc[i].items())
            amount = relaxed_x[block.start + i]
            found.append(f"{name.rsplit(':', 1)[0]} ({label}): off by {amount:.2f}")
    return found


def explain_failure(
    problem: AllocationProblem,
    model: LinearModel,
    result: SolveResult,
    settings: SolveSettings,
) -> FluxoptError:
    """The error to raise for a solve without solution."""
    if result.status is Status.INFEASIBLE:
        relaxed = get_solver(settings.solver).solve(freed(model), settings.options())
        if relaxed.status.has_solution and relaxed.x is not None:
            found = conflicts(model, relaxed.x)
            if found:
                return InfeasibleRulesError(found)
        return FluxoptError(
            "the model is infeasible even with every hard rule relaxed; check the locks and "
            "the orientation data (a unit that no holder may receive)"
        )
    if result.status is Status.TIME_LIMIT:
        return FluxoptError(
            f"no solution within the time limit of {settings.time_limit:g} s; raise "
            "--time-limit or tighten pruning (pruning.keep_best)"
        )
    return FluxoptError(f"the solver failed: {result.status} ({result.message})")
