"""The root command group, error handling and the registration of subcommands."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence

import click
from rich.console import Console
from rich.markup import escape

from fluxopt import __version__
from fluxopt.cli.exits import exit_code_for, exit_code_table
from fluxopt.schema.problems import FluxoptError, InvalidInputError

err_console = Console(stderr=True, highlight=False)


class FluxoptGroup(click.Group):
    """A group that turns every error into a short message and the exit code of its kind.

    Input problems print every problem (status 2); other known errors print one line
    with the status of their kind (:func:`fluxopt.cli.exits.exit_code_for`); an unexpected
    error prints one line and ``run with --debug for the traceback`` (status 1). With
    ``--debug`` the traceback is shown instead.
    """

    def invoke(self, ctx: click.Context) -> object:
        """Run the subcommand; report errors briefly unless ``--debug`` is given."""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            code = exit_code_for(exc)
            if isinstance(exc, InvalidInputError):
                report_invalid(exc)
            elif isinstance(exc, FluxoptError):
                err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
            else:
                err_console.print(
                    f"[bold red]unexpected error:[/] {escape(_one_line(exc))}; "
                    "run with --debug for the traceback",
                    soft_wrap=True,
                )
            sys.exit(code)


def _one_line(exc: BaseException) -> str:
    """The exception's kind and the first line of its message."""
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


def report_invalid(exc: InvalidInputError) -> None:
    """Print every problem of an invalid input, errors first, on standard error."""
    errors = exc.errors
    warnings = [p for p in exc.problems if p.severity == "warning"]
    err_console.print(
        f"[bold red]{escape(exc.what)} is invalid[/]: {len(errors)} error(s), "
        f"{len(warnings)} warning(s)"
    )
    for problem in errors + warnings:
        colour = "red" if problem.severity == "error" else "yellow"
        where, message = escape(problem.location()), escape(problem.message)
        line = f"  [{colour}]{problem.severity}[/] {where}: {message}"
        if problem.hint:
            line += f"\n      [dim]hint: {escape(problem.hint)}[/]"
        err_console.print(line, soft_wrap=True)
    err_console.print("Nothing was solved or written. Fix the errors above and run again.")


EPILOG = f"""\b
Exit status of every command:
{exit_code_table()}
"""


@click.group(
    cls=FluxoptGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EPILOG,
)
@click.version_option(__version__, prog_name="fluxopt")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of short messages.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Orient vacated social dwellings and shortlist scored applicants.

    fluxopt orients each vacated dwelling to a reservation holder under the flux
    conventions, and proposes a ranked shortlist of scored applicants under the LEC
    quotas and mixity rules.

    Terms: a holder (réservataire) holds reservation rights on a share of the yearly flow
    of vacated dwellings (the flux); an applicant's score comes from the territory's grid
    (cotation); the first quartile (Q1) is the poorest quarter of applicants of an EPCI
    (intercommunal authority); QPV are priority districts.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


COMMAND_MODULES = (
    "instance_cmds",
    "generate_cmds",
    "score_cmds",
    "flux_cmds",
    "solve_cmds",
    "batch_cmds",
    "ledger_cmds",
    "whatif_cmds",
    "bench_cmds",
)
"""Modules of ``fluxopt.cli`` that each add their subcommands through ``register(group)``."""


def _register() -> None:
    for name in COMMAND_MODULES:
        qualified = f"fluxopt.cli.{name}"
        if importlib.util.find_spec(qualified) is None:
            continue
        importlib.import_module(qualified).register(cli)


_register()


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``fluxopt`` console script."""
    cli.main(args=list(argv) if argv is not None else None, prog_name="fluxopt")
