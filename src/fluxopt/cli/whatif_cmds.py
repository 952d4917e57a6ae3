"""What-if subcommands: ``sweep``, ``simulate`` and ``price``.

Each builds scenarios (:mod:`fluxopt.scenarios`), runs them through a sweep (a local Dask
cluster by default, an existing scheduler with ``--scheduler tcp://HOST:PORT``, or one
after another with ``--scheduler inline``), shows a progress bar, prints the comparison and
writes ``compare.csv`` and ``compare.html`` (plus the command's own tables) to ``--out``.
Results are cached in ``--out``: running the same command again recomputes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from fluxopt.cells import write_csv
from fluxopt.cli.options import OUTPUT_FOLDER, check_output, time_limit_option
from fluxopt.flux import METHODS
from fluxopt.scenarios.compare import Section, pivot, write_reports
from fluxopt.scenarios.plots import bar_chart, line_chart
from fluxopt.scenarios.spec import Scenario, SimulationSpec, load_sweep
from fluxopt.scenarios.sweep import INLINE, SweepOutcome, run_sweep
from fluxopt.schema.problems import FluxoptError, PartialResultError

console = Console(highlight=False)

SCHEDULER_HELP = (
    "Where scenarios run: a Dask scheduler address (tcp://HOST:PORT; every worker must see "
    "BASE at the same path), or 'inline' (one after another in this process). Default: a "
    "local cluster with one single-threaded worker per core."
)
DEFAULT_LEVELS = "0.15,0.20,0.25,0.30,0.35"
Command = TypeVar("Command", bound=Callable[..., Any])


def scheduler_options(function: Command) -> Command:
    """Add ``--scheduler`` and ``--workers`` to a command."""
    function = click.option("--scheduler", default=None, help=SCHEDULER_HELP)(function)
    return click.option(
        "--workers", type=click.IntRange(min=1), default=None, help="Workers of the local cluster."
    )(function)


def run_with_progress(
    base: Path,
    scenarios: list[Scenario],
    out: Path,
    scheduler: str | None,
    workers: int | None,
) -> SweepOutcome:
    """Run a sweep with a progress bar of the scenarios as they finish."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("scenarios", total=len(scenarios))

        def on_row(row: dict[str, object], cached: bool) -> None:
            mark = "cached" if cached else str(row.get("status"))
            progress.update(task, advance=1, description=f"{row.get('scenario')} ({mark})")

        outcome = run_sweep(
            base, scenarios, out, scheduler=scheduler, workers=workers, on_row=on_row
        )
        progress.update(task, description="scenarios")
    return outcome


def print_outcome(outcome: SweepOutcome, paths: dict[str, Path]) -> None:
    """The headline table of a sweep and where its files are."""
    rows = outcome.rows
    table = Table(title="Scenarios", header_style="bold")
    shown = {
        "scenario": "scenario",
        "status": "status",
        "objective": "objective",
        "gap": "gap",
        "units_filled": "filled",
        "priority_housed": "priority housed",
        "mean_wait_housed": "mean wait (months)",
        "seconds": "seconds",
    }
    for column, header in shown.items():
        table.add_column(header, justify="left" if column in ("scenario", "status") else "right")
    for record in rows.to_dict("records"):
        cells = [_text(record.get(column), column) for column in shown]
        if record.get("status") == "error":
            cells[1] = f"[red]error[/]: {record.get('error', '')}"
        table.add_row(*cells)
    console.print(table)
    failed = f", [red]{outcome.failed} failed[/]" if outcome.failed else ""
    console.print(
        f"{outcome.submitted} scenario(s) run, {outcome.reused} from the cache{failed}; "
        f"written {paths['csv']} and {paths['html']}"
    )


def check_complete(outcome: SweepOutcome) -> None:
    """End with status 4 (partial) when a scenario failed or the scheduler was lost.

    The rows that finished are written before; the message says how many did not.
    """
    if outcome.scheduler_lost:
        raise PartialResultError(
            f"the Dask scheduler was lost: {outcome.failed} of {len(outcome.rows)} scenario(s) "
            "did not finish; the finished ones are written and cached, run the same command "
            "again to complete the sweep"
        )
    if outcome.failed:
        raise PartialResultError(
            f"{outcome.failed} of {len(outcome.rows)} scenario(s) failed (their error is in "
            f"{outcome.out / 'compare.csv'}); the others are written"
        )


def _text(value: object, column: str) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    if column == "gap" and isinstance(value, int | float):
        return f"{float(value):.2%}"
    if isinstance(value, float):
        return f"{value:,.1f}" if column == "mean_wait_housed" else f"{value:,.2f}"
    return str(value)


