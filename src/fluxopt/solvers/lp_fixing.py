r"""LP first, then reduced-cost fixing: how fluxopt solves its MILPs fast and provably.

The allocation model is an assignment with side rules; its LP relaxation is tight. So:

1. solve the LP relaxation: bound :math:`z_{LP}`, solution :math:`x^{LP}`, reduced costs
   :math:`d`;
2. solve the MILP restricted to the LP's support (integer columns at zero in the LP are
   fixed to zero): a small MILP whose optimum :math:`z_R` is a feasible solution of the whole;
3. if :math:`z_R - z_{LP} \le \text{gap} \cdot |z_R|`, stop: the gap is proven;
4. otherwise fix, in the whole model, every integer column whose reduced cost proves it
   cannot be in a solution better than :math:`z_R` (a column at its lower bound in the LP
   with :math:`d_j > z_R - z_{LP}`, at its upper bound with :math:`-d_j > z_R - z_{LP}`),
   and solve the reduced MILP from :math:`x^R`. Any solution the fixing removes costs at
   least :math:`z_{LP} + |d_j| > z_R`, so the reduced MILP's bound, capped by
   :math:`z_R`, is a bound of the whole model.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fluxopt.model.blocks import FloatArray, LinearModel
from fluxopt.solvers.base import SolveOptions, SolveResult, Status

Run = Callable[[LinearModel, SolveOptions], SolveResult]
SUPPORT_EPS = 1e-6
FIX_MARGIN = 1e-6
RESTRICTED_SHARE = 0.4
"""Share of the time limit the restricted MILP may use."""


def solve_lp_first(model: LinearModel, options: SolveOptions, run: Run) -> SolveResult:
    """Solve a MILP by LP relaxation, restricted MILP and reduced-cost fixing."""
    started = time.perf_counter()
    phases: dict[str, float] = {}
    lp = run(model.relaxed(), options)
    phases["lp"] = lp.runtime
    if not lp.status.has_solution or lp.x is None or lp.col_duals is None:
        return run(model, options)
    z_lp = float(lp.objective)  # type: ignore[arg-type]
    x_lp, reduced = lp.x, lp.col_duals
    integer = model.integer

    upper = model.col_upper.copy()
    outside = integer & (x_lp <= model.col_lower + SUPPORT_EPS)
    upper[outside] = model.col_lower[outside]
    budget = max(options.time_limit - (time.perf_counter() - started), 1.0)
    restricted = run(
        model.with_bounds(model.col_lower, upper, f"{model.name}-support"),
        _with(options, time_limit=budget * RESTRICTED_SHARE),
    )
    phases["restricted"] = restricted.runtime
    if not restricted.status.has_solution or restricted.x is None:
        remaining = max(options.time_limit - (time.perf_counter() - started), 1.0)
        full = run(model, _with(options, time_limit=remaining))
        return _finish(full, z_lp, phases, started)
    z_r = float(restricted.objective)  # type: ignore[arg-type]
    if _gap(z_r, z_lp) <= options.mip_gap:
        return _result(restricted, Status.OPTIMAL, z_r, z_lp, phases, started)

    lower, upper, fixed = reduced_cost_fixing(model, x_lp, reduced, z_r - z_lp)
    phases["fixed_columns"] = float(fixed)
    remaining = max(options.time_limit - (time.perf_counter() - started), 1.0)
    reduced_model = model.with_bounds(lower, upper, f"{model.name}-fixed")
    final = run(reduced_model, _with(options, time_limit=remaining, warm_start=restricted.x))
    phases["reduced"] = final.runtime
    if not final.status.has_solution or final.x is None or final.objective is None:
        return _result(restricted, Status.FEASIBLE, z_r, z_lp, phases, started)
    best = final if final.objective <= z_r else restricted
    bound = max(z_lp, min(final.bound if final.bound is not None else z_lp, z_r))
    objective = float(best.objective)  # type: ignore[arg-type]
    status = Status.OPTIMAL if _gap(objective, bound) <= options.mip_gap else Status.FEASIBLE
    return _result(best, status, objective, bound, phases, started)


def reduced_cost_fixing(
    model: LinearModel, x_lp: FloatArray, reduced: FloatArray, threshold: float
) -> tuple[FloatArray, FloatArray, int]:
    """Column bounds after fixing every integer column whose reduced cost exceeds ``threshold``."""
    lower, upper = model.col_lower.copy(), model.col_upper.copy()
    integer = model.integer
    at_lower = (
        integer & (x_lp <= model.col_lower + SUPPORT_EPS) & (reduced > threshold + FIX_MARGIN)
    )
    at_upper = (
        integer & (x_lp >= model.col_upper - SUPPORT_EPS) & (-reduced > threshold + FIX_MARGIN)
    )
    upper[at_lower] = lower[at_lower]
    lower[at_upper] = upper[at_upper]
    return lower, upper, int(at_lower.sum() + at_upper.sum())


def _gap(objective: float, bound: float) -> float:
    return abs(objective - bound) / max(abs(objective), 1.0)


def _with(options: SolveOptions, **changes: object) -> SolveOptions:
    from dataclasses import replace

    return replace(options, **changes)  # type: ignore[arg-type]


def _finish(
    result: SolveResult, z_lp: float, phases: dict[str, float], started: float
) -> SolveResult:
    if result.objective is None:
        return result
    bound = max(z_lp, result.bound if result.bound is not None else z_lp)
    return _result(result, result.status, float(result.objective), bound, phases, started)


def _result(
    base: SolveResult,
    status: Status,
    objective: float,
    bound: float,
    phases: dict[str, float],
    started: float,
) -> SolveResult:
    return SolveResult(
        status=status,
        x=base.x,
        objective=objective,
        bound=min(bound, objective),
        runtime=time.perf_counter() - started,
        solver=base.solver,
        message=f"lp-first: {base.message}",
        nodes=base.nodes,
        phases=phases,
    )
