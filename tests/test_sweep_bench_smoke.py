"""Smoke run of the sweep benchmark's driver on the tiny preset (both runs complete)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

BENCH_FILE = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_sweep.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_sweep", BENCH_FILE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_benchmark_scenarios_cross_methods_and_levels(bench: ModuleType) -> None:
    scenarios = bench.bench_scenarios()
    assert len(scenarios) == 16
    assert len({s.name for s in scenarios}) == 16
    assert {s.method for s in scenarios} == {
        "stock_share",
        "turnover_weighted",
        "unique_rights",
        "negotiated",
    }
    assert {s.quotas["lec-q1-outside-qpv"].level for s in scenarios} == {0.15, 0.2, 0.25, 0.3}


@pytest.mark.dask
def test_benchmark_smoke_run(bench: ModuleType) -> None:
    figures = bench.run(preset="tiny", scenarios=4, workers=2, time_limit=5)
    assert figures["scenarios"] == 4
    assert figures["failed"] == 0
    assert figures["statuses"] == {"optimal": 4}
    assert figures["speedup"] > 0
    assert figures["mean_objective_parallel"] == pytest.approx(figures["mean_objective_sequential"])
