"""The CBC backend through PuLP, and the door to any other solver PuLP drives.

:func:`to_pulp` turns the built model into one ``pulp.LpProblem`` straight from its arrays:
one variable per column, one affine expression per row made from the row's slice of the CSR
matrix (PuLP has no ranged rows: a row with two different finite bounds becomes two
constraints, ``r<i>_lo`` and ``r<i>_hi``; the objective's constant is the cost of a column
fixed at 1, so that the solver's relative gap is measured on the whole objective).
:class:`PulpSolver` solves it with any PuLP command; :class:`CbcSolver`, registered as
``cbc``, uses the CBC binary that PuLP bundles (or a ``cbc`` found on the path), with
``timeLimit``, ``gapRel`` and ``threads`` taken from :class:`SolveOptions`. CBC's log is
written to a temporary file and the bound it proved is read back from it when it states one
(:func:`read_bound`); otherwise the bound is ``None``.

A user who owns a solver PuLP drives (Gurobi, CPLEX, Xpress, COPT, SCIP...) passes its
command: ``PulpSolver(lambda options, log: pulp.GUROBI_CMD(msg=False, timeLimit=...))``.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pulp

from fluxopt.model import LinearModel
from fluxopt.model.blocks import FloatArray
from fluxopt.solvers.base import (
    Capabilities,
    SolveOptions,
    Solver,
    SolveResult,
    Status,
    clip_integral,
    register,
)

OFFSET_COLUMN = "objective_offset"
"""A column fixed at 1 whose cost is the model's offset: PuLP leaves an expression's constant
out of the files it hands to the solver, and CBC's relative gap must be measured on the
whole objective, as every backend's is."""

Command = Callable[[SolveOptions, Path | None], Any]
"""Builds a PuLP solver command from the options and the log file to write (or ``None``)."""

_SOLUTION_STATUS = {
    pulp.LpSolutionOptimal: Status.OPTIMAL,
    pulp.LpSolutionIntegerFeasible: Status.FEASIBLE,
    pulp.LpSolutionInfeasible: Status.INFEASIBLE,
    pulp.LpSolutionUnbounded: Status.UNBOUNDED,
    pulp.LpSolutionNoSolutionFound: Status.TIME_LIMIT,
}

_GAP_EXIT = re.compile(r"Exiting as integer gap of\s+(-?[0-9.eE+-]+)")
_BEST_POSSIBLE = re.compile(r"best possible\s+(-?[0-9.eE+-]+)")
_LOWER_BOUND = re.compile(r"^Lower bound:\s+(-?[0-9.eE+-]+)", re.MULTILINE)
_LOG_OBJECTIVE = re.compile(r"^Objective value:\s+(-?[0-9.eE+-]+)", re.MULTILINE)
_COMPLETED = re.compile(r"Search completed")


def to_pulp(model: LinearModel) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """The model as a PuLP problem, with its variables in column order."""
    problem = pulp.LpProblem(_safe_name(model.name), pulp.LpMinimize)
    lows = model.col_lower.tolist()
    highs = model.col_upper.tolist()
    integers = model.integer.tolist()
    variables = [
        problem.add_variable(
            f"x{j}",
            lows[j] if np.isfinite(lows[j]) else None,
            highs[j] if np.isfinite(highs[j]) else None,
            pulp.LpInteger if integers[j] else pulp.LpContinuous,
        )
        for j in range(model.num_cols)
    ]
    used = np.flatnonzero(model.cost)
    objective = [
        (variables[j], c) for j, c in zip(used.tolist(), model.cost[used].tolist(), strict=True)
    ]
    if model.offset:
        one = problem.add_variable(OFFSET_COLUMN, 1.0, 1.0, pulp.LpContinuous)
        objective.append((one, float(model.offset)))
    problem += pulp.LpAffineExpression(objective)
    matrix = model.matrix.tocsr()
    indptr = matrix.indptr.tolist()
    indices = matrix.indices.tolist()
    data = matrix.data.tolist()
    row_lower = model.row_lower.tolist()
    row_upper = model.row_upper.tolist()
    for r in range(model.num_rows):
        start, stop = indptr[r], indptr[r + 1]
        terms = [
            (variables[j], a) for j, a in zip(indices[start:stop], data[start:stop], strict=True)
        ]
        low, high = row_lower[r], row_upper[r]
        if low == high:
            _add(problem, terms, pulp.LpConstraintEQ, low, f"r{r}")
            continue
        if np.isfinite(low):
            name = f"r{r}_lo" if np.isfinite(high) else f"r{r}"
            _add(problem, terms, pulp.LpConstraintGE, low, name)
        if np.isfinite(high):
            name = f"r{r}_hi" if np.isfinite(low) else f"r{r}"
            _add(problem, terms, pulp.LpConstraintLE, high, name)
    return problem, variables


