"""Sweep benchmark: 16 medium scenarios on a 2-worker local Dask cluster versus one by one.

The medium preset (300 vacated units, 10,000 applicants, 4 EPCIs) is generated into a
temporary folder; the 16 scenarios are the four conversion methods times four levels of the
first-quartile quota outside QPV (15 %, 20 %, 25 %, 30 %), each solved with a time limit of
30 s and one solver thread (the medium batch does not close its gap within it: every task
runs to the time limit; with 10 s, solves starved of CPU may end without any solution).
The same scenarios run twice, each time into an empty cache:

- *sequential*: one after another in this process (``scheduler="inline"``);
- *parallel*: on a local cluster of ``workers`` single-threaded worker processes, the time
  including the cluster's start and stop.

The speed-up is sequential time / parallel time (target ≥ 1.7 on two cores). Most of each
task is a time-limited solve, so the figure measures the throughput of a sweep; the mean
objective of both runs is reported to show that parallel solves were not starved of CPU
(equal objectives within noise). Nothing is asserted on time.

Run it on an otherwise idle machine (about 15 minutes on two cores)::

    .venv/bin/python -m pytest benchmarks/bench_sweep.py --benchmark-enable

or print the figures with ``.venv/bin/python benchmarks/bench_sweep.py``. The benchmark
runner calls :func:`run` and reads ``speedup``. The smoke run on ``tiny`` is
``tests/test_sweep_bench_smoke.py``.
"""

from __future__ import annotations

import itertools
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from fluxopt.flux import METHODS
from fluxopt.generate import generate_to
from fluxopt.scenarios.spec import Scenario
from fluxopt.scenarios.sweep import available_cores, run_sweep

PRESET = "medium"
SCENARIOS = 16
WORKERS = 2
TIME_LIMIT = 30.0
SEED = 1
TARGET = 1.7
LEVELS = (0.15, 0.20, 0.25, 0.30, 0.35)


def bench_scenarios(count: int = SCENARIOS, time_limit: float = TIME_LIMIT) -> list[Scenario]:
    """``count`` scenarios: conversion methods × first-quartile quota levels."""
    combinations = itertools.islice(itertools.product(LEVELS, METHODS), count)
    return [
        Scenario.model_validate(
            {
                "name": f"{method} q1={level:g}",
                "method": method,
                "quotas": {"lec-q1-outside-qpv": level},
                "time_limit": time_limit,
            }
        )
        for level, method in combinations
    ]


def run(
    preset: str = PRESET,
    scenarios: int = SCENARIOS,
    workers: int = WORKERS,
    time_limit: float = TIME_LIMIT,
    seed: int = SEED,
) -> dict[str, Any]:
    """Time the same sweep inline and on a local cluster; return the figures.

    Keys: ``preset``, ``scenarios``, ``workers``, ``cores``, ``time_limit``,
    ``sequential_s``, ``parallel_s``, ``speedup``, ``target``, ``task_seconds`` (sum of the
    tasks' own wall times, parallel run), ``failed`` (error rows over both runs),
    ``mean_objective_sequential``, ``mean_objective_parallel``, ``statuses`` (parallel run).
    """
    chosen = bench_scenarios(scenarios, time_limit)
    with tempfile.TemporaryDirectory(prefix="fluxopt-sweep-") as folder:
        root = Path(folder)
        base = root / preset
        generate_to(preset, seed, base)
        started = time.perf_counter()
        sequential = run_sweep(base, chosen, root / "sequential", scheduler="inline")
        sequential_s = time.perf_counter() - started
        started = time.perf_counter()
        parallel = run_sweep(base, chosen, root / "parallel", workers=workers)
        parallel_s = time.perf_counter() - started
    rows = parallel.rows
    return {
        "preset": preset,
        "scenarios": len(chosen),
        "workers": workers,
        "cores": available_cores(),
        "time_limit": time_limit,
        "sequential_s": round(sequential_s, 2),
        "parallel_s": round(parallel_s, 2),
        "speedup": round(sequential_s / parallel_s, 3),
        "target": TARGET,
        "task_seconds": round(float(rows["seconds"].sum()), 2),
        "failed": sequential.failed + parallel.failed,
        "mean_objective_sequential": _mean(sequential.rows, "objective"),
        "mean_objective_parallel": _mean(rows, "objective"),
        "statuses": rows["status"].value_counts().to_dict(),
    }


def _mean(rows: pd.DataFrame, column: str) -> float | None:
    if column not in rows:
        return None
    values = pd.to_numeric(rows[column], errors="coerce")
    return round(float(values.mean()), 3) if values.notna().any() else None


@pytest.mark.slow
def test_sweep_speedup(benchmark: Any) -> None:
    figures = benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    assert figures["failed"] == 0
    assert figures["scenarios"] == SCENARIOS


STORED = Path(__file__).with_name("sweep-results.json")
"""Figures of the last stand-alone run, which ``make bench`` reports (the sweep takes about
15 minutes, beyond the suite's budget)."""


if __name__ == "__main__":
    preset = sys.argv[1] if len(sys.argv) > 1 else PRESET
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    figures = {**run(preset), "measured_at": started, "preset": preset}
    STORED.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))