@click.command("sweep")
@click.argument("base", metavar="BASE", type=click.Path(exists=True, path_type=Path))
@click.argument("sweep_file", metavar="SWEEP.yaml", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--out",
    "-o",
    type=OUTPUT_FOLDER,
    default=None,
    help="Results folder (default: sweep-<name of the sweep>).",
)
@scheduler_options
def sweep_cmd(
    base: Path, sweep_file: Path, out: Path | None, scheduler: str | None, workers: int | None
) -> None:
    """Run every scenario of SWEEP.yaml on the instance BASE and compare them.

    Each scenario is a task (one solver thread); a failed scenario is a row with its error
    and the others finish. Results are cached in the output folder, keyed by a hash of the
    scenario, the base's files and the rule files: a second run recomputes nothing.
    """
    sweep, scenarios = load_sweep(sweep_file)
    folder = out or check_output(Path(f"sweep-{sweep.name}"))
    outcome = run_with_progress(base, list(scenarios), folder, scheduler, workers)
    paths = write_reports(
        outcome.rows, folder, f"Sweep {sweep.name} on {base.name}", description=sweep.description
    )
    print_outcome(outcome, paths)
    check_complete(outcome)


@click.command("simulate")
@click.argument("base", metavar="BASE", type=click.Path(exists=True, path_type=Path))
@click.option("--months", type=click.IntRange(1, 12), default=12, show_default=True)
@click.option(
    "--refusal-rate",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.3,
    show_default=True,
    help="Probability that a proposed applicant refuses.",
)
@click.option(
    "--inflow",
    type=click.IntRange(min=0),
    default=None,
    help="New applicants per month (default: as many as the units of a month).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--method",
    "methods",
    multiple=True,
    type=click.Choice(METHODS),
    help="Conversion method (repeat to compare; default: each convention's own).",
)
@click.option("--all-methods", is_flag=True, help="Compare the four conversion methods.")
@click.option("--constraints", "-c", default=None, help="Constraint set (default: the instance's).")
@click.option("--grid", "-g", default=None, help="Scoring grid (default: the instance's).")
@time_limit_option(20.0, "Seconds for the solver per month.")
@click.option(
    "--out",
    "-o",
    type=OUTPUT_FOLDER,
    default=Path("simulation"),
    show_default=True,
    help="Results folder.",
)
@scheduler_options
def simulate_cmd(
    base: Path,
    months: int,
    refusal_rate: float,
    inflow: int | None,
    seed: int,
    methods: tuple[str, ...],
    all_methods: bool,
    constraints: str | None,
    grid: str | None,
    time_limit: float,
    out: Path,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """Simulate a year of monthly batches on BASE and compare each holder's flux attainment.

    New vacancies and applicants arrive each month; each proposed applicant refuses with
    the refusal rate; the year to date carries orientations and leases from month to month.
    With several methods, one simulation per method runs in parallel.
    """
    chosen: list[str | None] = list(METHODS) if all_methods else list(dict.fromkeys(methods))
    spec = SimulationSpec(months=months, refusal_rate=refusal_rate, inflow=inflow, seed=seed)
    scenarios = [
        Scenario.model_validate(
            {
                "name": method or "own-methods",
                "method": method,
                "constraints": constraints,
                "grid": grid,
                "time_limit": time_limit,
                "simulate": spec,
            }
        )
        for method in chosen or [None]
    ]
    if scheduler is None and len(scenarios) == 1:
        scheduler = INLINE
    outcome = run_with_progress(base, scenarios, out, scheduler, workers)
    paths = write_reports(
        outcome.rows,
        out,
        f"A simulated year on {base.name}",
        description=f"{months} month(s), refusal rate {refusal_rate:g}, seed {seed}.",
    )
    print_outcome(outcome, paths)
    console.print(attainment_table(outcome.rows))
    check_complete(outcome)


def attainment_table(rows: pd.DataFrame) -> Table:
    """Per holder and scenario: units oriented over the year / annual target (attainment)."""
    target, oriented = pivot(rows, "flux_target:"), pivot(rows, "flux_oriented:")
    table = Table(title="Annual flux attainment per holder: oriented / target", header_style="bold")
    table.add_column("holder")
    for name in target.columns:
        table.add_column(name, justify="right")
    for holder in target.index:
        cells = []
        for name in target.columns:
            goal = float(target.loc[holder, name])
            got = float(oriented.loc[holder, name])
            if pd.isna(goal) or pd.isna(got):
                cells.append("-")
            else:
                share = f" ({got / goal:.0%})" if goal > 0 else ""
                cells.append(f"{got:g} / {goal:.1f}{share}")
        table.add_row(str(holder), *cells)
    return table


@click.command("price")
@click.argument("base", metavar="BASE", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--scenarios",
    "scenario_file",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="Sweep file holding the scenario to price (default: the base as it is).",
)
@click.option("--name", default=None, help="Scenario of the file to price (default: its first).")
@click.option("--month", "-m", default=None, help="Batch month YYYY-MM (default: every unit).")
@click.option(
    "--quota",
    default=None,
    help="Quota rule whose level is swept for a trade-off curve (e.g. lec-q1-outside-qpv).",
)
@click.option(
    "--levels",
    default=DEFAULT_LEVELS,
    show_default=True,
    help="Levels of the trade-off curve, comma-separated.",
)
@time_limit_option(30.0, "Seconds per solve.")
@click.option(
    "--out",
    "-o",
    type=OUTPUT_FOLDER,
    default=Path("price"),
    show_default=True,
    help="Results folder.",
)
@scheduler_options
def price_cmd(
    base: Path,
    scenario_file: Path | None,
    name: str | None,
    month: str | None,
    quota: str | None,
    levels: str,
    time_limit: float,
    out: Path,
    scheduler: str | None,
    workers: int | None,
) -> None:
    """The price of each rule family of a scenario, and a quota's trade-off curve.

    Solves the scenario, then again with each rule family switched off in turn (each quota
    rule, the channels, the flux positions, the segment mix): the price of a rule is the
    objective it adds. With --quota, also solves at each level of that quota.
    """
    from fluxopt.constraints.ruleset import load_constraint_set
    from fluxopt.instance import load_instance
    from fluxopt.scenarios.apply import apply_rules
    from fluxopt.scenarios.price import (
        price_scenarios,
        price_table,
        tradeoff_scenarios,
        tradeoff_table,
    )

    scenario = _pick(scenario_file, name) or Scenario(
        name="base", month=month, time_limit=time_limit
    )
    instance = load_instance(base)
    rules = apply_rules(
        load_constraint_set(scenario.constraints or instance.constraints_source), scenario
    )
    level_values = _levels(levels) if quota else []
    scenarios = price_scenarios(scenario, rules)
    if quota:
        scenarios += tradeoff_scenarios(scenario, quota, level_values)
    outcome = run_with_progress(base, scenarios, out, scheduler, workers)
    prices = price_table(outcome.rows, scenario)
    write_csv(prices, out / "price.csv")
    sections = [
        Section(
            "Price of each rule family",
            "price = objective with the rule − objective without it (what enforcing it costs).",
            prices,
            [bar_chart(prices["rule"].tolist(), prices["price"].tolist(), "Price per rule")]
            if len(prices)
            else [],
        )
    ]
    if quota:
        at_most = any(q.name == quota and q.sense == "at_most" for q in rules.families.quotas)
        curve = tradeoff_table(outcome.rows, scenario, quota, at_most=at_most)
        write_csv(curve, out / "tradeoff.csv")
        sections.append(Section(f"Trade-off of {quota}", "", curve, _curve_charts(curve, quota)))
        console.print(_frame_table(curve, f"Trade-off of {quota}"))
    paths = write_reports(outcome.rows, out, f"Price of each rule on {base.name}", sections)
    print_outcome(outcome, paths)
    console.print(price_console_table(prices))
    check_complete(outcome)


def price_console_table(prices: pd.DataFrame) -> Table:
    """The price table on screen: each figure with the rule and without it."""
    table = Table(title="Price of each rule family (objective with - without)", header_style="bold")
    for header in ("rule", "status", "price", "filled", "priority housed", "mean wait"):
        table.add_column(header, justify="left" if header in ("rule", "status") else "right")
    for record in prices.to_dict("records"):
        if record["status"] == "error":
            table.add_row(record["rule"], f"[red]error[/]: {record.get('error', '')}")
            continue
        pairs = [
            f"{_text(record.get(f'{figure}_with'), figure)} → "
            f"{_text(record.get(f'{figure}_without'), figure)}"
            for figure in ("units_filled", "priority_housed", "mean_wait_housed")
        ]
        table.add_row(
            record["rule"], str(record["status"]), _text(record.get("price"), "price"), *pairs
        )
    return table


def _curve_charts(curve: pd.DataFrame, quota: str) -> list[str]:
    charts = []
    for column, title in (
        ("objective", "Objective"),
        ("priority_housed", "Priority households housed"),
        ("attainment_min", "Lowest attainment over the groups"),
    ):
        if column in curve:
            points = list(zip(curve["level"], curve[column], strict=True))
            charts.append(line_chart({column: points}, f"{title} against the level", quota))
    return charts


def _frame_table(frame: pd.DataFrame, title: str) -> Table:
    table = Table(title=title, header_style="bold")
    columns = [c for c in frame.columns if not str(c).startswith("change ") and c != "error"]
    for column in columns:
        table.add_column(str(column), justify="left" if column in ("rule", "status") else "right")
    for record in frame.to_dict("records"):
        table.add_row(*(_text(record.get(c), str(c)) for c in columns))
    return table


def _pick(path: Path | None, name: str | None) -> Scenario | None:
    if path is None:
        return None
    _, scenarios = load_sweep(path)
    if name is None:
        return scenarios[0]
    for scenario in scenarios:
        if scenario.name == name:
            return scenario
    known = ", ".join(s.name for s in scenarios)
    raise FluxoptError(f"no scenario {name!r} in {path}; its scenarios are: {known}")


def _levels(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise FluxoptError(f"--levels must be numbers separated by commas, got {text!r}") from exc
    if not values or any(not 0 <= v <= 1 for v in values):
        raise FluxoptError(f"--levels must be numbers in [0, 1], got {text!r}")
    return values


def register(group: click.Group) -> None:
    """Add this module's subcommands to the root group."""
    group.add_command(sweep_cmd)
    group.add_command(simulate_cmd)
    group.add_command(price_cmd)
