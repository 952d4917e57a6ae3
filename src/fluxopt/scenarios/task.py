"""One scenario, run where it is scheduled: load the base, apply, solve, verify, summarise.

:func:`run_scenario` is the task a sweep ships to a worker. It receives the base instance's
*path* (never its tables: each worker reads the files itself, and keeps the last instances
it read in memory for the next tasks) and the scenario as plain data, and returns one plain
row (a ``dict`` of numbers and strings), never raising: a scenario that fails returns a row
with ``status = "error"`` and the message, so that the other scenarios carry on.

Row columns (one row per scenario):

- ``scenario``, ``kind`` (``batch`` or ``simulation``), ``status``, ``error``, ``changes``
  (the overrides, ``path=value; ...``) and one ``param:<path>`` column per override;
- ``objective``, ``bound``, ``gap`` (of the batch; for a simulation: sum of the monthly
  objectives and the largest monthly gap), ``seconds`` (wall time of the task), ``units``,
  ``units_filled`` (units with a first-ranked applicant or let through a direct holder; for
  a simulation: units let), ``priority_housed`` (first-ranked or housed applicants that are
  priority or DALO households), ``mean_wait_housed`` (their mean wait in months),
  ``violations`` (hard rules broken), ``quota_groups_unmet``;
- ``flux_target:<holder>`` (cumulative target, summed over the holder's conventions),
  ``flux_oriented:<holder>`` (units oriented), ``flux_gap:<holder>`` (oriented minus target)
  and ``flux_attainment:<holder>`` (oriented / target);
- ``quota:<rule>:<group>``: the attainment ratio of each quota rule counted per EPCI or per
  holder, in each group; rules counted per residence or overall give
  ``quota:<rule>:met``, the share of their groups that meet the level.
"""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fluxopt.allocate import SolveSettings, allocate
from fluxopt.constraints.ruleset import ConstraintSet
from fluxopt.instance import Instance, load_instance
from fluxopt.scenarios.apply import apply_scenario
from fluxopt.scenarios.spec import Scenario
from fluxopt.schema.problems import FluxoptError, InvalidInputError
from fluxopt.verify import VerificationReport, verify

PROBLEMS_IN_MESSAGE = 5


def run_scenario(base: str, scenario_data: dict[str, Any], digest: str = "") -> dict[str, Any]:
    """Run one scenario on the base instance at ``base``; return its row (never raises).

    ``digest`` identifies the base's files (see :func:`fluxopt.scenarios.sweep.base_digest`)
    so that a worker reloads the instance when the files changed between two sweeps.
    """
    started = time.perf_counter()
    name = str(scenario_data.get("name", ""))
    head: dict[str, Any] = {"scenario": name, "kind": "batch", "status": "error", "error": ""}
    try:
        scenario = Scenario.model_validate(scenario_data)
        head.update(kind=scenario.kind, **describe(scenario))
        instance = cached_instance(str(Path(base).resolve()), digest)
        row = (
            simulation_row(instance, scenario)
            if scenario.simulate
            else batch_row(instance, scenario)
        )
        head.update(row)
    except Exception as exc:  # a failing scenario is a row of the comparison
        head.update(status="error", error=error_message(exc))
    head["seconds"] = time.perf_counter() - started
    head["worker_pid"] = os.getpid()
    return head


def describe(scenario: Scenario) -> dict[str, Any]:
    """The scenario's overrides: ``changes`` as text and one ``param:<path>`` column each."""
    changes = scenario.changes()
    out: dict[str, Any] = {"changes": "; ".join(f"{k}={v}" for k, v in changes.items())}
    for path, value in changes.items():
        out[f"param:{path}"] = value if isinstance(value, int | float | str | bool) else str(value)
    return out


