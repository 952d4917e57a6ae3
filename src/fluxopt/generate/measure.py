"""Time and memory of generating an instance and of validating it again from its files.

The driver of the generator's benchmark (``benchmarks/bench_generate.py``) and of its smoke
test: ``fluxopt generate --preset P --seed S OUT`` then ``fluxopt validate OUT``, through the
library functions the two commands call.

Memory is the peak resident set size (RSS) of the process during each phase, sampled by a
background thread through ``psutil`` every 20 ms (so the peak of a phase shorter than that
may be missed); it includes everything the process holds, not only the phase's own objects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

import psutil

from fluxopt.generate import generate, write
from fluxopt.instance import Instance, validate_path

T = TypeVar("T")
SAMPLE_SECONDS = 0.02


@dataclass(frozen=True)
class GenerateMeasure:
    """Figures of one generate-then-validate run."""

    preset: str
    seed: int
    units: int
    applicants: int
    history_events: int
    generate_seconds: float
    validate_seconds: float
    generate_peak_rss_mb: float
    validate_peak_rss_mb: float
    validation_errors: int
    validation_warnings: int

    @property
    def validate_over_generate(self) -> float:
        """Validation time as a fraction of generation time."""
        return self.validate_seconds / self.generate_seconds

    def as_dict(self) -> dict[str, float | int | str]:
        """The figures as a flat mapping (for ``benchmark.extra_info``)."""
        out: dict[str, float | int | str] = dict(asdict(self))
        out["validate_over_generate"] = self.validate_over_generate
        out["memory_probe"] = "psutil RSS sampled every 20 ms"
        return out


def _peak_rss(action: Callable[[], T]) -> tuple[T, float, float]:
    """Run ``action``; return its result, elapsed seconds and peak RSS in MB meanwhile."""
    process = psutil.Process()
    peak = [process.memory_info().rss]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            done.wait(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        result = action()
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    peak[0] = max(peak[0], process.memory_info().rss)
    return result, elapsed, peak[0] / 2**20


def _generate_write(preset: str, seed: int, folder: Path) -> Instance:
    instance = generate(preset, seed)
    write(instance, folder)
    return instance


def generate_and_validate(preset: str, seed: int, folder: Path) -> GenerateMeasure:
    """Generate ``preset`` with ``seed`` into ``folder``, then validate the folder again."""
    instance, generate_seconds, generate_peak = _peak_rss(
        lambda: _generate_write(preset, seed, folder)
    )
    log, validate_seconds, validate_peak = _peak_rss(lambda: validate_path(folder))
    return GenerateMeasure(
        preset=preset,
        seed=seed,
        units=len(instance.tables["units"]),
        applicants=len(instance.tables["applicants"]),
        history_events=len(instance.tables["history"]),
        generate_seconds=generate_seconds,
        validate_seconds=validate_seconds,
        generate_peak_rss_mb=generate_peak,
        validate_peak_rss_mb=validate_peak,
        validation_errors=len(log.errors),
        validation_warnings=len(log.warnings),
    )
