"""Subcommand ``generate``: write a synthetic instance folder from a preset and a seed."""

from __future__ import annotations

import time
from pathlib import Path

import click
from rich.console import Console

from fluxopt.cli.options import OUTPUT_FOLDER
from fluxopt.generate import PRESETS, generate, write
from fluxopt.schema.problems import FluxoptError

console = Console(highlight=False)


@click.command("generate")
@click.option(
    "--preset",
    type=click.Choice(list(PRESETS)),
    default="demo",
    show_default=True,
    help="Size and territory of the instance (tiny, demo, medium, large, xl).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed.")
@click.option("--force", is_flag=True, help="Write into OUT even when it already holds files.")
@click.argument("out", type=OUTPUT_FOLDER)
def generate_cmd(preset: str, seed: int, force: bool, out: Path) -> None:
    """Generate a synthetic instance into the folder OUT.

    The same preset and seed always give byte-identical files. The figures each table is
    calibrated on (typology mix, QPV share, rents, household sizes, incomes, waits,
    holders' shares) are documented in the ``fluxopt.generate`` modules.
    """
    if out.exists() and any(out.iterdir()) and not force:
        raise FluxoptError(f"{out} is not empty; give --force to overwrite its tables")
    started = time.perf_counter()
    with console.status(f"generating preset {preset} (seed {seed})"):
        instance = generate(preset, seed)
        write(instance, out)
    elapsed = time.perf_counter() - started
    console.print(
        f"{out}: {len(instance.tables['units'])} units, "
        f"{len(instance.tables['applicants'])} applicants, "
        f"{len(instance.tables['residences'])} residences, "
        f"{len(instance.tables['holders'])} holders, "
        f"{len(instance.tables['history'])} history events ({elapsed:.1f} s)"
    )


def register(group: click.Group) -> None:
    """Add this module's subcommands to the root group."""
    group.add_command(generate_cmd)
