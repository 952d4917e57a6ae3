"""One batch from instance to decisions: the allocation pipeline, phase by phase.

``allocate`` scores the applicants, builds the candidate graph and the flux targets
(:func:`fluxopt.problem.build_problem`), builds the model once (:func:`build_model`),
solves it with the chosen backend, reads the first stage back (each unit's holder and
first-ranked applicant), fills ranks 2..k (:mod:`fluxopt.alternates`) and labels the result
(:mod:`fluxopt.decisions`). Each phase is timed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.alternates import choose_alternates
from fluxopt.bound import BackgroundBound
from fluxopt.constraints.ruleset import ConstraintSet
from fluxopt.decisions import Decisions, make_decisions
from fluxopt.decompose import solve_by_epci
from fluxopt.evaluate import complete
from fluxopt.instance import Instance
from fluxopt.model.blocks import LinearModel
from fluxopt.model.build import build_model
from fluxopt.model.variables import Variables
from fluxopt.problem import AllocationProblem, build_problem
from fluxopt.schema.problems import FluxoptError
from fluxopt.solvers.base import SolveOptions, SolveResult, Status
from fluxopt.strategy import solve_batch
from fluxopt.ytd import YearToDate

Progress = Callable[[str], None]
DECOMPOSE_ABOVE_UNITS = 600
"""Above this many units (over several EPCIs), ``auto`` solves the batch EPCI by EPCI."""


@dataclass(frozen=True)
class SolveSettings:
    """How to solve: backend and its limits."""

    solver: str = "highs"
    time_limit: float = 60.0
    mip_gap: float = 1e-3
    threads: int = 1
    seed: int = 0
    verbose: bool = False
    strategy: Literal["auto", "joint", "by-epci"] = "auto"
    """``joint``: one model for the batch; ``by-epci``: EPCI by EPCI (large batches);
    ``auto``: by EPCI above ``DECOMPOSE_ABOVE_UNITS`` units spread over several EPCIs."""

    def __post_init__(self) -> None:
        if not math.isfinite(self.time_limit) or self.time_limit <= 0:
            raise FluxoptError(
                f"the time limit must be a finite number of seconds > 0, not {self.time_limit}"
            )

    def options(self) -> SolveOptions:
        """The backend-neutral options."""
        return SolveOptions(
            time_limit=self.time_limit,
            mip_gap=self.mip_gap,
            threads=self.threads,
            seed=self.seed,
            verbose=self.verbose,
        )


@dataclass
class Allocation:
    """The outcome of one batch."""

    status: Status
    decisions: Decisions
    objective: float | None
    bound: float | None
    gap: float | None
    problem: AllocationProblem
    model: LinearModel
    variables: Variables
    result: SolveResult
    timings: dict[str, float] = field(default_factory=dict)
    settings: SolveSettings = field(default_factory=SolveSettings)

    @property
    def x(self) -> npt.NDArray[np.float64]:
        """The first-stage solution vector."""
        if self.result.x is None:
            raise FluxoptError(f"the solve has no solution ({self.status})")
        return self.result.x

    def summary(self) -> dict[str, Any]:
        """Headline figures of the batch."""
        shortlist = self.decisions.shortlist
        first = shortlist[shortlist["rank"] == 1]
        return {
            "status": str(self.status),
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "units": self.problem.num_units,
            "units_with_first": int(first["unit_id"].nunique()),
            "shortlist_rows": len(shortlist),
            "timings": dict(self.timings),
            "model": self.model.stats() if self.model is not None else {},
            **self.problem.stats,
        }


def allocate(
    instance: Instance,
    rules: ConstraintSet,
    *,
    month: str | None = None,
    unit_ids: list[str] | None = None,
    scores: pd.Series | None = None,
    ytd: YearToDate | None = None,
    locks: pd.DataFrame | None = None,
    settings: SolveSettings | None = None,
    progress: Progress | None = None,
) -> Allocation:
    """Run one batch: problem, model, solve, alternates, decisions (see module docstring)."""
    settings = settings or SolveSettings()
    say = progress or (lambda _phase: None)
    say("pairs")
    problem = build_problem(
        instance, rules, month=month, unit_ids=unit_ids, scores=scores, ytd=ytd, locks=locks
    )
    timings = dict(problem.timings)
    say("build")
    started = time.perf_counter()
    model, variables = build_model(problem)
    timings["build"] = time.perf_counter() - started
    say("solve")
    started = time.perf_counter()
    unit_holder: npt.NDArray[np.int64] | None
    first_pairs: npt.NDArray[np.int64] | None
    if use_decomposition(problem, settings):
        result, unit_holder, first_pairs = _solve_decomposed(problem, model, variables, settings)
    else:
        result = solve_batch(problem, model, variables, settings.options(), settings.solver)
        unit_holder = first_pairs = None
    timings["solve"] = time.perf_counter() - started
    if not result.status.has_solution or result.x is None:
        from fluxopt.diagnose import explain_failure

        raise explain_failure(problem, model, result, settings)
    say("extract")
    started = time.perf_counter()
    if unit_holder is None or first_pairs is None:
        unit_holder, first_pairs = read_first_stage(problem, model, variables, result.x)
    alt_pairs, alt_ranks = choose_alternates(problem, first_pairs, unit_holder)
    pairs = np.concatenate([first_pairs, alt_pairs])
    ranks = np.concatenate([np.ones(len(first_pairs), dtype=np.int64), alt_ranks])
    decisions = make_decisions(problem, unit_holder, pairs, ranks)
    timings["extract"] = time.perf_counter() - started
    return Allocation(
        status=result.status,
        decisions=decisions,
        objective=result.objective,
        bound=result.bound,
        gap=result.gap,
        problem=problem,
        model=model,
        variables=variables,
        result=result,
        timings=timings,
        settings=settings,
    )


def use_decomposition(problem: AllocationProblem, settings: SolveSettings) -> bool:
    """Whether the batch is solved EPCI by EPCI."""
    if settings.strategy != "auto":
        return settings.strategy == "by-epci"
    return problem.num_units > DECOMPOSE_ABOVE_UNITS and problem.units["epci"].nunique() > 1


def _solve_decomposed(
    problem: AllocationProblem,
    model: LinearModel,
    variables: Variables,
    settings: SolveSettings,
) -> tuple[SolveResult, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Solve EPCI by EPCI while the whole LP bound is computed on the other core."""
    started = time.perf_counter()
    background = BackgroundBound(model, settings.time_limit)
    part = solve_by_epci(problem, settings.options(), settings.solver)
    first = np.zeros(variables.first.size)
    first[part.first_pairs] = 1.0
    orient = np.zeros(variables.orient.size)
    cov_unit = problem.coverage["unit"].to_numpy(dtype=np.int64)
    cov_holder = problem.coverage["holder"].to_numpy(dtype=np.int64)
    orient[part.unit_holder[cov_unit] == cov_holder] = 1.0
    full = complete(model, variables, first, orient)
    remaining = settings.time_limit - (time.perf_counter() - started)
    bound = background.result(wait=max(remaining, 0.0))
    status = part.status
    gap_ok = (
        bound is not None
        and full.objective is not None
        and abs(full.objective - bound) / max(abs(full.objective), 1.0) <= settings.mip_gap
    )
    if status is Status.OPTIMAL and not gap_ok:
        status = Status.FEASIBLE
    if full.objective is None:
        status = Status.ERROR
    result = SolveResult(
        status=status,
        x=full.x,
        objective=full.objective,
        bound=None if bound is None or full.objective is None else min(bound, full.objective),
        runtime=time.perf_counter() - started,
        solver=settings.solver,
        message=f"by EPCI ({len(part.parts)} parts)"
        + ("" if bound is not None else "; LP bound not reached within the time limit"),
        phases={f"epci {r['epci']}": float(r["seconds"]) for r in part.parts.to_dict("records")},
    )
    return result, part.unit_holder, part.first_pairs


def read_first_stage(
    problem: AllocationProblem,
    model: LinearModel,
    variables: Variables,
    x: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each unit's holder position (-1 if none) and the graph positions of first ranks."""
    orient = model.values(x, "orient") > 0.5
    unit_holder = np.full(problem.num_units, -1, dtype=np.int64)
    rows = np.flatnonzero(orient)
    unit_holder[problem.coverage["unit"].to_numpy(dtype=np.int64)[rows]] = problem.coverage[
        "holder"
    ].to_numpy(dtype=np.int64)[rows]
    first = np.flatnonzero(model.values(x, "first") > 0.5)
    return unit_holder, first
