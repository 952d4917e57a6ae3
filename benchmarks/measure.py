"""Run one spec and measure it: seconds per phase, solution quality, peak memory.

:func:`run_spec` runs a spec in the current process and returns a flat, JSON-ready record.
Quality figures come from the decision tables through the independent verifier
(:func:`fluxopt.verify.verify`) and the model objective of the decisions
(:func:`fluxopt.evaluate.objective_of`), the same for every strategy.

Memory is the peak resident set size (RSS) sampled by :class:`PeakRss` every 20 ms with
``psutil`` over a process and its children (the solver processes PuLP starts for CBC), so a
peak shorter than that may be missed; it includes everything the process holds (the
instance, the libraries), not only the phase's own objects. The runner samples a fresh worker
process per spec; the pytest-benchmark drivers sample their own process.
"""

from __future__ import annotations

import math
import threading
import time
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

import psutil

from benchmarks import cache
from benchmarks.floors import lp_relaxation, plain_assignment
from benchmarks.registry import MIP_GAP, THREADS, Spec, get
from fluxopt.allocate import SolveSettings
from fluxopt.baselines import StrategyResult, run_strategy
from fluxopt.constraints.ruleset import ConstraintSet, load_constraint_set
from fluxopt.instance import Instance
from fluxopt.model.build import build_model
from fluxopt.problem import build_problem
from fluxopt.solvers.base import get_solver
from fluxopt.verify import verify

SAMPLE_SECONDS = 0.02
Record = dict[str, Any]


class PeakRss:
    """Peak RSS (MB) of a process and its children while the block runs."""

    def __init__(self, pid: int | None = None, every: float = SAMPLE_SECONDS) -> None:
        self.process = psutil.Process(pid)
        self.every = every
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def sample(self) -> None:
        """Take one sample now."""
        self.peak_mb = max(self.peak_mb, tree_rss_mb(self.process))

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.every)

    def __enter__(self) -> PeakRss:
        self.sample()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def tree_rss_mb(process: psutil.Process) -> float:
    """RSS of a process and its descendants, in MB (0 once it has ended)."""
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0.0
    for member in members:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total / 2**20


def settings_for(spec: Spec) -> SolveSettings:
    """The solve settings of a spec: its backend, time limit, gap and one thread."""
    return SolveSettings(
        solver=spec.solver, time_limit=spec.time_limit, mip_gap=MIP_GAP, threads=THREADS
    )


def run_spec(spec: Spec, instance: Instance | None = None, cached: bool = True) -> Record:
    """Run one spec in this process and return its record."""
    instance = instance if instance is not None else cache.load(spec.preset, cached=cached)
    rules = load_constraint_set(spec.rules)
    record: Record = {
        "spec": spec.name,
        "preset": spec.preset,
        "rules": spec.rules,
        "strategy": spec.strategy,
        "solver": spec.solver,
        "phase": spec.phase,
        "time_limit": spec.time_limit,
    }
    with PeakRss() as memory:
        if spec.strategy in ("lp-relaxation", "min-cost-flow"):
            record.update(_floor(spec, instance, rules))
        elif spec.phase == "end-to-end":
            record.update(_end_to_end(spec, instance, rules))
        else:
            record.update(_phase(spec, instance, rules))
    record["peak_rss_mb"] = round(memory.peak_mb, 1)
    return record


def _end_to_end(spec: Spec, instance: Instance, rules: ConstraintSet) -> Record:
    name = spec.strategy.split("-")[0] if spec.strategy.startswith("fluxopt") else spec.strategy
    result = run_strategy(name, instance, rules, settings=settings_for(spec))
    return {**describe(result), **quality(result, instance, rules)}


