"""Problems found in an input, collected first and raised once.

Every check appends :class:`Problem` entries to a :class:`ProblemLog`; when all checks have
run, :meth:`ProblemLog.raise_if_errors` raises one :class:`InvalidInputError` that lists each
problem with its table, row, column and a hint on how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """One problem in the input.

    ``row`` is the 1-based data row in the table's file (the header is not counted), so
    that row 1 is the first line after the header; ``key`` repeats the row's identifier
    when it has one.
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

    def __str__(self) -> str:
        text = f"[{self.severity}] {self.location()}: {self.message}"
        return text + (f" — hint: {self.hint}" if self.hint else "")


@dataclass
class ProblemLog:
    """An ordered collection of problems, errors and warnings alike."""

    problems: list[Problem] = field(default_factory=list)

    def add(self, problem: Problem) -> None:
        """Record one problem."""
        self.problems.append(problem)

    def error(self, table: str, message: str, hint: str = "", **where: object) -> None:
        """Record an error at ``where`` (row, column, key)."""
        self.add(Problem(table=table, message=message, hint=hint, **where))  # type: ignore[arg-type]

    def warning(self, table: str, message: str, hint: str = "", **where: object) -> None:
        """Record a warning at ``where`` (row, column, key)."""
        self.add(
            Problem(table=table, message=message, hint=hint, severity="warning", **where)  # type: ignore[arg-type]
        )

    def extend(self, problems: Iterable[Problem]) -> None:
        """Record several problems."""
        self.problems.extend(problems)

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


class FluxoptError(Exception):
    """Base of the errors fluxopt reports to the user as a short message."""


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
