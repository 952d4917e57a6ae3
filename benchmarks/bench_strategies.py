"""Backends, baselines and floors side by side (pytest-benchmark driver).

One test per spec of the registry for the full presets, other than fluxopt-highs's phases
(``bench_allocate.py``): the pipeline with CP-SAT and with CBC (the backend alone on the
built model, and end to end), ``greedy`` and ``naive-pulp`` end to end, and the two
reference floors (LP relaxation, plain assignment by min-cost flow). ``extra_info`` holds the
record of :func:`benchmarks.measure.run_spec`: seconds per phase, status, objective, bound,
gap, units filled, quota groups met, peak RSS. Nothing is asserted on time. Run (about
half an hour: every MILP run goes to its time limit on the large preset)::

    .venv/bin/python -m pytest benchmarks/bench_strategies.py --benchmark-enable

``make bench`` runs the same end-to-end specs, each in a fresh process, and writes
``benchmarks/RESULTS.md`` with the ratios between them.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import cache, registry
from benchmarks.measure import Record, run_spec
from fluxopt.instance import Instance

SPECS = [
    s
    for preset in registry.FULL_PRESETS
    for s in registry.specs(preset)
    if s.strategy != "fluxopt-highs"
]


@pytest.fixture(scope="module")
def instances() -> dict[str, Instance]:
    return {}


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_strategy(benchmark: Any, instances: dict[str, Instance], spec: registry.Spec) -> None:
    if spec.preset not in instances:
        instances[spec.preset] = cache.load(spec.preset)
    records: list[Record] = []

    def once() -> None:
        records.append(run_spec(spec, instance=instances[spec.preset]))

    benchmark.pedantic(once, rounds=1, iterations=1)
    record = records[-1]
    benchmark.extra_info.update(
        {k: v for k, v in record.items() if k != "quota_groups"},
        quota_groups_met=sum(g["met"] for g in record.get("quota_groups", [])),
    )
    assert record["status"] != "error", record.get("message")
    assert record.get("violations", 0) == 0
