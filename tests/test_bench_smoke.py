"""Smoke run of every benchmark spec on the tiny preset (no time asserted), and of the runner.

Each spec of the registry runs once on ``tiny`` in this process; the runner's worker runs
one spec in a fresh process, and stops one that overstays its timeout; the report renders
every row RESULTS.md must have from the tiny records.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import cache, registry  # noqa: E402
from benchmarks.measure import run_spec, worker  # noqa: E402
from benchmarks.report import attainable_groups, missed_groups, render  # noqa: E402
from benchmarks.run import run_in_worker, run_spec_isolated  # noqa: E402

from fluxopt.instance import Instance  # noqa: E402

TINY = registry.specs(registry.SMOKE_PRESET)


@pytest.fixture(scope="module")
def tiny() -> Instance:
    return cache.load(registry.SMOKE_PRESET, cached=False)


@pytest.fixture(scope="module")
def records(tiny: Instance) -> dict[str, dict[str, Any]]:
    return {spec.name: run_spec(spec, instance=tiny) for spec in TINY}


def test_registry_names_every_strategy_and_phase() -> None:
    names = [s.name for s in registry.all_specs()]
    assert len(names) == len(set(names))
    for preset in registry.PRESETS:
        strategies = {s.strategy for s in registry.report_specs(preset)}
        assert strategies == set(registry.STRATEGIES)
    assert {s.phase for s in registry.specs("medium")} == set(registry.PHASES)
    assert registry.get("large/lec-default/naive-pulp/end-to-end").solver == "cbc"


@pytest.mark.parametrize("spec", TINY, ids=[s.name for s in TINY])
def test_spec_runs_on_tiny(records: dict[str, dict[str, Any]], spec: registry.Spec) -> None:
    record = records[spec.name]
    assert record["status"] not in ("error", "time_limit"), record.get("message")
    assert record["peak_rss_mb"] > 0
    assert record["seconds"]
    if spec.phase == "end-to-end":
        assert record["verified"]
        assert record["violations"] == 0
        assert record["objective"] is not None
        assert record["units_filled"] <= record["units"]


def test_solvers_agree_on_tiny(records: dict[str, dict[str, Any]]) -> None:
    end_to_end = [r for r in records.values() if r["phase"] == "end-to-end"]
    optimum = records["tiny/lec-default/fluxopt-highs/end-to-end"]["objective"]
    lp = records["tiny/lec-default/lp-relaxation/solve"]["objective"]
    assert lp <= optimum + 1e-6
    for record in end_to_end:
        if record["strategy"] == "greedy":
            assert record["objective"] >= optimum - 1e-6
        else:
            assert record["objective"] == pytest.approx(optimum, rel=2e-3), record["strategy"]


def test_report_has_every_row(records: dict[str, dict[str, Any]]) -> None:
    chosen = [
        r
        for r in records.values()
        if r["phase"] == "end-to-end" or r["strategy"] in registry.FLOORS
    ]
    others = {
        "generate": {"status": "error", "message": "not measured in the smoke run"},
        "scoring": {"status": "done", "figures": {"rows": 10, "entries": 2, "seconds": 0.1}},
    }
    text = render({"machine": {"cores": 2}, "wall_seconds": 1.0}, chosen, others)
    for strategy in registry.STRATEGIES:
        assert f"| {strategy} |" in text
    for row in (
        "naive-pulp time / fluxopt time",
        "objective: fluxopt vs greedy",
        "units filled: fluxopt vs greedy",
        "attainable quota groups met: fluxopt vs greedy",
        "all attainable quota groups met",
        "## Shortfalls",
        "Generator: error: not measured in the smoke run",
        "Scoring (`benchmarks/bench_scoring.py`)",
    ):
        assert row in text
    runs = {r["strategy"]: r for r in chosen}
    attainable = attainable_groups(runs)
    assert not missed_groups(runs["fluxopt-highs"], attainable)


def test_runner_worker_and_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.CACHE_VARIABLE, str(tmp_path))
    spec = registry.get("tiny/lec-default/greedy/end-to-end")
    record = run_spec_isolated(spec)
    assert record["status"] == "feasible"
    assert record["violations"] == 0
    assert record["worker_peak_rss_mb"] > 0
    assert (tmp_path / cache.instance_folder("tiny").name / "instance.yaml").exists()
    stopped, wall, _ = run_in_worker(worker, ("tiny/lec-default/min-cost-flow/solve",), 0.05)
    assert stopped is None
    assert wall < 30
