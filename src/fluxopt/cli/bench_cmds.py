"""Subcommand ``baseline``: run a baseline strategy on a batch, verify it, write its tables."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.table import Table

from fluxopt.allocate import SolveSettings
from fluxopt.baselines import STRATEGIES, StrategyResult, run_strategy
from fluxopt.cells import write_csv
from fluxopt.cli.exits import ExitCode
from fluxopt.cli.loading import load_reported
from fluxopt.cli.options import OUTPUT_FOLDER, time_limit_option
from fluxopt.constraints.ruleset import load_constraint_set
from fluxopt.instance import Instance
from fluxopt.verify import VerificationReport, verify

console = Console(highlight=False)


@click.command("baseline")
@click.argument("instance_path", metavar="INSTANCE", type=click.Path(path_type=Path))
@click.option(
    "--strategy",
    "-s",
    type=click.Choice(STRATEGIES),
    default="greedy",
    show_default=True,
    help="greedy (the status quo), naive-pulp (textbook PuLP model with CBC) or fluxopt.",
)
@click.option("--constraints", "-c", default=None, help="Constraint set (default: the instance's).")
@click.option("--grid", "-g", default=None, help="Scoring grid (default: the instance's).")
@click.option("--month", "-m", default=None, help="Batch month YYYY-MM (default: every unit).")
@click.option(
    "--out",
    "-o",
    type=OUTPUT_FOLDER,
    required=True,
    help="Folder for orientation.csv, shortlist.csv, summary.json, verification.txt.",
)
@click.option("--solver", default="highs", show_default=True, help="Backend of fluxopt.")
@time_limit_option(60.0, "Seconds for a solver.")
@click.option("--gap", "mip_gap", default=1e-3, show_default=True, help="Relative gap.")
def baseline_cmd(
    instance_path: Path,
    strategy: str,
    constraints: str | None,
    grid: str | None,
    month: str | None,
    out: Path,
    solver: str,
    time_limit: float,
    mip_gap: float,
) -> None:
    """Allocate a batch with a baseline strategy, to compare it with fluxopt.

    Runs the strategy on the same candidate graph as fluxopt, verifies its decisions
    independently, measures them with fluxopt's objective and writes the decision tables
    to OUT. Exits with status 3 if the verifier finds a broken hard rule.
    """
    instance = load_reported(instance_path)
    rules = load_constraint_set(constraints or instance.constraints_source)
    with console.status(f"running {strategy}"):
        result = run_strategy(
            strategy,
            instance,
            rules,
            month=month,
            scores=grid_scores(instance, grid),
            settings=SolveSettings(solver=solver, time_limit=time_limit, mip_gap=mip_gap),
        )
    if result.decisions is None:
        console.print(f"[bold red]{strategy} found no solution[/]: {result.message}")
        sys.exit(ExitCode.UNEXPECTED)
    report = verify(
        instance, rules, result.decisions.orientation, result.decisions.shortlist, month=month
    )
    write_result(out, result, report)
    print_result(result, report)
    console.print(f"decisions written to [bold]{out}[/]")
    if not report.ok:
        console.print(f"[bold red]{len(report.violations)} hard rule(s) broken[/]")
        sys.exit(ExitCode.VIOLATIONS)


def grid_scores(instance: Instance, grid: str | None) -> pd.Series | None:
    """Scores under a grid (the instance's default grid when none is given; none: wait-based)."""
    from fluxopt.scoring import load_grid, score

    name = grid or instance.grid_source
    if not name:
        return None
    return score(load_grid(name), instance.applicants).total


def write_result(folder: Path, result: StrategyResult, report: VerificationReport) -> None:
    """Write the decision tables, a JSON summary and the verification report."""
    assert result.decisions is not None
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(result.decisions.orientation, folder / "orientation.csv")
    write_csv(result.decisions.shortlist, folder / "shortlist.csv")
    quotas = report.quotas
    summary = {
        "strategy": result.strategy,
        "solver": result.solver,
        "status": str(result.status),
        "objective": result.objective,
        "own_objective": result.own_objective,
        "bound": result.bound,
        "gap": result.gap,
        "units": len(result.decisions.orientation),
        "units_filled": result.units_filled,
        "quota_groups_met": int(quotas["met"].sum()) if not quotas.empty else 0,
        "quota_groups": len(quotas),
        "violations": len(report.violations),
        "timings": {k: round(v, 4) for k, v in result.timings.items()},
        "message": result.message,
    }
    (folder / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (folder / "verification.txt").write_text(report.text(limit=10_000) + "\n", encoding="utf-8")


def print_result(result: StrategyResult, report: VerificationReport) -> None:
    """The headline figures of a strategy's run."""
    table = Table(title=f"{result.strategy} ({result.solver})", show_header=False)
    table.add_column("figure")
    table.add_column("value", justify="right")
    units = 0 if result.decisions is None else len(result.decisions.orientation)
    quotas: pd.DataFrame = report.quotas
    table.add_row("status", str(result.status))
    table.add_row("objective (loss, fluxopt's model)", _number(result.objective))
    table.add_row("bound", _number(result.bound))
    table.add_row("units filled", f"{result.units_filled} of {units}")
    if not quotas.empty:
        table.add_row("quota groups met", f"{int(quotas['met'].sum())} of {len(quotas)}")
    table.add_row(
        "verification",
        f"{len(report.violations)} violation(s), {len(report.shortfalls)} shortfall(s)",
    )
    table.add_row("time per phase", ", ".join(f"{k} {v:.2f}s" for k, v in result.timings.items()))
    console.print(table)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def register(group: click.Group) -> None:
    """Add this module's subcommands to the root group."""
    group.add_command(baseline_cmd)
