"""Subcommand ``score``: score an instance's applicants under a grid, or state one score."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from fluxopt.cells import write_csv
from fluxopt.cli.loading import load_reported
from fluxopt.cli.options import OUTPUT_FOLDER
from fluxopt.instance import Instance
from fluxopt.schema.problems import FluxoptError
from fluxopt.scoring import Grid, Scores, Statement, load_grid, score, statement
from fluxopt.scoring.check import declared_columns

console = Console(highlight=False)


def grid_for(instance: Instance, grid_name: str | None) -> Grid:
    """The grid named on the command line, else the instance's default one."""
    name = grid_name or instance.grid_source
    if not name:
        raise FluxoptError(
            f"no grid for instance {instance.name}: pass --grid NAME_OR_FILE or set 'grid' "
            "in its instance.yaml"
        )
    columns = set(instance.applicants.columns) | set(declared_columns())
    return load_grid(name, base=instance.folder, columns=columns)


@click.command("score")
@click.argument("instance_path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--grid",
    "grid_name",
    help="Grid name (models/grids) or YAML file; default: the instance's grid.",
)
@click.option(
    "--out",
    "out_dir",
    type=OUTPUT_FOLDER,
    help="Write scores.csv, breakdown.csv and missing.csv to this folder.",
)
@click.option("--applicant", "applicant_id", help="Print the statement of one applicant.")
@click.option("--top", default=10, show_default=True, help="Best-scored applicants shown.")
def score_cmd(
    instance_path: Path,
    grid_name: str | None,
    out_dir: Path | None,
    applicant_id: str | None,
    top: int,
) -> None:
    """Score the applicants of an instance under a cotation grid.

    Without --applicant, prints how each grid entry scores over the table and the best
    scores; --out also writes the scores and the per-entry breakdown. With --applicant,
    prints what the applicant must be told: score and breakdown, position among comparable
    demands (same EPCI and typology), average wait of comparable attributions, priority
    and refusal consequence.
    """
    instance = load_reported(instance_path)
    grid = grid_for(instance, grid_name)
    scores = score(grid, instance.applicants)
    if applicant_id is not None:
        print_statement(statement(instance, grid, applicant_id, scores=scores))
        return
    print_summary(grid, scores, top)
    if out_dir is not None:
        written = write_scores(scores, out_dir)
        console.print(f"wrote {', '.join(str(p) for p in written)}")


def write_scores(scores: Scores, out_dir: Path) -> list[Path]:
    """Write ``scores.csv`` (score, scheme), ``breakdown.csv`` and ``missing.csv``.

    ``missing.csv`` lists, one row per pair, the applicant and entry that scored 0 because
    the value was missing.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    totals = pd.DataFrame(
        {
            "score": scores.total,
            "scheme": scores.transfer.map({True: "transfer", False: "main"}),
        }
    )
    paths = [out_dir / "scores.csv", out_dir / "breakdown.csv", out_dir / "missing.csv"]
    write_csv(totals, paths[0], index=True, index_label="applicant_id")
    write_csv(scores.breakdown, paths[1], index=True, index_label="applicant_id")
    rows, entries = np.nonzero(scores.missing.to_numpy())
    pairs = pd.DataFrame(
        {
            "applicant_id": scores.missing.index.to_numpy()[rows],
            "entry": scores.missing.columns.to_numpy()[entries],
        }
    )
    write_csv(pairs, paths[2])
    return paths


def print_summary(grid: Grid, scores: Scores, top: int) -> None:
    """How each entry scores over the table, then the best-scored applicants."""
    breakdown = scores.breakdown
    entries = Table(title=f"Grid {grid.name}: {len(breakdown)} applicants scored")
    for column in ("entry", "applicants scoring", "mean points", "max points", "missing"):
        entries.add_column(column, justify="left" if column == "entry" else "right")
    for name in breakdown.columns:
        points = breakdown[name]
        entries.add_row(
            name,
            str(int((points != 0).sum())),
            f"{points.mean():.2f}",
            f"{points.max():g}",
            str(int(scores.missing[name].sum())),
        )
    console.print(entries)
    total = scores.total
    if total.empty:
        return
    console.print(
        f"score: min {total.min():g} · median {total.median():g} · max {total.max():g}; "
        f"{int(total.duplicated(keep=False).sum())} applicants share their score with another"
    )
    best = total.sort_values(ascending=False, kind="stable").head(top)
    table = Table(title=f"Top {len(best)}")
    table.add_column("applicant")
    table.add_column("score", justify="right")
    table.add_column("points by entry")
    names = breakdown.columns.to_numpy()
    best_rows = breakdown.loc[best.index].to_numpy()
    for applicant, value, row in zip(best.index, best.to_numpy(), best_rows, strict=True):
        parts = [f"{name} {p:g}" for name, p in zip(names, row, strict=True) if p != 0]
        table.add_row(str(applicant), f"{value:g}", ", ".join(parts))
    console.print(table)


def print_statement(result: Statement) -> None:
    """Render an applicant's statement as a rich table and sentences."""
    table = Table(title=f"Demand {result.applicant_id} — grid {result.grid}")
    for column in ("entry", "rule", "points", "description", "note"):
        table.add_column(column, justify="right" if column == "points" else "left")
    for line in result.lines:
        style = "bold" if line.points else "dim"
        table.add_row(
            line.entry, line.rule, f"{line.points:g}", line.description, line.note, style=style
        )
    table.add_section()
    table.add_row("total", "", f"{result.score:g}", "", "", style="bold")
    console.print(table)
    for sentence in result.sentences():
        console.print(sentence)


def register(group: click.Group) -> None:
    """Add this module's subcommands to the root group."""
    group.add_command(score_cmd)
