"""Ledger commands: ``ledger info|check|publish|rollback|unlock``, and how commands open a ledger.

Every command that reads a ledger opens it through :func:`open_ledger`: a SQLite file that
is not a readable database gives a one-line error (exit status 2), and a ledger holding a
half-published batch is reported: commands that write refuse (exit 2), commands that only
read warn on standard error and go on.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import DatabaseError

from fluxopt.cli.exits import ExitCode
from fluxopt.ledger import store
from fluxopt.ledger.store import DEFAULT_LEDGER, Ledger, sqlite_file
from fluxopt.schema.problems import RefusedError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

ledger_option = click.option(
    "--ledger",
    "ledger_url",
    default=DEFAULT_LEDGER,
    show_default=True,
    help="Ledger: a SQLite file or any SQLAlchemy URL (postgresql+psycopg://user@host/db).",
)


@contextmanager
def ledger_errors(url: str | Path) -> Iterator[None]:
    """Turn a damaged SQLite file met while reading into the one-line refusal."""
    try:
        yield
    except DatabaseError as exc:
        file = sqlite_file(store.ledger_url(url))
        if file is None or "locked" in str(exc.orig):
            raise
        raise RefusedError(
            f"the ledger file {file} is not a readable SQLite database ({exc.orig}); restore "
            "it from a backup, or give another --ledger (nothing was changed)"
        ) from exc


@contextmanager
def open_ledger(url: str | Path, *, writes: bool = False) -> Iterator[Ledger]:
    """Open an existing ledger for a command; refuse or warn about half-published batches."""
    from fluxopt.publication import half_published_warning, refuse_if_half_published

    with ledger_errors(url), Ledger(url, create=False) as ledger:
        if writes:
            refuse_if_half_published(ledger)
        else:
            warning = half_published_warning(ledger)
            if warning:
                err_console.print(f"[bold yellow]warning:[/] {escape(warning)}", soft_wrap=True)
        yield ledger


@click.group("ledger")
def ledger_group() -> None:
    """Inspect a ledger, check it against its folders, finish or undo a publication."""


@ledger_group.command("info")
@ledger_option
@click.option("--year", "-y", type=int, default=None, help="Year (default: the latest).")
def ledger_info_cmd(ledger_url: str, year: int | None) -> None:
    """List the year's batches, their publication and staleness, and the state of their units."""
    from fluxopt.ledger.counters import unit_states
    from fluxopt.ledger.lock import holder
    from fluxopt.publication import half_published_warning

    with ledger_errors(ledger_url), Ledger(ledger_url, create=False) as ledger:
        held = holder(ledger)
        half = half_published_warning(ledger)
        years = ledger.years()
        if not years:
            console.print(f"the ledger {ledger.name} has no batch yet")
            return
        year = year or years[-1]
        batches = ledger.batches(year)
        states = unit_states(ledger, year)
    table = Table(title=f"Ledger {ledger.name}, {year}")
    columns = ("month", "status", "gap", "units", "carried", "listed", "solver")
    for column in columns:
        left = column in ("month", "status", "solver")
        table.add_column(column, justify="left" if left else "right", no_wrap=left)
    table.add_column("papers", no_wrap=True)
    for row in batches.to_dict("records"):
        gap = row["gap"]
        papers = "stale" if row["stale"] else "published"
        if not row["published_at"]:
            papers = "HALF-PUBLISHED"
        table.add_row(
            str(row["month"]),
            str(row["status"]),
            f"{gap:.3%}" if isinstance(gap, float) and gap == gap else "-",
            str(row["units"]),
            str(row["carried_over"]),
            str(row["units_with_shortlist"]),
            str(row["solver"]),
            papers,
        )
    console.print(table)
    counts = states["state"].value_counts().to_dict()
    console.print(
        "units: "
        + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("attributed", "returned", "pending"))
    )
    for row in batches[batches["stale"] != ""].to_dict("records"):
        console.print(
            f"stale: {row['month']} ({row['stale']}); run it again, in month order", soft_wrap=True
        )
    if held is not None:
        console.print(f"locked by {held.describe()}", soft_wrap=True)
    if half:
        console.print(f"[bold red]half-published:[/] {escape(half)}", soft_wrap=True)


@ledger_group.command("check")
@ledger_option
@click.argument("folders", nargs=-1, type=click.Path(path_type=Path))
@click.option("--year", "-y", type=int, default=None, help="Only this year's batches.")
def ledger_check_cmd(ledger_url: str, folders: tuple[Path, ...], year: int | None) -> None:
    """Compare the ledger with the folders it published (all of them, or FOLDERS).

    For each folder: fluxopt's marker is there, of this ledger, with the batch and run the
    ledger recorded; every paper is as published (SHA-256); orientation.csv and
    shortlist.csv hold the ledger's rows. Half-published batches are findings too. Exit
    status 0 when all agree, 3 when anything disagrees.
    """
    from fluxopt.publication import check_ledger

    with ledger_errors(ledger_url), Ledger(ledger_url, create=False) as ledger:
        report = check_ledger(ledger, list(folders), year)
    for note in report.notes:
        console.print(f"note: {escape(note)}", soft_wrap=True)
    for finding in report.findings:
        console.print(f"[red]mismatch:[/] {escape(finding)}", soft_wrap=True)
    checked = len(report.folders)
    if report.ok:
        console.print(f"the ledger {ledger.name} and its {checked} folder(s) agree", soft_wrap=True)
        return
    console.print(f"{len(report.findings)} finding(s) over {checked} folder(s)")
    sys.exit(ExitCode.VIOLATIONS)


@ledger_group.command("publish")
@ledger_option
@click.option("--batch", "batch_id", required=True, help="The half-published batch (its month).")
def ledger_publish_cmd(ledger_url: str, batch_id: str) -> None:
    """Finish the publication of a half-published batch: its staged papers move into place."""
    from fluxopt.publication import finish_publication

    with ledger_errors(ledger_url), Ledger(ledger_url, create=False) as ledger:
        folder = finish_publication(ledger, batch_id)
    console.print(f"batch {batch_id} published in [bold]{folder}[/]", soft_wrap=True)


@ledger_group.command("rollback")
@ledger_option
@click.option("--batch", "batch_id", required=True, help="The half-published batch (its month).")
def ledger_rollback_cmd(ledger_url: str, batch_id: str) -> None:
    """Undo a half-published batch: its folder and the ledger as they were before it."""
    from fluxopt.publication import undo_publication

    with ledger_errors(ledger_url), Ledger(ledger_url, create=False) as ledger:
        undo = undo_publication(ledger, batch_id)
    restored = "the batch it replaced is back" if undo.get("replaced") else "no batch before it"
    console.print(
        f"batch {batch_id} undone in the ledger {ledger.name} ({restored})", soft_wrap=True
    )


@ledger_group.command("unlock")
@ledger_option
def ledger_unlock_cmd(ledger_url: str) -> None:
    """Remove the batch lock left by a killed process (refused while it still runs here)."""
    from fluxopt.ledger.lock import unlock

    with ledger_errors(ledger_url), Ledger(ledger_url, create=False) as ledger:
        held = unlock(ledger)
    if held is None:
        console.print(f"the ledger {ledger.name} is not locked", soft_wrap=True)
    else:
        console.print(f"removed the lock of {held.describe()}", soft_wrap=True)


def register(group: click.Group) -> None:
    """Add this module's subcommands to the root group."""
    group.add_command(ledger_group)
