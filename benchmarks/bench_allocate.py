"""fluxopt's pipeline phase by phase (pytest-benchmark driver of the ``fluxopt-highs`` specs).

One test per spec of the registry for the full presets: ``pairs`` (scoring, flux targets,
candidate graph), ``build`` (the model, on the problem), ``solve`` (HiGHS on the built
model) and ``end-to-end`` (the whole pipeline, alternates and decision tables included).
Each phase's spec times the phases before it too; the seconds of each phase are in
``extra_info``, with the status, objective, bound, gap and the peak RSS of the process.
Nothing is asserted on time. Run (a few minutes)::

    .venv/bin/python -m pytest benchmarks/bench_allocate.py --benchmark-enable

The smoke run of every spec on ``tiny`` is ``tests/test_bench_smoke.py``; ``make bench``
(``python -m benchmarks.run``) runs the end-to-end specs in fresh processes and writes
``benchmarks/RESULTS.md``.
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
    if s.strategy == "fluxopt-highs"
]


@pytest.fixture(scope="module")
def instances() -> dict[str, Instance]:
    return {}


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_fluxopt_phase(benchmark: Any, instances: dict[str, Instance], spec: registry.Spec) -> None:
    if spec.preset not in instances:
        instances[spec.preset] = cache.load(spec.preset)
    records: list[Record] = []

    def once() -> None:
        records.append(run_spec(spec, instance=instances[spec.preset]))

    benchmark.pedantic(once, rounds=1, iterations=1)
    record = records[-1]
    benchmark.extra_info.update({k: v for k, v in record.items() if k != "quota_groups"})
    assert record["status"] != "error", record.get("message")
