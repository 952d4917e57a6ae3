"""Subcommands of the allocation core: ``solve`` and ``verify``."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.table import Table

from fluxopt.allocate import Allocation, SolveSettings, allocate
from fluxopt.cells import write_csv
from fluxopt.cli.exits import ExitCode
from fluxopt.cli.loading import load_reported
from fluxopt.cli.options import OUTPUT_FILE, OUTPUT_FOLDER, time_limit_option
from fluxopt.constraints.ruleset import load_constraint_set
from fluxopt.explain import candidate_reasons, rule_prices, rule_table
from fluxopt.instance import Instance, load_instance
from fluxopt.outcome import read_decisions, summarise, write_decisions
from fluxopt.reachable import quota_reachability
from fluxopt.verify import VerificationReport, verify

console = Console(highlight=False)

PHASES = {
    "pairs": "scoring, flux targets, eligible pairs",
    "build": "building the model",
    "solve": "solving",
    "extract": "alternates and decision tables",
}


def load_scores(
    instance_path: Path, grid: str | None, instance: Instance
) -> tuple[pd.Series | None, pd.DataFrame | None]:
    """Scores and breakdown under a grid (the instance's default grid when none is given)."""
    from fluxopt.scoring import load_grid, score

    name = grid or instance.grid_source
    if not name:
        return None, None
    scores = score(load_grid(name), instance.applicants)
    del instance_path
    return scores.total, scores.breakdown


def write_explanations(
    out: Path,
    allocation: Allocation,
    report: VerificationReport,
    breakdown: pd.DataFrame | None,
    price: bool,
) -> None:
    """Write why each candidate (explain_candidates.csv) and each rule's figures."""
    write_csv(candidate_reasons(allocation, breakdown), out / "explain_candidates.csv")
    reach = quota_reachability(allocation, report)
    write_csv(reach, out / "quota_reachability.csv")
    for row in reach.to_dict("records"):
        console.print(f"quota {row['rule']} ({row['group']}): {row['verdict']}", markup=False)
    write_csv(rule_table(allocation, report), out / "explain_rules.csv")
    if price:
        with console.status("pricing each rule family"):
            prices = rule_prices(allocation)
        write_csv(prices, out / "rule_prices.csv")
        console.print(prices.to_string(index=False))


@click.command("solve")
@click.argument("instance_path", metavar="INSTANCE", type=click.Path(path_type=Path))
@click.option(
    "--constraints",
    "-c",
    default=None,
    help="Constraint set: a name of models/constraints or a YAML file (default: the instance's).",
)
@click.option(
    "--grid",
    "-g",
    default=None,
    help="Scoring grid: a name of models/grids or a YAML file (default: the instance's; "
    "none: a wait-based score).",
)
@click.option(
    "--month", "-m", default=None, help="Batch month YYYY-MM (default: every unit of the instance)."
)
@click.option(
    "--out",
    "-o",
    "out",
    type=OUTPUT_FOLDER,
    required=True,
    help="Folder for orientation.csv, shortlist.csv, summary.json.",
)
@click.option("--solver", default="highs", show_default=True, help="Backend: highs, cpsat or cbc.")
@time_limit_option(60.0)
@click.option(
    "--gap", "mip_gap", default=1e-3, show_default=True, help="Relative gap accepted as optimal."
)
@click.option("--threads", default=1, show_default=True, help="Solver threads.")
@click.option(
    "--locks",
    type=click.Path(exists=True, path_type=Path),
    default=None,
    help="CSV of human overrides: unit_id, action (orient, require, exclude), holder_id, "
    "applicant_id.",
)
@click.option(
    "--export",
    "export_path",
    type=OUTPUT_FILE,
    default=None,
    help="Also write the built model to FILE (.mps or .lp), readable by another solver.",
)
@click.option(
    "--price",
    is_flag=True,
    help="Also price each rule family (one more solve per family): objective lost by "
    "enforcing it, written to rule_prices.csv.",
)
def solve_cmd(
    instance_path: Path,
    constraints: str | None,
    grid: str | None,
    month: str | None,
    out: Path,
    solver: str,
    time_limit: float,
    mip_gap: float,
    threads: int,
    locks: Path | None,
    export_path: Path | None,
    price: bool,
) -> None:
    """Orient each unit to a holder and shortlist ranked candidates for it.

    Validates the instance, scores the applicants, builds the candidate graph and the flux
    targets, solves, fills ranks 2..k, verifies the result independently and writes the
    decision tables to OUT. Exits with status 3 if the verifier finds a broken hard rule.
    """
    started = time.perf_counter()
    instance = load_reported(instance_path)
    rules = load_constraint_set(constraints or instance.constraints_source)
    lock_table = pd.read_csv(locks, dtype=str) if locks else None
    with console.status("scoring applicants") as status:
        scores, scores_breakdown = load_scores(instance_path, grid, instance)

        def progress(phase: str) -> None:
            status.update(PHASES.get(phase, phase))

        allocation = allocate(
            instance,
            rules,
            month=month,
            scores=scores,
            locks=lock_table,
            settings=SolveSettings(
                solver=solver, time_limit=time_limit, mip_gap=mip_gap, threads=threads
            ),
            progress=progress,
        )
        if export_path is not None:
            from fluxopt.solvers.export import export_model

            export_model(allocation.model, export_path)
        status.update("verifying")
        report = verify(
            instance,
            rules,
            allocation.decisions.orientation,
            allocation.decisions.shortlist,
            month=month,
            locks=lock_table,
        )
    write_decisions(out, allocation, report)
    write_explanations(out, allocation, report, scores_breakdown, price)
    summary = summarise(allocation, report)
    print_summary(summary, report, time.perf_counter() - started)
    console.print(f"decisions written to [bold]{out}[/]")
    if not report.ok:
        console.print(
            f"[bold red]{len(report.violations)} hard rule(s) broken[/] (see verification.txt)"
        )
        sys.exit(ExitCode.VIOLATIONS)


def print_summary(summary: dict[str, object], report: VerificationReport, elapsed: float) -> None:
    """The closing summary of a solve: status, fill, quotas, flux, timings."""
    head = Table(
        title=f"Batch {summary['instance']} {summary['month'] or ''}".strip(), show_header=False
    )
    head.add_column("figure")
    head.add_column("value", justify="right")
    gap = summary["gap"]
    head.add_row("status", str(summary["status"]))
    head.add_row("units filled", f"{summary['units_filled']} of {summary['units']}")
    head.add_row("units with a shortlist", str(summary["units_with_shortlist"]))
    head.add_row("objective (loss)", f"{summary['objective']:.2f}")
    head.add_row("bound", f"{summary['bound']:.2f}")
    head.add_row("gap", f"{gap:.3%}" if isinstance(gap, float) else "-")
    head.add_row(
        "candidate pairs", f"{summary['candidate_pairs']} of {summary['eligible_pairs']} eligible"
    )
    timings = summary["timings"]
    assert isinstance(timings, dict)
    head.add_row("time per phase", ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()))
    head.add_row("total time", f"{elapsed:.2f}s")
    head.add_row(
        "verification",
        f"{len(report.violations)} violation(s), {len(report.shortfalls)} shortfall(s)",
    )
    console.print(head)
    if not report.quotas.empty:
        quotas = Table(title="Quota attainment (first-ranked, year to date included)")
        for column in ("rule", "group", "attributions", "ratio", "level", "met"):
            quotas.add_column(
                column, justify="right" if column in ("attributions", "ratio", "level") else "left"
            )
        for row in report.quotas.to_dict("records"):
            quotas.add_row(
                row["rule"],
                str(row["group"]),
                f"{row['numerator']:g}/{row['denominator']:g}",
                f"{row['ratio']:.0%}",
                f"{'≥' if row['sense'] == 'at_least' else '≤'} {row['level']:.0%}",
                "yes" if row["met"] else "[red]no[/]",
            )
        console.print(quotas)
    if not report.flux.empty:
        flux = Table(title="Flux position per holder (cumulative, after this batch)")
        for column in ("holder", "convention", "target", "oriented", "gap", "within"):
            flux.add_column(
                column, justify="left" if column in ("holder", "convention") else "right"
            )
        for row in report.flux.to_dict("records"):
            flux.add_row(
                str(row["holder_id"]),
                str(row["convention_id"] or "(remainder)"),
                f"{row['target_cumulative']:.2f}",
                f"{row['oriented']:g}",
                f"{row['gap']:+.2f}",
                "yes" if row["within"] else "[yellow]no[/]",
            )
        console.print(flux)


@click.command("verify")
@click.argument("instance_path", metavar="INSTANCE", type=click.Path(path_type=Path))
@click.argument("batch", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--constraints", "-c", default=None, help="Constraint set the batch was solved under."
)
@click.option("--month", "-m", default=None, help="Batch month YYYY-MM.")
def verify_cmd(
    instance_path: Path, batch: Path, constraints: str | None, month: str | None
) -> None:
    """Re-check a batch's decision tables against the instance and the rules.

    Reads BATCH/orientation.csv and BATCH/shortlist.csv, re-derives every rule from them
    and the instance alone, and lists each violation and shortfall. Exits with status 3
    when a hard rule is broken.
    """
    instance = load_instance(instance_path)
    rules = load_constraint_set(constraints or instance.constraints_source)
    decisions = read_decisions(batch)
    report = verify(instance, rules, decisions.orientation, decisions.shortlist, month=month)
    console.print(report.text(limit=200), markup=False)
    if not report.ok:
        sys.exit(ExitCode.VIOLATIONS)


def register(group: click.Group) -> None:
    """Add this module's subcommands to the root group."""
    group.add_command(solve_cmd)
    group.add_command(verify_cmd)