def error_message(exc: BaseException) -> str:
    """A short message for a failed scenario: known errors as they read, others typed."""
    if isinstance(exc, InvalidInputError):
        shown = "; ".join(str(p) for p in exc.errors[:PROBLEMS_IN_MESSAGE])
        more = len(exc.errors) - PROBLEMS_IN_MESSAGE
        return f"{exc.what} is invalid: {shown}" + (f" (and {more} more)" if more > 0 else "")
    if isinstance(exc, FluxoptError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@functools.lru_cache(maxsize=2)
def cached_instance(path: str, digest: str) -> Instance:
    """The instance at ``path``, read once per worker process and file digest."""
    return load_instance(path)


def settings_of(scenario: Scenario) -> SolveSettings:
    """Solve settings of a scenario: one solver thread per task."""
    return SolveSettings(
        solver=scenario.solver,
        time_limit=scenario.time_limit,
        mip_gap=scenario.mip_gap,
        threads=1,
    )


def batch_row(instance: Instance, scenario: Scenario) -> dict[str, Any]:
    """Solve and verify one batch of the scenario; its figures as a row."""
    applied = apply_scenario(instance, scenario)
    allocation = allocate(
        applied.instance,
        applied.rules,
        month=scenario.month,
        scores=applied.scores,
        settings=settings_of(scenario),
    )
    decisions = allocation.decisions
    report = verify(
        applied.instance,
        applied.measure_rules,
        decisions.orientation,
        decisions.shortlist,
        month=scenario.month,
    )
    orientation, first = decisions.orientation, decisions.first_ranked
    filled = set(first["unit_id"]) | set(
        orientation.loc[orientation["holder_mode"] == "direct", "unit_id"]
    )
    housed_priority = first["priority"].astype(bool) | first["dalo"].astype(bool)
    return {
        "status": str(allocation.status),
        "objective": allocation.objective,
        "bound": allocation.bound,
        "gap": allocation.gap,
        "units": len(orientation),
        "units_filled": len(filled),
        "priority_housed": int(housed_priority.sum()),
        "mean_wait_housed": _mean(first["wait_months"]),
        **report_columns(report, applied.measure_rules),
    }


def simulation_row(instance: Instance, scenario: Scenario) -> dict[str, Any]:
    """Simulate the scenario's year; its annual figures as a row."""
    from fluxopt.scenarios.simulate import simulate

    assert scenario.simulate is not None
    # scores change with the wait every month: the simulation scores each month itself
    applied = apply_scenario(instance, scenario.model_copy(update={"grid": ""}))
    result = simulate(
        applied.instance,
        applied.rules,
        scenario.simulate,
        settings_of(scenario),
        measure_rules=applied.measure_rules,
        grid=scenario.grid,
    )
    months = result.months
    housed = result.housed
    priority = housed["priority"].astype(bool) | housed["dalo"].astype(bool)
    statuses = sorted(set(months["status"].astype(str)) - {"no units"})
    gaps = pd.to_numeric(months["gap"], errors="coerce")
    filled = int(months["attributed"].fillna(0).sum() + months["let_outside"].fillna(0).sum())
    return {
        "status": statuses[0] if len(statuses) == 1 else "+".join(statuses),
        "objective": result.objective,
        "bound": None,
        "gap": float(gaps.max()) if gaps.notna().any() else None,
        "units": filled + result.units_left,
        "units_filled": filled,
        "units_left": result.units_left,
        "priority_housed": int(priority.sum()),
        "mean_wait_housed": _mean(housed["wait_months"]) if len(housed) else None,
        "months": len(months),
        "monthly_violations": int(months["violations"].fillna(0).sum()),
        **report_columns(result.report, applied.measure_rules),
    }


def report_columns(report: VerificationReport, rules: ConstraintSet) -> dict[str, Any]:
    """Violations, quota attainment per group and flux position per holder, as columns."""
    per = {q.name: q.per for q in rules.families.quotas}
    out: dict[str, Any] = {"violations": len(report.violations)}
    quotas = report.quotas
    out["quota_groups_unmet"] = int((~quotas["met"].astype(bool)).sum()) if len(quotas) else 0
    for rule, rows in quotas.groupby("rule", sort=False) if len(quotas) else ():
        if per.get(str(rule)) in ("epci", "holder"):
            for group, ratio in zip(rows["group"], rows["ratio"], strict=True):
                out[f"quota:{rule}:{group}"] = _num(ratio)
        else:
            out[f"quota:{rule}:met"] = float(rows["met"].astype(bool).mean())
    flux = report.flux
    if len(flux):
        per_holder = flux.groupby("holder_id", sort=False)[["target_cumulative", "oriented"]].sum()
        for holder, values in per_holder.iterrows():
            target, oriented = float(values["target_cumulative"]), float(values["oriented"])
            out[f"flux_target:{holder}"] = target
            out[f"flux_oriented:{holder}"] = oriented
            out[f"flux_gap:{holder}"] = oriented - target
            out[f"flux_attainment:{holder}"] = oriented / target if target > 0 else None
    return out


def _mean(values: pd.Series) -> float | None:
    numbers = pd.to_numeric(values, errors="coerce")
    return float(numbers.mean()) if numbers.notna().any() else None


def _num(value: Any) -> float | None:
    number = float(value)
    return None if np.isnan(number) else number
