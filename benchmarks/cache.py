"""Benchmark instances: generated once per preset and seed, kept in ``benchmarks/.cache``.

The folder name carries the preset, the seed and the generator's version, so that a new
version of the generator's laws regenerates the instances. Tables are kept as Parquet (the
quickest to read back); the folder is git-ignored.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from benchmarks.registry import SEED
from fluxopt.generate import GENERATOR_VERSION, generate
from fluxopt.instance import Instance, load_instance

CACHE = Path(__file__).resolve().parent / ".cache"
CACHE_VARIABLE = "FLUXOPT_BENCH_CACHE"
"""Environment variable naming another cache folder (the smoke tests use a temporary one)."""


def cache_root() -> Path:
    """The cache folder: ``$FLUXOPT_BENCH_CACHE`` when set, else ``benchmarks/.cache``."""
    return Path(os.environ.get(CACHE_VARIABLE) or CACHE)


def instance_folder(preset: str, seed: int = SEED) -> Path:
    """The cache folder of a preset's instance."""
    return cache_root() / f"{preset}-seed{seed}-v{GENERATOR_VERSION}"


def ensure_cached(preset: str, seed: int = SEED) -> tuple[Path, float]:
    """Generate the preset's instance into the cache unless it is there.

    Returns the folder and the seconds spent generating (0 when it was cached).
    """
    folder = instance_folder(preset, seed)
    if (folder / "instance.yaml").exists():
        return folder, 0.0
    started = time.perf_counter()
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    generate(preset, seed).save(staging, "parquet")
    shutil.rmtree(folder, ignore_errors=True)
    staging.rename(folder)
    return folder, time.perf_counter() - started


def load(preset: str, seed: int = SEED, cached: bool = True) -> Instance:
    """The preset's instance: read from the cache, or generated in memory (``cached=False``)."""
    if not cached:
        return generate(preset, seed)
    folder, _ = ensure_cached(preset, seed)
    return load_instance(folder)
