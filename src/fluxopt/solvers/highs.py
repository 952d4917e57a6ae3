"""The HiGHS backend (highspy): the whole model passed in one call."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import highspy
import numpy as np

from fluxopt.model import LinearModel
from fluxopt.solvers.base import (
    Capabilities,
    SolveOptions,
    Solver,
    SolveResult,
    Status,
    clip_integral,
    register,
)
from fluxopt.solvers.lp_fixing import solve_lp_first

_STATUS = {
    highspy.HighsModelStatus.kOptimal: Status.OPTIMAL,
    highspy.HighsModelStatus.kInfeasible: Status.INFEASIBLE,
    highspy.HighsModelStatus.kUnbounded: Status.UNBOUNDED,
    highspy.HighsModelStatus.kUnboundedOrInfeasible: Status.INFEASIBLE,
    highspy.HighsModelStatus.kTimeLimit: Status.TIME_LIMIT,
    highspy.HighsModelStatus.kIterationLimit: Status.TIME_LIMIT,
    highspy.HighsModelStatus.kSolutionLimit: Status.FEASIBLE,
    highspy.HighsModelStatus.kInterrupt: Status.TIME_LIMIT,
}


_BANNER_LOCK = threading.Lock()
_banner_shown = False


def new_highs() -> highspy.Highs:
    """A HiGHS object; the licence banner HiGHS prints on its first creation is silenced."""
    global _banner_shown
    with _BANNER_LOCK:
        if _banner_shown:
            return highspy.Highs()
        _banner_shown = True
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with Path(os.devnull).open("w") as devnull:
                os.dup2(devnull.fileno(), 1)
                return highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def to_highs_lp(model: LinearModel) -> highspy.HighsLp:
    """The model as a ``HighsLp`` (row-wise matrix, integrality per column)."""
    lp = highspy.HighsLp()
    lp.num_col_ = model.num_cols
    lp.num_row_ = model.num_rows
    lp.col_cost_ = model.cost
    lp.col_lower_ = model.col_lower
    lp.col_upper_ = model.col_upper
    lp.row_lower_ = model.row_lower
    lp.row_upper_ = model.row_upper
    lp.offset_ = model.offset
    matrix = model.matrix.tocsr()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = model.num_cols
    lp.a_matrix_.num_row_ = model.num_rows
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(np.float64)
    if model.integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in model.integer
        ]
    return lp


@register
class HighsSolver(Solver):
    """HiGHS: dual simplex / interior point for LPs, branch-and-cut for MILPs."""

    name: ClassVar[str] = "highs"
    capabilities: ClassVar[Capabilities] = Capabilities(warm_start=True, lp_first=True)

    def solve(self, model: LinearModel, options: SolveOptions) -> SolveResult:
        """Solve the model: LP first with reduced-cost fixing for MILPs, unless disabled."""
        if options.lp_first and model.integer.any():
            return solve_lp_first(model, options, self.run)
        return self.run(model, options)

    def run(self, model: LinearModel, options: SolveOptions) -> SolveResult:
        """Pass the model in one call, solve it as it is, and map the status."""
        highs = new_highs()
        highs.setOptionValue("output_flag", options.verbose)
        highs.setOptionValue("time_limit", float(options.time_limit))
        highs.setOptionValue("mip_rel_gap", float(options.mip_gap))
        highs.setOptionValue("threads", int(options.threads))
        highs.setOptionValue("random_seed", int(options.seed))
        highs.passModel(to_highs_lp(model))
        if options.warm_start is not None and model.integer.any():
            solution = highspy.HighsSolution()
            solution.col_value = list(np.asarray(options.warm_start, dtype=np.float64))
            solution.value_valid = True
            highs.setSolution(solution)
        started = time.perf_counter()
        highs.run()
        runtime = time.perf_counter() - started
        raw_status = highs.getModelStatus()
        info = highs.getInfo()
        is_mip = bool(model.integer.any())
        has_primal = info.primal_solution_status == 2  # kSolutionStatusFeasible
        status = _STATUS.get(raw_status, Status.ERROR)
        x = objective = bound = duals = col_duals = None
        if has_primal:
            x = clip_integral(model, np.asarray(highs.getSolution().col_value))
            objective = float(info.objective_function_value)
            if is_mip:
                bound = float(info.mip_dual_bound)
            else:
                bound = objective
                duals = np.asarray(highs.getSolution().row_dual, dtype=np.float64)
                col_duals = np.asarray(highs.getSolution().col_dual, dtype=np.float64)
            if status is Status.TIME_LIMIT:
                status = Status.FEASIBLE
        elif status is Status.OPTIMAL:
            status = Status.ERROR
        return SolveResult(
            status=status,
            x=x,
            objective=objective,
            bound=bound,
            runtime=runtime,
            solver=self.name,
            message=highs.modelStatusToString(raw_status),
            row_duals=duals,
            col_duals=col_duals,
            nodes=int(info.mip_node_count) if is_mip else 0,
        )
