"""Subcommands of flux planning: ``flux plan``, ``flux compare`` and ``flux trajectory``.

Each command computes everything first and writes (table on screen, CSV file) only when the
input is valid, so that a bad instance or option leaves nothing behind.
"""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd
from rich.console import Console
from rich.table import Table

from fluxopt.cells import write_csv as write_table_csv
from fluxopt.cli.loading import load_reported
from fluxopt.cli.options import OUTPUT_FILE
from fluxopt.flux import METHODS, compare_methods, plan_table, trajectory
from fluxopt.flux.targets import YTD_COLUMNS
from fluxopt.schema.problems import FluxoptError

console = Console(highlight=False)

SHORT_NAMES = {
    "stock_share": "stock",
    "turnover_weighted": "turnover",
    "unique_rights": "one-off",
    "negotiated": "negotiated",
}
"""Column headings of the methods in the comparison table."""

METHOD_HELP = (
    f"Conversion method applied to every convention: {', '.join(METHODS)}. "
    "Default: each convention's own method."
)


def read_ytd(path: Path | None) -> pd.DataFrame | None:
    """Read the year-to-date orientations CSV (columns of ``YTD_COLUMNS``), cells as text."""
    if path is None:
        return None
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, ValueError) as exc:
        raise FluxoptError(f"cannot read the year-to-date file {path}: {exc}") from exc


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a result table as CSV (floats rounded to 6 decimals)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table_csv(frame.round(6), path)


def _cell(value: object, kind: str) -> str:
    if kind == "share":
        return f"{float(value):.1%}"  # type: ignore[arg-type]
    if kind == "float":
        return f"{float(value):.2f}"  # type: ignore[arg-type]
    if kind == "signed":
        number = int(value)  # type: ignore[call-overload]
        return f"{number:+d}" if number else "0"
    return str(value)


def render(frame: pd.DataFrame, columns: dict[str, tuple[str, str]], title: str) -> Table:
    """A rich table of ``frame``: ``columns`` maps column → (header, kind)."""
    table = Table(title=title, show_header=True, header_style="bold")
    for header, kind in columns.values():
        table.add_column(header, justify="left" if kind == "text" else "right")
    for record in frame[list(columns)].itertuples(index=False):
        table.add_row(
            *(_cell(value, kind) for value, (_, kind) in zip(record, columns.values(), strict=True))
        )
    return table


@click.group("flux")
def flux_group() -> None:
    """Flux planning: stock-to-flux conversion, annual volumes and targets per holder.

    Each holder (réservataire) has a right to a share of the yearly flow of vacated
    dwellings of its perimeter (the flux basis, assiette); the landlord keeps the rest.
    """


@flux_group.command("plan")
@click.argument("instance_path", metavar="INSTANCE", type=click.Path(path_type=Path))
@click.option("--method", default=None, help=METHOD_HELP)
@click.option("--month", default=None, help="Batch month YYYY-MM (default: all units).")
@click.option(
    "--ytd",
    "ytd_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help=f"CSV of the flux units oriented earlier in the year ({', '.join(YTD_COLUMNS)}).",
)
@click.option("--horizon", default=1.0, show_default=True, help="Years to spend one-off rights.")
@click.option("--segments", is_flag=True, help="Also print the targets per segment.")
@click.option(
    "--csv",
    "csv_path",
    type=OUTPUT_FILE,
    help="Write the plan as CSV.",
)
def plan_cmd(
    instance_path: Path,
    method: str | None,
    month: str | None,
    ytd_path: Path | None,
    horizon: float,
    segments: bool,
    csv_path: Path | None,
) -> None:
    """Per holder: share, annual volume, segment mix and position to date.

    The annual volume is the share of the forecast yearly basis, rounded by largest
    remainder. The position is the units oriented to date minus the target on the basis to
    date (positive: ahead); the need is what the batch of MONTH should bring to stay on the
    trajectory (negative: ahead of it).
    """
    instance = load_reported(instance_path)
    plan = plan_table(instance, method, month, read_ytd(ytd_path), horizon_years=horizon)
    columns: dict[str, tuple[str, str]] = {"holder_id": ("holder", "text")}
    if plan.table["holder_id"].duplicated().any():
        columns["convention_id"] = ("convention", "text")
    columns |= {
        "perimeter": ("perimeter", "text"),
        "method": ("method", "text"),
        "share": ("share", "share"),
        "annual_volume": ("vol./yr", "int"),
        "segment_mix": ("segment mix", "text"),
        "oriented_ytd": ("oriented\nto date", "int"),
        "target_ytd": ("target\nto date", "float"),
        "position": ("position", "float"),
        "basis_batch": ("batch\nunits", "int"),
        "need": ("batch\nneed", "float"),
    }
    scope = f"batch {month}" if month else "all units"
    console.print(render(plan.table, columns, f"Flux plan of {instance.name} ({scope})"))
    if segments:
        segment_columns = {
            "holder_id": ("holder", "text"),
            "convention_id": ("convention", "text"),
            "segment": ("segment", "text"),
            "basis_ytd": ("basis ytd", "int"),
            "basis_batch": ("batch", "int"),
            "target_cumulative": ("target", "float"),
            "oriented_ytd": ("oriented", "int"),
            "need": ("need", "float"),
        }
        console.print(render(plan.targets.segments, segment_columns, "Targets per segment"))
    if csv_path is not None:
        write_csv(plan.table, csv_path)
        console.print(f"wrote {csv_path}")


