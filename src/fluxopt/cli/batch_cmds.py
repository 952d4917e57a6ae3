"""Monthly batch commands: ``batch``, ``outcomes import|simulate``, ``bilan``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fluxopt.allocate import SolveSettings
from fluxopt.cli.exits import ExitCode
from fluxopt.cli.ledger_cmds import ledger_errors, ledger_option, open_ledger
from fluxopt.cli.options import OUTPUT_FILE, OUTPUT_FOLDER, time_limit_option

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

PHASES = {
    "load": "reading the instance and the ledger",
    "pairs": "scoring, flux targets, eligible pairs",
    "build": "building the model",
    "solve": "solving",
    "extract": "alternates and decision tables",
    "verify": "verifying",
    "outputs": "writing the committee papers and the report",
    "record": "recording the batch in the ledger",
    "publish": "publishing the papers",
}


@click.command("batch")
@click.argument("instance_path", metavar="INSTANCE", type=click.Path(path_type=Path))
@click.option("--month", "-m", required=True, help="Batch month, YYYY-MM.")
@ledger_option
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder for the batch's papers (default: out/<instance>/<month>): new or empty, or "
    "holding fluxopt's papers of the same instance, month and ledger (only these are replaced).",
)
@click.option("--constraints", "-c", default=None, help="Constraint set (default: the instance's).")
@click.option(
    "--grid", "-g", default=None, help="Scoring grid (default: the instance's; '' for none)."
)
@click.option("--solver", default="highs", show_default=True, help="Backend: highs, cpsat or cbc.")
@time_limit_option(60.0)
@click.option(
    "--gap", "mip_gap", default=1e-3, show_default=True, help="Relative gap accepted as optimal."
)
@click.option("--threads", default=1, show_default=True, help="Solver threads.")
@click.option(
    "--force",
    is_flag=True,
    help="Replace the month's batch (and its papers) even if its outcomes are recorded, its "
    "inputs changed, or later batches exist (they are then marked stale).",
)
@click.option(
    "--allow-gap",
    is_flag=True,
    help="Solve the month although an earlier month has no batch, or a stale one.",
)
def batch_cmd(
    instance_path: Path,
    month: str,
    ledger_url: str,
    out: Path | None,
    constraints: str | None,
    grid: str | None,
    solver: str,
    time_limit: float,
    mip_gap: float,
    threads: int,
    force: bool,
    allow_gap: bool,
) -> None:
    """Run the monthly batch of INSTANCE and record it in the ledger.

    Takes the month's vacated units plus the units the committee returned (refused, not
    attributed), computes each holder's flux target from the year to date in the ledger,
    orients and shortlists, verifies, writes the committee workbook, the holders' notices,
    summary.json and report.html, records everything in one transaction, then publishes
    the papers into the output folder. One batch per ledger at a time; months in order.
    """
    from fluxopt.batch import run_batch
    from fluxopt.report.summary import summary_tables

    settings = SolveSettings(solver=solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads)
    with console.status("starting") as status, ledger_errors(ledger_url):

        def progress(phase: str) -> None:
            status.update(PHASES.get(phase, phase))

        result = run_batch(
            instance_path,
            month,
            ledger_url,
            out,
            constraints=constraints,
            grid=grid,
            settings=settings,
            force=force,
            allow_gap=allow_gap,
            progress=progress,
        )
    for table in summary_tables(result.summary):
        console.print(table)
    verb = "replaced" if result.replaced else "recorded"
    console.print(f"batch {result.month} {verb} in the ledger [bold]{result.ledger}[/]")
    console.print(
        f"outputs in [bold]{result.out_dir}[/]; report: [bold]{result.paths['report']}[/]"
    )
    if result.stale:
        console.print(
            f"[yellow]stale:[/] the batches of {', '.join(result.stale)} were solved on the "
            f"year to date before this one; run them again in month order (from "
            f"{result.stale[0]}, with --force where outcomes are recorded)",
            soft_wrap=True,
        )


@click.group("outcomes")
def outcomes_group() -> None:
    """Record the allocation committee's decisions (CALEOL) in the ledger."""


