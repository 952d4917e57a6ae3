"""Synthetic instances calibrated on public magnitudes of French social housing.

``generate(preset, seed)`` builds a whole instance (territory, residences, vacated units,
holders and conventions, applicants, first-quartile thresholds, income ceilings, two years
of history) from a named preset (:mod:`~fluxopt.generate.presets`) and a seed, and validates
it like any loaded instance. The same preset and seed always give byte-identical files;
every part draws from its own random stream (:mod:`~fluxopt.generate.sampling`).

The figures each part is calibrated on, with their sources and assumptions, are in the
docstring of its module: :mod:`~fluxopt.generate.territory`, :mod:`~fluxopt.generate.units`,
:mod:`~fluxopt.generate.holders`, :mod:`~fluxopt.generate.households`,
:mod:`~fluxopt.generate.wishes`, :mod:`~fluxopt.generate.incomes`,
:mod:`~fluxopt.generate.ceilings` and :mod:`~fluxopt.generate.history`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from fluxopt.config import GeneratorInfo, InstanceConfig, Territory
from fluxopt.generate.applicants import make_applicants
from fluxopt.generate.ceilings import ceilings_table
from fluxopt.generate.history import make_history
from fluxopt.generate.holders import DEFENSE_ID, make_holders
from fluxopt.generate.presets import PRESETS, Preset, get_preset
from fluxopt.generate.territory import make_residences, make_territory, residence_table
from fluxopt.generate.units import make_units
from fluxopt.instance import Instance, instance_from_tables

GENERATOR_VERSION = "1"
"""Version of the generator's laws; bump it whenever the same seed gives other files."""

__all__ = ["GENERATOR_VERSION", "PRESETS", "Preset", "generate", "generate_to", "write"]


def instance_config(preset: Preset, seed: int) -> InstanceConfig:
    """The ``instance.yaml`` of a synthetic instance."""
    return InstanceConfig(
        name=preset.name,
        description=f"{preset.description} Synthetic data (preset {preset.name}, seed {seed}).",
        territory=Territory(department=preset.department, name=preset.department_name),
        landlord=preset.landlord,
        year=preset.year,
        months=preset.months,
        reference_date=dt.date.fromisoformat(f"{preset.months[0]}-01"),
        constraints="lec-default",
        grid="",
        generator=GeneratorInfo(preset=preset.name, seed=seed, version=GENERATOR_VERSION),
    )


def generate(preset: str | Preset, seed: int) -> Instance:
    """Generate the synthetic instance of a preset (by name or value) for a seed.

    The result is validated as a whole (:func:`fluxopt.instance.instance_from_tables`); a
    generator bug surfaces as an :class:`~fluxopt.schema.problems.InvalidInputError`.
    """
    spec = get_preset(preset) if isinstance(preset, str) else preset
    config = instance_config(spec, seed)
    territory = make_territory(spec, seed)
    residences = make_residences(spec, territory, seed)
    holders, conventions = make_holders(spec, territory, residences, seed)
    stock_holder = DEFENSE_ID if DEFENSE_ID in set(holders["holder_id"]) else None
    units = make_units(spec, residences, seed, stock_holder)
    ceilings = ceilings_table()
    applicants, thresholds = make_applicants(
        spec, territory, residences, ceilings, seed, config.wait_reference
    )
    history = make_history(spec, residences, holders, conventions, seed)
    tables = {
        "units": units,
        "residences": residence_table(residences),
        "holders": holders,
        "conventions": conventions,
        "applicants": applicants,
        "thresholds": thresholds,
        "ceilings": ceilings,
        "history": history,
    }
    return instance_from_tables(config, tables)


def write(instance: Instance, folder: Path) -> Path:
    """Write an instance as ``instance.yaml`` plus one CSV file per table."""
    return instance.save(folder, "csv")


def generate_to(preset: str | Preset, seed: int, folder: Path) -> Instance:
    """Generate an instance and write it to ``folder``."""
    instance = generate(preset, seed)
    write(instance, folder)
    return instance