@flux_group.command("compare")
@click.argument("instance_path", metavar="INSTANCE", type=click.Path(path_type=Path))
@click.option("--horizon", default=1.0, show_default=True, help="Years to spend one-off rights.")
@click.option(
    "--reference",
    default="negotiated",
    show_default=True,
    help="Method the differences are measured against.",
)
@click.option(
    "--csv",
    "csv_path",
    type=OUTPUT_FILE,
    help="Write the comparison as CSV.",
)
def compare_cmd(instance_path: Path, horizon: float, reference: str, csv_path: Path | None) -> None:
    """The four conversion methods side by side: share and annual volume per holder.

    Each method is applied to every convention; the difference columns give the units a
    year each holder gains (+) or loses (-) against the reference method.
    """
    instance = load_reported(instance_path)
    table = compare_methods(instance, horizon_years=horizon, reference=reference)
    columns: dict[str, tuple[str, str]] = {"holder_id": ("holder", "text")}
    if table["holder_id"].duplicated().any():
        columns["convention_id"] = ("convention", "text")
    for name in METHODS:
        columns[f"share_{name}"] = (f"{SHORT_NAMES[name]}\nshare", "share")
        columns[f"volume_{name}"] = ("\nvol.", "int")
        if name != reference:
            columns[f"delta_{name}"] = ("\nΔ", "signed")
    title = f"Conversion methods on {instance.name} (Δ: units/yr against {reference})"
    console.print(render(table, columns, title))
    if csv_path is not None:
        write_csv(table, csv_path)
        console.print(f"wrote {csv_path}")


@flux_group.command("trajectory")
@click.argument("instance_path", metavar="INSTANCE", type=click.Path(path_type=Path))
@click.option("--method", default=None, help=METHOD_HELP)
@click.option("--horizon", default=1.0, show_default=True, help="Years to spend one-off rights.")
@click.option(
    "--csv",
    "csv_path",
    type=OUTPUT_FILE,
    help="Write the trajectory as CSV.",
)
def trajectory_cmd(
    instance_path: Path, method: str | None, horizon: float, csv_path: Path | None
) -> None:
    """Cumulative target of every holder at the end of each month of the year."""
    instance = load_reported(instance_path)
    frame = trajectory(instance, method, horizon_years=horizon)
    wide = frame.assign(key=frame["holder_id"] + " " + frame["convention_id"]).pivot(
        index="key", columns="month", values="target_cumulative"
    )
    order = list(dict.fromkeys(frame["holder_id"] + " " + frame["convention_id"]))
    wide = wide.reindex(order).reset_index()
    columns = {"key": ("holder convention", "text")} | {
        month: (month[5:], "float") for month in wide.columns[1:]
    }
    console.print(render(wide, columns, f"Cumulative targets of {instance.name}"))
    if csv_path is not None:
        write_csv(frame, csv_path)
        console.print(f"wrote {csv_path}")


def register(group: click.Group) -> None:
    """Add the ``flux`` group and its subcommands to the root group."""
    group.add_command(flux_group)