@outcomes_group.command("import")
@click.argument("file", type=click.Path(path_type=Path))
@ledger_option
@click.option(
    "--instance",
    "instance_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Instance folder to check holders' own candidates against (default: the batch's).",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Let the file change attributions already recorded (else those rows are set aside).",
)
def outcomes_import_cmd(
    file: Path, ledger_url: str, instance_path: Path | None, replace: bool
) -> None:
    """Import FILE (CSV or XLSX): one row per decision on a unit.

    Columns: unit_id, decision (attributed, holder_candidate, refused, no_attribution),
    applicant_id, and optionally month, decided_on, note. A file with any bad row is
    rejected whole, with the list of problems (exit status 2). Rows that would change an
    attribution already recorded are set aside and listed unless --replace is given; the
    other rows are recorded (exit status 4 when rows were set aside).
    """
    from fluxopt.ledger.outcomes import import_outcomes

    with open_ledger(ledger_url, writes=True) as ledger:
        result = import_outcomes(file, ledger, instance_path, replace=replace)
    decisions = ", ".join(f"{n} {d}" for d, n in sorted(result.decisions.items()))
    console.print(
        f"imported {result.rows} decision(s) ({decisions}): {result.units_attributed} unit(s) "
        f"attributed, {result.units_returned} back in the next batch"
    )
    if result.set_aside:
        err_console.print(
            f"[bold yellow]{len(result.set_aside)} row(s) set aside[/]: they would change an "
            "attribution already recorded"
        )
        for problem in result.set_aside:
            err_console.print(
                f"  {escape(problem.location())}: {escape(problem.message)}\n"
                f"      [dim]hint: {escape(problem.hint)}[/]",
                soft_wrap=True,
            )
        sys.exit(ExitCode.PARTIAL)  # rows set aside, the others recorded


@outcomes_group.command("simulate")
@click.option("--month", "-m", required=True, help="Batch month, YYYY-MM.")
@ledger_option
@click.option("--out", "-o", type=OUTPUT_FILE, required=True, help="CSV to write.")
@click.option("--refusal-rate", default=0.25, show_default=True, help="Each candidate refuses.")
@click.option(
    "--no-attribution-rate", default=0.05, show_default=True, help="Committee attributes nothing."
)
@click.option(
    "--holder-fill-rate", default=0.8, show_default=True, help="A direct holder proposes in time."
)
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@click.option("--instance", "instance_path", type=click.Path(path_type=Path), default=None)
def outcomes_simulate_cmd(
    month: str,
    ledger_url: str,
    out: Path,
    refusal_rate: float,
    no_attribution_rate: float,
    holder_fill_rate: float,
    seed: int,
    instance_path: Path | None,
) -> None:
    """Write simulated committee decisions on the batch of MONTH (for demonstrations)."""
    from fluxopt.cells import write_csv
    from fluxopt.instance import load_instance
    from fluxopt.ledger.simulate import SimulationSettings, simulate_outcomes

    settings = SimulationSettings(refusal_rate, no_attribution_rate, holder_fill_rate, seed)
    instance = load_instance(instance_path) if instance_path else None
    with open_ledger(ledger_url) as ledger:
        table = simulate_outcomes(ledger, month, instance, settings)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(table, out)
    counts = table["decision"].value_counts().to_dict()
    console.print(
        f"simulated {len(table)} decision(s) on {month} "
        f"({', '.join(f'{v} {k}' for k, v in sorted(counts.items()))}) → [bold]{out}[/]"
    )


@click.command("bilan")
@click.option("--year", "-y", type=int, required=True, help="Year of the bilan.")
@ledger_option
@click.option(
    "--out",
    "-o",
    type=OUTPUT_FOLDER,
    default=Path(),
    show_default=True,
    help="Folder for bilan-<year>.csv and bilan-<year>.xlsx.",
)
def bilan_cmd(year: int, ledger_url: str, out: Path) -> None:
    """Write the annual bilan (CCH R441-5-1): units proposed and attributed per holder.

    Broken down by typology, financing, QPV or not, commune and construction period.
    """
    from fluxopt.report.bilan import bilan_table, write_bilan

    with open_ledger(ledger_url) as ledger:
        table = bilan_table(ledger, year)
    paths = write_bilan(out, table, year)
    totals = table[table["dimension"] == "total"]
    view = Table(title=f"Bilan {year}: units proposed and attributed per holder")
    for column in ("holder", "name", "proposed", "attributed"):
        view.add_column(column, justify="right" if column in ("proposed", "attributed") else "left")
    for row in totals.itertuples(index=False):
        view.add_row(
            str(row.holder_id), str(row.holder_name), str(row.proposed), str(row.attributed)
        )
    view.add_row("all", "", str(totals["proposed"].sum()), str(totals["attributed"].sum()))
    console.print(view)
    console.print(f"bilan written to [bold]{paths['xlsx']}[/] and [bold]{paths['csv']}[/]")


def register(group: click.Group) -> None:
    """Add this module's subcommands to the root group."""
    group.add_command(batch_cmd)
    group.add_command(outcomes_group)
    group.add_command(bilan_cmd)
