"""Strategies side by side: fluxopt and the baselines, run the same way, read the same way.

A strategy turns a batch into decision tables. :func:`run_strategy` runs one by name:

- ``fluxopt``: the allocation pipeline (:func:`fluxopt.allocate.allocate`) with the backend
  of the settings (``highs``, ``cpsat``, ``cbc``);
- ``greedy``: the status quo (:mod:`fluxopt.baselines.greedy`);
- ``naive-pulp``: the textbook PuLP formulation solved by CBC
  (:mod:`fluxopt.baselines.naive_pulp`).

Every result carries the same figures: status, the model objective of its decisions
(:func:`fluxopt.evaluate.objective_of`, the one yardstick for all), the strategy's own
objective and bound when it has them, and the seconds of each phase (``pairs``: scoring,
targets and the candidate graph; ``build``; ``solve``; ``extract``; ``total``, their sum;
``evaluate``, the objective's evaluation, outside the total). A fluxopt run that ends
without a solution is a result too (status ``time_limit`` or ``error``, with the message
and the seconds of the phases it went through), not an exception.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fluxopt.allocate import SolveSettings, allocate
from fluxopt.alternates import choose_alternates
from fluxopt.constraints.ruleset import ConstraintSet
from fluxopt.decisions import Decisions, make_decisions
from fluxopt.evaluate import objective_of
from fluxopt.instance import Instance
from fluxopt.model.blocks import LinearModel
from fluxopt.model.build import build_model
from fluxopt.model.variables import Variables
from fluxopt.problem import AllocationProblem, build_problem
from fluxopt.schema.problems import FluxoptError
from fluxopt.solvers.base import Status
from fluxopt.ytd import YearToDate

STRATEGIES = ("fluxopt", "greedy", "naive-pulp")
PROBLEM_PHASES = ("score", "targets", "pairs")


@dataclass
class StrategyResult:
    """The outcome of one strategy on one batch."""

    strategy: str
    solver: str
    status: Status
    decisions: Decisions | None
    objective: float | None
    """Model objective of the decisions (the common yardstick)."""
    own_objective: float | None
    """The strategy's own objective (its solver's), when it has one."""
    bound: float | None
    problem: AllocationProblem | None
    """The batch's problem (``None`` when the pipeline failed before giving it back)."""
    model: LinearModel | None = None
    variables: Variables | None = None
    timings: dict[str, float] = field(default_factory=dict)
    message: str = ""

    @property
    def gap(self) -> float | None:
        """Relative gap of the model objective to the bound, when both are known."""
        if self.objective is None or self.bound is None:
            return None
        return abs(self.objective - self.bound) / max(abs(self.objective), 1.0)

    @property
    def units_filled(self) -> int:
        """Units with a first-ranked applicant or oriented to a holder in direct mode."""
        if self.decisions is None:
            return 0
        orientation = self.decisions.orientation
        direct = orientation.loc[orientation["holder_mode"] == "direct", "unit_id"]
        return len(set(self.decisions.first_ranked["unit_id"]) | set(direct))


def run_strategy(
    name: str,
    instance: Instance,
    rules: ConstraintSet,
    *,
    month: str | None = None,
    unit_ids: list[str] | None = None,
    scores: pd.Series | None = None,
    ytd: YearToDate | None = None,
    locks: pd.DataFrame | None = None,
    settings: SolveSettings | None = None,
    problem: AllocationProblem | None = None,
    evaluate: bool = True,
) -> StrategyResult:
    """Run the strategy called ``name`` on a batch (see the module docstring).

    ``problem`` lets a baseline reuse an already built :class:`AllocationProblem` (its
    phases are then not timed again; fluxopt always runs its whole pipeline);
    ``evaluate`` computes the model objective of the decisions.
    """
    if name not in STRATEGIES:
        raise FluxoptError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    settings = settings or SolveSettings()
    if name == "fluxopt":
        return _fluxopt_pipeline(
            instance, rules, month, unit_ids, scores, ytd, locks, settings, evaluate
        )
    timings: dict[str, float] = {}
    if problem is None:
        problem = build_problem(
            instance, rules, month=month, unit_ids=unit_ids, scores=scores, ytd=ytd, locks=locks
        )
        timings["pairs"] = sum(problem.timings.get(p, 0.0) for p in PROBLEM_PHASES)
    if name == "greedy":
        result = _greedy_on(problem, timings)
    else:
        result = _naive_on(problem, settings, timings)
    result.timings["total"] = sum(
        result.timings.get(p, 0.0) for p in ("pairs", "build", "solve", "extract")
    )
    if evaluate:
        _evaluate(result)
    return result


