"""Scoring benchmark: one vectorised pass of a 20-entry grid over 1,000,000 applicants.

The applicant table is built directly with numpy (no instance generator, no validation),
with the declared criteria columns and the derived ones the grid uses (``wait_months``,
``income_per_uc``), including missing values. The grid mixes every kind of entry: yes/no
criteria, two ``highest`` groups, a capped ``sum`` group, a capped ``highest`` group with a
bracket, a capped wait and a floored refusal penalty.

Run the full size (about 10 s including table construction)::

    .venv/bin/python -m pytest benchmarks/bench_scoring.py --benchmark-enable

or print the figures directly with ``.venv/bin/python benchmarks/bench_scoring.py``.

Recorded in ``extra_info``: rows, entries, rows per second (from the benchmark's mean),
and the peak memory of one ``score`` call measured with :mod:`tracemalloc` (peak of traced
allocations during the call, above what was allocated before it: numpy and pandas buffers
are traced) in a separate, untimed call.
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fluxopt.scoring import Grid, score

FULL_ROWS = 1_000_000
SMOKE_ROWS = 10_000

GRID: dict[str, Any] = {
    "name": "bench-20",
    "description": "Twenty entries of every kind, for the scoring benchmark.",
    "groups": {
        "housing": {"mode": "highest"},
        "family": {"mode": "sum", "cap": 6},
        "overcrowding": {"mode": "highest"},
        "resources": {"mode": "highest", "cap": 4},
    },
    "criteria": [
        {"name": "dalo", "expression": "dalo", "points": 30},
        {"name": "priority", "expression": "priority and not dalo", "points": 10},
        {"name": "homeless", "expression": "homeless", "points": 17, "group": "housing"},
        {"name": "violence", "expression": "domestic_violence", "points": 12, "group": "housing"},
        {"name": "eviction", "expression": "threatened_eviction", "points": 10, "group": "housing"},
        {"name": "indecent", "expression": "indecent_housing", "points": 8, "group": "housing"},
        {"name": "hosted", "expression": "hosted", "points": 6, "group": "housing"},
        {"name": "disability", "expression": "disability", "points": 4, "group": "family"},
        {"name": "single_parent", "expression": "single_parent", "points": 3, "group": "family"},
        {"name": "job", "expression": "job_mobility", "points": 1, "group": "family"},
        {
            "name": "crowded_severe",
            "expression": "household_size >= 4 and rooms_now >= 1 and rooms_now <= 2",
            "points": 4,
            "group": "overcrowding",
        },
        {
            "name": "crowded",
            "expression": "rooms_now >= 1 and household_size >= rooms_now + 2",
            "points": 2,
            "group": "overcrowding",
        },
        {
            "name": "underoccupied",
            "expression": "is_transfer and rooms_now >= household_size + 2",
            "points": 2,
        },
        {"name": "renewal", "expression": "renewal_relocation", "points": 15},
        {
            "name": "low_resources",
            "expression": "income_per_uc < 6000",
            "points": 3,
            "group": "resources",
        },
        {"name": "large_family", "expression": "children >= 3", "points": 2},
        {
            "name": "employee",
            "expression": "employer_action_logement and not is_transfer",
            "points": 1,
        },
    ],
    "brackets": [
        {
            "name": "rent_burden",
            "expression": "housing_cost_now * 12 / annual_income",
            "group": "resources",
            "bands": [
                {"min": 0.3, "max": 0.4, "points": 2},
                {"min": 0.4, "max": 0.5, "points": 4},
                {"min": 0.5, "points": 6},
            ],
        },
    ],
    "wait": {"name": "seniority", "points_per_month": 0.25, "cap": 10},
    "refusal": {"points_per_refusal": -2, "lowest": -4, "consequence": "2 points each, 4 at most"},
}


def bench_grid() -> Grid:
    """The 20-entry grid of the benchmark."""
    return Grid.model_validate(GRID)


def synthetic_applicants(rows: int, seed: int = 2026) -> pd.DataFrame:
    """An applicant table of ``rows`` rows built with numpy, with the columns the grid uses."""
    rng = np.random.default_rng(seed)
    size = rng.choice(np.arange(1, 9), rows, p=[0.40, 0.25, 0.15, 0.11, 0.055, 0.023, 0.008, 0.004])
    adults = np.minimum(size, rng.integers(1, 3, rows))
    children = size - adults
    income = np.round(rng.lognormal(9.6, 0.5, rows), 0)
    rooms_now = pd.array(rng.integers(0, 6, rows), dtype="Int64")
    rooms_now[rng.random(rows) < 0.05] = pd.NA
    cost = np.round(rng.uniform(150, 900, rows), 2)
    cost[rng.random(rows) < 0.05] = np.nan
    consumption_units = 1.0 + 0.5 * (adults - 1) + 0.3 * children

    def flags(share: float) -> np.ndarray:
        return rng.random(rows) < share

    dalo = flags(0.03)
    return pd.DataFrame(
        {
            "applicant_id": np.char.add("A", np.arange(rows).astype("U7")).astype(object),
            "household_size": size,
            "adults": adults,
            "children": children,
            "annual_income": income,
            "is_transfer": flags(0.35),
            "dalo": dalo,
            "priority": dalo | flags(0.2),
            "renewal_relocation": flags(0.01),
            "homeless": flags(0.07),
            "hosted": flags(0.3),
            "threatened_eviction": flags(0.04),
            "domestic_violence": flags(0.02),
            "disability": flags(0.08),
            "single_parent": flags(0.15),
            "indecent_housing": flags(0.05),
            "job_mobility": flags(0.1),
            "employer_action_logement": flags(0.3),
            "rooms_now": rooms_now,
            "housing_cost_now": cost,
            "refusals": rng.choice([0, 1, 2], rows, p=[0.92, 0.06, 0.02]),
            "wait_months": rng.exponential(14.0, rows),
            "income_per_uc": income / consumption_units,
        }
    )


def peak_memory(grid: Grid, table: pd.DataFrame) -> int:
    """Peak traced allocation (bytes) of one ``score`` call, above what existed before it."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        score(grid, table)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - before