def _add(
    problem: pulp.LpProblem,
    terms: list[tuple[pulp.LpVariable, float]],
    sense: int,
    rhs: float,
    name: str,
) -> None:
    problem.addConstraint(
        pulp.LpConstraint(pulp.LpAffineExpression(terms), sense=sense, name=name, rhs=rhs)
    )


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", name) or "fluxopt"


def cbc_command(options: SolveOptions, log: Path | None) -> Any:
    """PuLP's command for CBC: the bundled binary, else a ``cbc`` on the path."""
    bundled = Path(pulp.apis.coin_api.pulp_cbc_path)
    path = str(bundled) if bundled.exists() else shutil.which("cbc")
    return pulp.COIN_CMD(
        path=path,
        msg=bool(options.verbose) and log is None,
        timeLimit=float(options.time_limit),
        gapRel=float(options.mip_gap),
        threads=int(options.threads),
        logPath=str(log) if log is not None else None,
    )


def read_bound(log_text: str, objective: float) -> float | None:
    """The lower bound CBC proved, read from its log (``None`` when it states none).

    In order: an exit on the gap tolerance gives ``objective - gap``; a completed search
    gives the objective; a search stopped early gives its last "best possible" (or its
    "Lower bound", printed with three decimals only). The log's objective may differ from
    ``objective`` by a constant, which is added back.
    """
    shown = _last(_LOG_OBJECTIVE, log_text)
    shift = objective - shown if shown is not None else 0.0
    gap = _last(_GAP_EXIT, log_text)
    if gap is not None:
        return objective - abs(gap)
    if _COMPLETED.search(log_text):
        return objective
    for pattern in (_BEST_POSSIBLE, _LOWER_BOUND):
        value = _last(pattern, log_text)
        if value is not None:
            return value + shift
    return None


def _last(pattern: re.Pattern[str], text: str) -> float | None:
    found = pattern.findall(text)
    for raw in reversed(found):
        try:
            return float(raw)
        except ValueError:
            continue
    return None


def solution_values(variables: list[pulp.LpVariable], model: LinearModel) -> FloatArray:
    """The solution, column by column.

    A column the solver never saw (in no row and with no cost, so PuLP left it out) takes
    the value nearest 0 within its bounds.
    """
    raw = np.array([np.nan if v.varValue is None else v.varValue for v in variables])
    unseen = np.isnan(raw)
    raw[unseen] = np.clip(0.0, model.col_lower[unseen], model.col_upper[unseen])
    return raw


@dataclass(frozen=True)
class PulpRun:
    """The outcome of one PuLP solve: mapped status, the solver's log, time."""

    status: Status
    log: str
    seconds: float
    message: str


def run_pulp(problem: pulp.LpProblem, command: Command, options: SolveOptions) -> PulpRun:
    """Solve a PuLP problem with a command built from the options; map the status.

    CBC says "no solution found" both when the time limit comes first and when it fails;
    the first is told by the elapsed time.
    """
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fluxopt-pulp-") as folder:
        log = None if options.verbose else Path(folder) / "solver.log"
        problem.solve(command(options, log))
        log_text = log.read_text(errors="replace") if log and log.exists() else ""
    seconds = time.perf_counter() - started
    status = _SOLUTION_STATUS.get(problem.sol_status, Status.ERROR)
    if status is Status.TIME_LIMIT and seconds < 0.9 * options.time_limit:
        status = Status.ERROR
    message = pulp.LpSolution.get(problem.sol_status, str(problem.sol_status))
    return PulpRun(status=status, log=log_text, seconds=seconds, message=message)


class PulpSolver(Solver):
    """Any solver PuLP drives, on the model made a PuLP problem (see the module docstring)."""

    name: ClassVar[str] = "pulp"
    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init__(self, command: Command = cbc_command) -> None:
        self.command = command

    def solve(self, model: LinearModel, options: SolveOptions) -> SolveResult:
        """Build the PuLP problem, solve it, map the status and read the solution back."""
        started = time.perf_counter()
        problem, variables = to_pulp(model)
        built = time.perf_counter()
        run = run_pulp(problem, self.command, options)
        x = objective = bound = None
        if run.status.has_solution:
            x = clip_integral(model, solution_values(variables, model))
            objective = model.objective(x)
            bound = read_bound(run.log, objective)
            if bound is not None:
                bound = min(bound, objective)
        return SolveResult(
            status=run.status,
            x=x,
            objective=objective,
            bound=bound,
            runtime=time.perf_counter() - started,
            solver=self.name,
            message=run.message,
            phases={"build": built - started, "solve": run.seconds},
        )


@register
class CbcSolver(PulpSolver):
    """COIN-OR CBC through PuLP."""

    name: ClassVar[str] = "cbc"
