"""Smoke run of the scoring benchmark (10,000 rows), checked against a row-by-row reference.

The reference scores sampled applicants one at a time in plain Python, straight from the
grid's rules: an entry whose columns are missing scores 0; a bracket gives the points of the
band holding the value; a ``highest`` group counts its largest member, a ``sum`` group the
sum of its members, either capped; the wait counts completed months up to its cap; the
refusal penalty stops at its lowest value.
"""

from __future__ import annotations

import ast
import importlib.util
import math
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from fluxopt.scoring import Grid, score

BENCH_FILE = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_scoring.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_scoring", BENCH_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "<NA>"


def evaluate(expression: str, row: dict[str, Any]) -> Any:
    names = {n.id for n in ast.walk(ast.parse(expression, mode="eval")) if isinstance(n, ast.Name)}
    if any(is_missing(row[name]) for name in names):
        return None
    return eval(expression, {"__builtins__": {}}, {name: row[name] for name in names})


def reference_score(grid: Grid, row: dict[str, Any]) -> float:
    points: dict[str, float] = {}
    for item in grid.active_criteria:
        points[item.name] = item.points if evaluate(item.expression, row) else 0.0
    for bracket in grid.active_brackets:
        value = evaluate(bracket.expression, row)
        points[bracket.name] = 0.0
        if value is not None and not math.isnan(value):
            for band in bracket.bands:
                if band.low <= value < band.high or (band.max is None and value >= band.low):
                    points[bracket.name] = band.points
    total = 0.0
    grouped: dict[str, list[float]] = {}
    for item in (*grid.active_criteria, *grid.active_brackets):
        if item.group is None:
            total += points[item.name]
        else:
            grouped.setdefault(item.group, []).append(points[item.name])
    for group, values in grouped.items():
        spec = grid.groups[group]
        combined = max(values) if spec.mode == "highest" else sum(values)
        total += combined if spec.cap is None else min(combined, spec.cap)
    assert grid.wait is not None
    assert grid.wait.cap is not None
    months = math.floor(max(0.0, row["wait_months"]))
    total += min(grid.wait.cap, grid.wait.points_per_month * months)
    assert grid.refusal is not None
    assert grid.refusal.lowest is not None
    total += max(grid.refusal.lowest, grid.refusal.points_per_refusal * row["refusals"])
    return total


def test_benchmark_smoke_run(bench: ModuleType) -> None:
    figures = bench.run(bench.SMOKE_ROWS)
    assert figures["rows"] == 10_000
    assert figures["entries"] == 20
    assert figures["rows_per_second"] > 0
    assert figures["peak_memory_mb"] > 0


def test_vectorised_scores_match_a_row_by_row_reference(bench: ModuleType) -> None:
    grid = bench.bench_grid()
    table = bench.synthetic_applicants(bench.SMOKE_ROWS, seed=7)
    result = score(grid, table)
    sample = table.sample(400, random_state=11)
    for record in sample.to_dict("records"):
        expected = reference_score(grid, record)
        got = result.total[record["applicant_id"]]
        assert got == pytest.approx(expected), record
    missing_cost = table["housing_cost_now"].isna().to_numpy()
    assert result.missing["rent_burden"].to_numpy()[missing_cost].all()