def describe(result: StrategyResult) -> Record:
    """Status, objective, bound, gap, seconds and sizes of a strategy's result."""
    out: Record = {
        "status": str(result.status),
        "message": result.message[:300],
        "objective": _number(result.objective),
        "own_objective": _number(result.own_objective),
        "bound": _number(result.bound),
        "gap": _number(result.gap),
        "seconds": {k: round(v, 4) for k, v in result.timings.items()},
    }
    if result.problem is not None:
        out.update(
            units=result.problem.num_units,
            eligible_pairs=int(result.problem.graph.eligible_pairs),
            candidate_pairs=len(result.problem.graph),
        )
    if result.model is not None:
        out.update(
            columns=result.model.num_cols,
            rows=result.model.num_rows,
            nonzeros=result.model.num_nonzeros,
        )
    return out


def quality(result: StrategyResult, instance: Instance, rules: ConstraintSet) -> Record:
    """Verifier figures of a result's decisions: violations, fill, quota groups met, flux."""
    if result.decisions is None:
        return {"verified": False}
    report = verify(instance, rules, result.decisions.orientation, result.decisions.shortlist)
    quotas = report.quotas
    groups = []
    if not quotas.empty:
        groups = [
            {
                "rule": str(row["rule"]),
                "group": str(row["group"]),
                "met": bool(row["met"]),
                "ratio": _number(row["ratio"]),
                "level": _number(row["level"]),
                "numerator": _number(row["numerator"]),
                "denominator": _number(row["denominator"]),
            }
            for row in quotas.to_dict("records")
        ]
    flux = report.flux
    return {
        "verified": True,
        "violations": len(report.violations),
        "shortfalls": len(report.shortfalls),
        "units_filled": result.units_filled,
        "quota_groups": groups,
        "flux_within": int(flux["within"].sum()) if not flux.empty else 0,
        "flux_conventions": len(flux),
    }


def _phase(spec: Spec, instance: Instance, rules: ConstraintSet) -> Record:
    started = time.perf_counter()
    problem = build_problem(instance, rules)
    seconds = {"pairs": time.perf_counter() - started}
    if spec.phase in ("build", "solve"):
        started = time.perf_counter()
        model, _ = build_model(problem)
        seconds["build"] = time.perf_counter() - started
    out: Record = {"status": "done", "units": problem.num_units}
    if spec.phase == "solve":
        started = time.perf_counter()
        solved = get_solver(spec.solver).solve(model, settings_for(spec).options())
        seconds["solve"] = time.perf_counter() - started
        out.update(
            status=str(solved.status),
            own_objective=_number(solved.objective),
            bound=_number(solved.bound),
            gap=_number(solved.gap),
        )
    out["seconds"] = {k: round(v, 4) for k, v in seconds.items()}
    return out


def _floor(spec: Spec, instance: Instance, rules: ConstraintSet) -> Record:
    started = time.perf_counter()
    problem = build_problem(instance, rules)
    seconds = {"pairs": time.perf_counter() - started}
    if spec.strategy == "lp-relaxation":
        started = time.perf_counter()
        model, _ = build_model(problem)
        seconds["build"] = time.perf_counter() - started
        floor = lp_relaxation(model, spec.time_limit, THREADS)
    else:
        floor = plain_assignment(problem)
    seconds["solve"] = floor.seconds
    return {
        "status": floor.status,
        "objective": _number(floor.objective),
        "message": floor.detail,
        "units": problem.num_units,
        "seconds": {k: round(v, 4) for k, v in seconds.items()},
    }


def _number(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def worker(spec_name: str, connection: Connection) -> None:
    """Entry point of a runner's worker process: run one spec, send back its record."""
    try:
        record = run_spec(get(spec_name))
    except Exception as exc:  # the runner reports any failure as the spec's status
        spec = get(spec_name)
        record = {
            "spec": spec.name,
            "preset": spec.preset,
            "rules": spec.rules,
            "strategy": spec.strategy,
            "solver": spec.solver,
            "phase": spec.phase,
            "time_limit": spec.time_limit,
            "status": "error",
            "message": f"{type(exc).__name__}: {exc}"[:300],
            "seconds": {},
        }
    connection.send(record)
    connection.close()
