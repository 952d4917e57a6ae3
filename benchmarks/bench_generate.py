"""Generator benchmark: ``fluxopt generate --preset large --seed 1 OUT`` then ``validate OUT``.

Both steps run through the library functions the two commands call
(:func:`fluxopt.generate.measure.generate_and_validate`). Recorded in ``extra_info``: the
sizes, generation and validation times, the peak resident memory of each phase (``psutil``
RSS sampled every 20 ms by a background thread: the whole process, not only the phase's
objects) and the ratio validate/generate. Nothing is asserted on wall-clock time; the ratio
validate/generate must stay below 1 (validating a folder must cost less than generating it,
which includes an in-memory validation and the writing of every file).

Run it (about 15-20 s per round on two cores)::

    .venv/bin/python -m pytest benchmarks/bench_generate.py --benchmark-enable

or print the figures directly with ``.venv/bin/python benchmarks/bench_generate.py [preset]``.
The smoke run on ``tiny`` is ``tests/test_generate.py::test_benchmark_driver_smoke``.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from fluxopt.generate.measure import GenerateMeasure, generate_and_validate

PRESET = "large"
SEED = 1


def run(preset: str = PRESET, seed: int = SEED) -> GenerateMeasure:
    """Generate into a fresh temporary folder, validate it, and return the figures."""
    with tempfile.TemporaryDirectory(prefix=f"fluxopt-{preset}-") as folder:
        return generate_and_validate(preset, seed, Path(folder))


@pytest.mark.slow
def test_generate_then_validate_large(benchmark: Any) -> None:
    measures: list[GenerateMeasure] = []

    def once() -> None:
        measures.append(run())

    benchmark.pedantic(once, rounds=1, iterations=1)
    measure = measures[-1]
    benchmark.extra_info.update(measure.as_dict())
    assert measure.validation_errors == 0
    assert measure.units == 3000
    assert measure.applicants == 100_000
    assert measure.validate_over_generate < 1.0


if __name__ == "__main__":
    figures = run(sys.argv[1] if len(sys.argv) > 1 else PRESET)
    for key, value in figures.as_dict().items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        print(f"{key:>24}: {shown}")
