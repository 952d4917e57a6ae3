"""Load an instance for a command and show its warnings on standard error.

Warnings do not stop a command, but the user should see them where they work, not only
under ``fluxopt validate``: a CSV file read as Windows-1252 with semicolons, conventions
that grant nothing, wishes that cannot be met. Each is one line on standard error.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

from fluxopt.instance import Instance, load_instance

err_console = Console(stderr=True, highlight=False)


def load_reported(path: Path) -> Instance:
    """Load and validate an instance (as :func:`load_instance`); print each warning."""
    instance = load_instance(path)
    for problem in instance.warnings:
        err_console.print(
            f"[yellow]warning[/] {escape(problem.location())}: {escape(problem.message)}",
            soft_wrap=True,
        )
    return instance