def run(rows: int) -> dict[str, float]:
    """Score ``rows`` synthetic applicants once; return time, rate and peak memory."""
    grid, table = bench_grid(), synthetic_applicants(rows)
    started = time.perf_counter()
    result = score(grid, table)
    seconds = time.perf_counter() - started
    assert result.breakdown.shape == (rows, len(grid.entry_names))
    return {
        "rows": rows,
        "entries": len(grid.entry_names),
        "seconds": seconds,
        "rows_per_second": rows / seconds,
        "peak_memory_mb": peak_memory(grid, table) / 2**20,
    }


@pytest.fixture(scope="module")
def full_table() -> pd.DataFrame:
    return synthetic_applicants(FULL_ROWS)


def test_score_one_million_applicants(benchmark: Any, full_table: pd.DataFrame) -> None:
    grid = bench_grid()
    assert len(grid.entry_names) == 20
    result = benchmark.pedantic(score, args=(grid, full_table), rounds=3, iterations=1)
    assert len(result.total) == FULL_ROWS
    mean = benchmark.stats.stats.mean if benchmark.stats else float("nan")
    benchmark.extra_info.update(
        {
            "rows": FULL_ROWS,
            "entries": len(grid.entry_names),
            "rows_per_second": FULL_ROWS / mean,
            "peak_memory_mb_tracemalloc": peak_memory(grid, full_table) / 2**20,
            "memory_measure": "tracemalloc peak during one score() call, above the input",
        }
    )


if __name__ == "__main__":
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else FULL_ROWS
    for key, value in run(rows).items():
        print(f"{key}: {value:,.2f}")
