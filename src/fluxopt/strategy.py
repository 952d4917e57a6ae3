"""How a batch's model is solved: a proven bound, a good first solution, then the MILP.

1. **Bound**: the LP relaxation (the integer bands of the flux rows and the per-unit channel
   rows keep it tight).
2. **First solution**: the per-holder quotas are what makes the MILP hard to satisfy by
   rounding, so a first solution comes from the model without them, repaired in two steps
   on the whole model: the orientation re-chosen with the first-ranked applicants fixed,
   then the first-ranked applicants re-chosen with the orientation fixed. Each step is a
   small MILP solved LP-first (:mod:`fluxopt.solvers.lp_fixing`).
3. **MILP**: if the first solution is not within the gap of the bound, the whole model is
   solved from it (warm start) for the remaining time.

The result carries the best solution, the best proven bound and the seconds of each step.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np

from fluxopt.model.blocks import FloatArray, LinearModel
from fluxopt.model.build import build_model
from fluxopt.model.variables import Variables
from fluxopt.problem import AllocationProblem
from fluxopt.solvers.base import SolveOptions, SolveResult, Status, get_solver
from fluxopt.solvers.highs import HighsSolver


def solve_batch(
    problem: AllocationProblem,
    model: LinearModel,
    var: Variables,
    options: SolveOptions,
    solver: str,
) -> SolveResult:
    """Solve one batch's model with the steps of the module docstring."""
    if solver != "highs" or not model.integer.any():
        return get_solver(solver).solve(model, options)
    backend = HighsSolver()
    started = time.perf_counter()
    phases: dict[str, float] = {}
    lp = backend.run(model.relaxed(), options)
    phases["lp"] = lp.runtime
    if not lp.status.has_solution or lp.objective is None:
        return backend.solve(model, options)
    bound = float(lp.objective)
    incumbent = _first_solution(problem, model, var, options, started, phases)
    if incumbent is not None and _gap(incumbent.objective, bound) <= options.mip_gap:
        return _result(incumbent, Status.OPTIMAL, bound, phases, started)
    remaining = options.time_limit - (time.perf_counter() - started)
    if remaining < 1.0 and incumbent is not None:
        return _result(incumbent, Status.FEASIBLE, bound, phases, started)
    warm = incumbent.x if incumbent is not None else None
    final = backend.solve(
        model, dataclasses.replace(options, time_limit=max(remaining, 1.0), warm_start=warm)
    )
    phases["milp"] = final.runtime
    if final.objective is None:
        if incumbent is None:
            return final
        return _result(incumbent, Status.FEASIBLE, bound, phases, started)
    best: SolveResult | _Incumbent = final
    if incumbent is not None and incumbent.objective < final.objective:
        best = incumbent
    proven = max(bound, final.bound if final.bound is not None else bound)
    objective = float(best.objective)  # type: ignore[arg-type]
    status = Status.OPTIMAL if _gap(objective, proven) <= options.mip_gap else Status.FEASIBLE
    return _result(best, status, proven, phases, started)


@dataclasses.dataclass(frozen=True)
class _Incumbent:
    x: FloatArray
    objective: float
    message: str


def _first_solution(
    problem: AllocationProblem,
    model: LinearModel,
    var: Variables,
    options: SolveOptions,
    started: float,
    phases: dict[str, float],
) -> _Incumbent | None:
    holder_rules = [q for q in problem.rules.active_quotas if q.per == "holder"]
    backend = HighsSolver()
    budget = max(options.time_limit * 0.5, 1.0)

    def within(share: float) -> SolveOptions:
        return dataclasses.replace(options, time_limit=max(budget * share, 0.5))

    if not holder_rules:
        result = backend.solve(model, dataclasses.replace(options, time_limit=budget))
        phases["first"] = result.runtime
        return _incumbent(result, "lp-first")
    families = problem.rules.families
    easier = problem.rules.model_copy(
        update={
            "families": families.model_copy(
                update={"quotas": tuple(q for q in families.quotas if q.per != "holder")}
            )
        }
    )
    relaxed_model, relaxed_var = build_model(dataclasses.replace(problem, rules=easier))
    first = backend.solve(relaxed_model, within(0.3))
    phases["without-holder-quotas"] = first.runtime
    if not first.status.has_solution or first.x is None:
        return None
    x = first.x[relaxed_var.first.start : relaxed_var.first.stop]
    y = first.x[relaxed_var.orient.start : relaxed_var.orient.stop]
    step = backend.solve(_fixed(model, var.first.start, x), within(0.2))
    phases["reorient"] = step.runtime
    if not step.status.has_solution or step.x is None:
        return None
    y = step.x[var.orient.start : var.orient.stop]
    step = backend.run(_fixed(model, var.orient.start, y), within(0.5))
    phases["rerank"] = step.runtime
    del started
    return _incumbent(step, "repaired")


def _fixed(model: LinearModel, start: int, values: FloatArray) -> LinearModel:
    lower, upper = model.col_lower.copy(), model.col_upper.copy()
    stop = start + len(values)
    lower[start:stop] = np.round(values)
    upper[start:stop] = np.round(values)
    return model.with_bounds(lower, upper, f"{model.name}-fixed")


def _incumbent(result: SolveResult, message: str) -> _Incumbent | None:
    if not result.status.has_solution or result.x is None or result.objective is None:
        return None
    return _Incumbent(result.x, float(result.objective), message)


def _gap(objective: float, bound: float) -> float:
    return abs(objective - bound) / max(abs(objective), 1.0)


def _result(
    best: SolveResult | _Incumbent,
    status: Status,
    bound: float,
    phases: dict[str, float],
    started: float,
) -> SolveResult:
    objective = float(best.objective)  # type: ignore[arg-type]
    return SolveResult(
        status=status,
        x=best.x,
        objective=objective,
        bound=min(bound, objective),
        runtime=time.perf_counter() - started,
        solver="highs",
        message=f"staged: {getattr(best, 'message', '')}",
        phases=phases,
    )
