"""Subcommands about instances: ``validate``, ``summary`` and ``schema``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fluxopt.cli.exits import ExitCode
from fluxopt.cli.loading import load_reported
from fluxopt.instance import validate_path
from fluxopt.rules.reference import data_reference_markdown
from fluxopt.scenarios.apply import rule_file_problems
from fluxopt.scenarios.spec import Scenario
from fluxopt.schema.declaration import schema
from fluxopt.schema.problems import Problem

console = Console(highlight=False)


def _problem_line(problem: Problem) -> str:
    colour = "red" if problem.severity == "error" else "yellow"
    line = (
        f"[{colour}]{problem.severity}[/] {escape(problem.location())}: {escape(problem.message)}"
    )
    if problem.hint:
        line += f"\n    [dim]hint: {escape(problem.hint)}[/]"
    return line


@click.command("validate")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def validate_cmd(path: Path, as_json: bool) -> None:
    """Check an instance folder and list every problem at once.

    Each problem names its table, row (1 = first line after the header), column, and a
    hint; the constraint set named in instance.yaml is read too (each refused filter
    located by file and key). Exits with status 2 when there is any error; warnings alone
    exit 0.
    """
    log = validate_path(path)
    if path.is_dir():
        log.extend(rule_file_problems(path, [Scenario(name="instance", grid="")]))
    if as_json:
        click.echo(json.dumps([p.as_record() for p in log], ensure_ascii=False, indent=2))
    else:
        for problem in log.errors + log.warnings:
            console.print(_problem_line(problem), soft_wrap=True)
        verdict = "[bold red]invalid[/]" if log.errors else "[bold green]valid[/]"
        console.print(
            f"{escape(str(path))}: {verdict} "
            f"({len(log.errors)} error(s), {len(log.warnings)} warning(s))",
            soft_wrap=True,
        )
    if log.errors:
        sys.exit(ExitCode.INVALID)


@click.command("summary")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
def summary_cmd(path: Path) -> None:
    """Validate an instance and print its headline figures.

    An invalid instance is reported as by 'fluxopt validate' (exit status 2).
    """
    instance = load_reported(path)
    table = Table(title=f"Instance {escape(instance.name)}", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in instance.summary().items():
        shown = f"{value:.1%}" if isinstance(value, float) else str(value)
        table.add_row(key.replace("_", " "), escape(shown))
    console.print(table)


@click.command("schema")
@click.option("--markdown", is_flag=True, help="Print the full data reference as Markdown tables.")
def schema_cmd(markdown: bool) -> None:
    """Show the data model of an instance folder: its tables and their columns.

    With --markdown, print the data reference (every column with its type, unit,
    default and description, then the expression language of grids and rule sets), as in
    docs/data-reference.md.
    """
    if markdown:
        click.echo(data_reference_markdown(), nl=False)
        return
    table = Table(title="Tables of an instance folder", show_header=True)
    table.add_column("table")
    table.add_column("presence")
    table.add_column("key")
    table.add_column("columns (* required)")
    for spec in schema().values():
        names = ", ".join(
            f"{name}{'*' if col.required else ''}" for name, col in spec.columns.items()
        )
        table.add_row(
            spec.name,
            "required" if spec.required else "optional",
            ", ".join(spec.key_columns),
            escape(names),
        )
    console.print(table)


def register(group: click.Group) -> None:
    """Add this module's subcommands to the root group."""
    group.add_command(validate_cmd)
    group.add_command(summary_cmd)
    group.add_command(schema_cmd)
