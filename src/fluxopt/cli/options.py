r"""Option types shared by the commands: solver seconds and output folders, checked early.

- ``--time-limit`` takes :data:`SECONDS`: a finite number of seconds :math:`t` with
  :math:`0 < t < \infty` (``0``, negative numbers, ``nan`` and ``inf`` are refused with
  exit status 2 before anything runs); :func:`time_limit_option` declares it once for every
  command.
- An output folder (``--out`` of solve, baseline, sweep, simulate, price, score, bilan; the
  folder of ``generate``) or output file (``--csv``, ``--export``, ``outcomes simulate
  --out``) is checked when the command line is read, before any instance is loaded or
  solved, by :func:`check_output`: the path is not a file where a folder is wanted (nor the
  reverse), and the folder it will be written in, or its nearest existing parent, accepts a
  new file. A read-only folder thus gives a one-line error (status 2) instead of a
  traceback after a long solve. ``batch`` checks its own folder.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from fluxopt.schema.problems import OutputFolderError

Command = TypeVar("Command", bound=Callable[..., Any])


class Seconds(click.ParamType):
    """A finite, positive number of seconds."""

    name = "seconds"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        """The value as a float; refused unless finite and greater than 0."""
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(seconds) or seconds <= 0:
            self.fail(f"{value!r} is not a finite number of seconds greater than 0", param, ctx)
        return seconds


SECONDS = Seconds()


def time_limit_option(default: float, help_text: str = "Seconds for the solver.") -> Any:
    """The ``--time-limit`` option: finite seconds > 0 (:class:`Seconds`)."""
    return click.option(
        "--time-limit", type=SECONDS, default=default, show_default=True, help=help_text
    )


def _existing_ancestor(path: Path) -> Path:
    """The path itself if it exists, else its nearest existing parent."""
    current = path.absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def check_output(path: Path, *, is_file: bool = False) -> Path:
    """Refuse an output ``path`` that cannot be written, before any work (module docstring).

    Raises :class:`~fluxopt.schema.problems.OutputFolderError` with one line saying why.
    """
    what = "output file" if is_file else "output folder"
    if path.exists():
        if is_file and path.is_dir():
            raise OutputFolderError(f"the {what} {path} is a folder; give a file name")
        if not is_file and not path.is_dir():
            raise OutputFolderError(f"the {what} {path} is a file, not a folder")
    folder = _existing_ancestor(path.parent if is_file else path)
    if not folder.is_dir():
        raise OutputFolderError(f"cannot write the {what} {path}: {folder} is a file")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputFolderError(
            f"cannot write the {what} {path}: {folder} is not writable ({reason})"
        ) from exc
    return path


class OutputPath(click.Path):
    """A ``click.Path`` to an output folder or file, checked by :func:`check_output`."""

    def __init__(self, *, is_file: bool = False) -> None:
        super().__init__(path_type=Path, file_okay=is_file, dir_okay=not is_file)
        self.is_file = is_file
        self.name = "file" if is_file else "directory"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """The path, once :func:`check_output` accepts it."""
        path = super().convert(value, param, ctx)
        try:
            return check_output(Path(os.fsdecode(path)), is_file=self.is_file)
        except OutputFolderError as exc:
            self.fail(str(exc), param, ctx)


OUTPUT_FOLDER = OutputPath()
OUTPUT_FILE = OutputPath(is_file=True)
