"""Problems found in an input, collected first and raised once.

Every check appends :class:`Problem` entries to a :class:`ProblemLog`; when all checks have
run, :meth:`ProblemLog.raise_if_errors` raises one :class:`InvalidInputError` that lists each
problem with its table, row, column and a hint on how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

Severity = Literal["error", "warning"]

MAX_CELLS_LISTED = 20
"""Per column and kind of problem, list at most this many cells, then count the rest."""


@dataclass(frozen=True)
class Problem:
    """One problem in the input.

    ``row`` is the 1-based data row in the table's file (the header is not counted), so
    that row 1 is the first line after the header; ``key`` repeats the row's identifier
    when it has one (or names the group or key of ``instance.yaml`` the problem is about).
    """

    table: str
    message: str
    hint: str = ""
    row: int | None = None
    column: str | None = None
    key: str | None = None
    severity: Severity = "error"

    def location(self) -> str:
        """Where the problem is, as ``table, row N (key), column C``."""
        parts = [self.table]
        if self.row is not None:
            parts.append(f"row {self.row}" + (f" ({self.key})" if self.key else ""))
        elif self.key:
            parts.append(self.key)
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def as_record(self) -> dict[str, object]:
        """The problem as a plain mapping (for JSON output)."""
        return {
            "severity": self.severity,
            "table": self.table,
            "row": self.row,
            "key": self.key,
            "column": self.column,
            "message": self.message,
            "hint": self.hint,
        }

    def __str__(self) -> str:
        text = f"[{self.severity}] {self.location()}: {self.message}"
        return text + (f" — hint: {self.hint}" if self.hint else "")


class _Elided:
    """Stands for the value of cells that are counted rather than listed."""

    def __repr__(self) -> str:
        return "…"

    def __format__(self, spec: str) -> str:
        return "…"


@dataclass
class ProblemLog:
    """An ordered collection of problems, errors and warnings alike.

    A cell (table, row, column) carries at most one error: the first check that fails it
    speaks for it, so that one wrong value is not reported twice by checks that depend on it.
    """

    problems: list[Problem] = field(default_factory=list)
    _cells_in_error: set[tuple[str, int, str]] = field(default_factory=set, repr=False)

    def add(self, problem: Problem) -> None:
        """Record one problem (an error on a cell that already has one is dropped)."""
        if problem.severity == "error" and problem.row is not None and problem.column:
            cell = (problem.table, problem.row, problem.column)
            if cell in self._cells_in_error:
                return
            self._cells_in_error.add(cell)
        self.problems.append(problem)

    def error(
        self,
        table: str,
        message: str,
        hint: str = "",
        *,
        row: int | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        """Record an error at (row, column, key)."""
        self.add(Problem(table, message, hint, row=row, column=column, key=key))

    def warning(
        self,
        table: str,
        message: str,
        hint: str = "",
        *,
        row: int | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        """Record a warning at (row, column, key)."""
        self.add(Problem(table, message, hint, row=row, column=column, key=key, severity="warning"))

    def cells(
        self,
        table: str,
        column: str | None,
        positions: Sequence[int] | np.ndarray,
        template: str,
        hint: str,
        *,
        values: Sequence[object] | pd.Series | None = None,
        keys: Sequence[object] | pd.Series | None = None,
        severity: Severity = "error",
    ) -> None:
        """Record one problem per cell, listing at most :data:`MAX_CELLS_LISTED` of them.

        ``positions`` are 0-based row positions (reported as 1-based rows); ``values`` and
        ``keys``, when given, are aligned with ``positions``; ``template`` may use
        ``{value}``. Beyond the first :data:`MAX_CELLS_LISTED` cells, one more problem says
        how many cells were left out.
        """
        count = len(positions)
        for index in range(min(count, MAX_CELLS_LISTED)):
            value = None if values is None else _item(values, index)
            key = None if keys is None else _key_text(_item(keys, index))
            self.add(
                Problem(
                    table,
                    template.format(value=value),
                    hint,
                    row=int(positions[index]) + 1,
                    column=column,
                    key=key,
                    severity=severity,
                )
            )
        if count > MAX_CELLS_LISTED:
            rest = count - MAX_CELLS_LISTED
            self.add(
                Problem(
                    table,
                    f"{rest} more cell(s) not listed: {template.format(value=_Elided())}",
                    hint,
                    column=column,
                    severity=severity,
                )
            )

    def extend(self, problems: Iterable[Problem]) -> None:
        """Record several problems."""
        for problem in problems:
            self.add(problem)

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop the run."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems reported but tolerated."""
        return [p for p in self.problems if p.severity == "warning"]

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    def raise_if_errors(self, what: str) -> None:
        """Raise one :class:`InvalidInputError` listing every problem if any is an error."""
        if self.errors:
            raise InvalidInputError(what, self.problems)


def _item(items: Sequence[object] | pd.Series, index: int) -> object:
    """One value as a plain Python object (so that messages show ``7``, not ``np.int64(7)``)."""
    value = items.iloc[index] if isinstance(items, pd.Series) else items[index]
    return value.item() if isinstance(value, np.generic) else value


def _key_text(value: object) -> str | None:
    """A row identifier as text, or ``None`` when the cell is empty."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


class FluxoptError(Exception):
    """Base of the errors fluxopt reports to the user as a short message.

    ``exit_code`` is the status the command line ends with (the table of
    :mod:`fluxopt.cli.exits`): 2 for invalid input or a refusal, 3 for violations found by
    the verifier, 4 for a partial result.
    """

    exit_code = 2
    """Exit status of the command line when this error stops it."""


class ViolationsError(FluxoptError):
    """The independent verifier found broken hard rules in decisions (exit status 3)."""

    exit_code = 3


class PartialResultError(FluxoptError):
    """Part of the work was done and part was not (exit status 4); the message says which."""

    exit_code = 4


class OutputFolderError(FluxoptError):
    """An output folder or file cannot be written (checked before any work is done)."""


class RefusedError(FluxoptError):
    """fluxopt refuses to act (exit status 2): doing so would lose or corrupt data.

    Raised before anything is written, with what to do instead: an output folder that
    holds files fluxopt did not write, a busy or half-published ledger, months out of
    order, an unreadable ledger file.
    """


class InvalidInputError(FluxoptError):
    """An input failed validation; carries every problem found, not just the first."""

    def __init__(self, what: str, problems: list[Problem]) -> None:
        self.what = what
        self.problems = list(problems)
        errors = [p for p in self.problems if p.severity == "error"]
        warnings = len(self.problems) - len(errors)
        lines = [
            f"{what} is invalid: {len(errors)} error(s)"
            + (f", {warnings} warning(s)" if warnings else "")
        ]
        lines.extend(f"  {p}" for p in self.problems)
        super().__init__("\n".join(lines))

    @property
    def errors(self) -> list[Problem]:
        """The problems that stop the run."""
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        """The problems reported but tolerated."""
        return [p for p in self.problems if p.severity == "warning"]
