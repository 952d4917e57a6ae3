"""Subcommands about instances: ``validate``, ``summary`` and ``generate``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from fluxopt.instance import load_instance, validate_path

console = Console(highlight=False)


@click.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def validate_cmd(path: Path, as_json: bool) -> None:
    """Check an instance folder and list every problem at once.

    Each problem names its table, row (1 = first line after the header), column, and a
    hint. Exits with status 2 when there is any error; warnings alone exit 0.
    """
    log = validate_path(path)
    if as_json:
        records = [
            {
                "severity": p.severity,
                "table": p.table,
                "row": p.row,
                "key": p.key,
                "column": p.column,
                "message": p.message,
                "hint": p.hint,
            }
            for p in log
        ]
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    else:
        for problem in log.errors + log.warnings:
            colour = "red" if problem.severity == "error" else "yellow"
            console.print(
                f"[{colour}]{problem.severity}[/] {problem.location()}: {problem.message}"
                + (f"\n    [dim]hint: {problem.hint}[/]" if problem.hint else ""),
                soft_wrap=True,
            )
        verdict = "[bold red]invalid[/]" if log.errors else "[bold green]valid[/]"
        console.print(
            f"{path}: {verdict} ({len(log.errors)} error(s), {len(log.warnings)} warning(s))"
        )
    if log.errors:
        sys.exit(2)


@click.command("summary")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def summary_cmd(path: Path) -> None:
    """Validate an instance and print its headline figures."""
    instance = load_instance(path)
    table = Table(title=f"Instance {instance.name}", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in instance.summary().items():
        shown = f"{value:.1%}" if isinstance(value, float) else str(value)
        table.add_row(key.replace("_", " "), shown)
    console.print(table)


def register(group: click.Group) -> None:
    """Add this module's subcommands to the root group."""
    group.add_command(validate_cmd)
    group.add_command(summary_cmd)