def _fluxopt_pipeline(
    instance: Instance,
    rules: ConstraintSet,
    month: str | None,
    unit_ids: list[str] | None,
    scores: pd.Series | None,
    ytd: YearToDate | None,
    locks: pd.DataFrame | None,
    settings: SolveSettings,
    evaluate: bool,
) -> StrategyResult:
    """Run :func:`fluxopt.allocate.allocate`, keeping the phase times even when it fails."""
    marks: list[tuple[str, float]] = []
    started = time.perf_counter()
    try:
        allocation = allocate(
            instance,
            rules,
            month=month,
            unit_ids=unit_ids,
            scores=scores,
            ytd=ytd,
            locks=locks,
            settings=settings,
            progress=lambda phase: marks.append((phase, time.perf_counter())),
        )
    except FluxoptError as exc:
        timings = _phase_times(marks, time.perf_counter())
        reached_limit = timings.get("solve", 0.0) >= 0.9 * settings.time_limit
        return StrategyResult(
            strategy="fluxopt",
            solver=settings.solver,
            status=Status.TIME_LIMIT if reached_limit else Status.ERROR,
            decisions=None,
            objective=None,
            own_objective=None,
            bound=None,
            problem=None,
            timings={**timings, "total": time.perf_counter() - started},
            message=str(exc),
        )
    timings = {
        "pairs": sum(allocation.timings.get(p, 0.0) for p in PROBLEM_PHASES),
        **{p: allocation.timings.get(p, 0.0) for p in ("build", "solve", "extract")},
    }
    timings["total"] = sum(timings.values())
    result = StrategyResult(
        strategy="fluxopt",
        solver=settings.solver,
        status=allocation.status,
        decisions=allocation.decisions,
        objective=allocation.objective,
        own_objective=allocation.objective,
        bound=allocation.bound,
        problem=allocation.problem,
        model=allocation.model,
        variables=allocation.variables,
        timings=timings,
        message=allocation.result.message,
    )
    if evaluate:
        _evaluate(result)
    return result


def _phase_times(marks: list[tuple[str, float]], end: float) -> dict[str, float]:
    """Seconds of each phase from the times the pipeline announced them."""
    stops = [t for _, t in marks[1:]] + [end]
    return {phase: stop - start for (phase, start), stop in zip(marks, stops, strict=True)}


def _greedy_on(problem: AllocationProblem, timings: dict[str, float]) -> StrategyResult:
    from fluxopt.baselines.greedy import greedy_decisions

    started = time.perf_counter()
    decisions = greedy_decisions(problem)
    timings["solve"] = time.perf_counter() - started
    return StrategyResult(
        strategy="greedy",
        solver="greedy",
        status=Status.FEASIBLE,
        decisions=decisions,
        objective=None,
        own_objective=None,
        bound=None,
        problem=problem,
        timings=timings,
        message="greedy pass in availability order",
    )


def _naive_on(
    problem: AllocationProblem, settings: SolveSettings, timings: dict[str, float]
) -> StrategyResult:
    from fluxopt.baselines.naive_pulp import build_naive, solve_naive

    started = time.perf_counter()
    naive = build_naive(problem)
    timings["build"] = time.perf_counter() - started
    solution = solve_naive(naive, problem, settings.options())
    timings["solve"] = solution.seconds
    decisions = None
    if solution.status.has_solution:
        started = time.perf_counter()
        decisions = _with_alternates(problem, solution.unit_holder, solution.first_pairs)
        timings["extract"] = time.perf_counter() - started
    return StrategyResult(
        strategy="naive-pulp",
        solver="cbc",
        status=solution.status,
        decisions=decisions,
        objective=None,
        own_objective=solution.objective,
        bound=solution.bound,
        problem=problem,
        timings=timings,
        message=solution.message,
    )


def _with_alternates(
    problem: AllocationProblem, unit_holder: np.ndarray, first_pairs: np.ndarray
) -> Decisions:
    alt_pairs, alt_ranks = choose_alternates(problem, first_pairs, unit_holder)
    pairs = np.concatenate([first_pairs, alt_pairs])
    ranks = np.concatenate([np.ones(len(first_pairs), dtype=np.int64), alt_ranks])
    return make_decisions(problem, unit_holder, pairs, ranks)


def _evaluate(result: StrategyResult) -> None:
    """Set the model objective of the result's decisions (building the model if needed)."""
    if result.decisions is None or result.problem is None:
        return
    started = time.perf_counter()
    if result.model is None or result.variables is None:
        result.model, result.variables = build_model(result.problem)
    try:
        result.objective = objective_of(
            result.problem, result.model, result.variables, result.decisions
        )
    except FluxoptError as exc:
        result.objective = None
        result.status = Status.INFEASIBLE
        result.message = f"{result.message}; {exc}"
    result.timings["evaluate"] = time.perf_counter() - started
