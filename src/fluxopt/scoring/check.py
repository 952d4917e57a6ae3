"""Checks of a grid before anything is evaluated: structure and expressions.

Every problem is recorded in a :class:`~fluxopt.schema.problems.ProblemLog` with the grid
file as its table and the entry name as its key (``transfer.<name>`` for the transfer
scheme), so that the caller raises once with the full list.

Structure: entry names are unique within a scheme; every group a member names is declared;
a scheme scores something; the ordered block dominates the additive part (its base
:math:`b` exceeds the additive range :math:`R`, which must be bounded).

Expressions: each is read by the one expression language of fluxopt
(:mod:`fluxopt.rules.expression`: an allow-list of columns, literals, operators and a few
named functions, never ``eval``) and names only known columns: the declared applicant
columns, the derived ones, and any extra column of the table being scored. A refused
expression is reported with the part at fault and its key, ``criteria.<name>.expression``
(``transfer.`` before it in the transfer scheme); an unknown name comes with the closest
known names as a hint.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Literal

from fluxopt.rules.expression import ExpressionError, expression_problems, parse_expression
from fluxopt.schema.declaration import schema
from fluxopt.schema.problems import ProblemLog
from fluxopt.scoring.grid import Grid, Scheme

DERIVED_COLUMNS: tuple[str, ...] = tuple(schema()["applicants"].derived)
"""Applicant columns computed by :func:`fluxopt.derive.derive_applicants` (declared in
``tables.yaml`` under ``derived``)."""

ExpressionKind = Literal["flag", "number"]


@dataclass(frozen=True)
class ExpressionEntry:
    """One expression of a grid, where it sits and what it must give."""

    scheme: str
    section: str
    name: str
    expression: str
    kind: ExpressionKind

    @property
    def key(self) -> str:
        """Where the expression sits, as problems show it: ``criteria.dalo.expression``.

        Entries of a list are named (``criteria``, ``brackets``, ``ordered.criteria``); the
        single entries are their section (``wait.expression``); the transfer scheme's keys
        start with ``transfer.``.
        """
        prefix = "" if self.scheme == "main" else f"{self.scheme}."
        if self.section in ("wait", "refusal"):
            return f"{prefix}{self.section}.expression"
        return f"{prefix}{self.section}.{self.name}.expression"


def declared_columns() -> tuple[str, ...]:
    """Applicant columns of the data model, declared then derived."""
    return (*schema()["applicants"].columns, *DERIVED_COLUMNS)


def expressions(grid: Grid) -> Iterator[ExpressionEntry]:
    """Every enabled expression of the grid, scheme by scheme, in grid order."""
    for label, scheme in grid.schemes().items():
        for criterion in scheme.ordered.active if scheme.ordered else ():
            yield ExpressionEntry(
                label, "ordered.criteria", criterion.name, criterion.expression, "flag"
            )
        for item in scheme.active_criteria:
            yield ExpressionEntry(label, "criteria", item.name, item.expression, "flag")
        for bracket in scheme.active_brackets:
            yield ExpressionEntry(label, "brackets", bracket.name, bracket.expression, "number")
        if scheme.wait is not None:
            wait = scheme.wait
            yield ExpressionEntry(label, "wait", wait.name, wait.expression, "number")
        if scheme.scored_refusal is not None:
            refusal = scheme.scored_refusal
            yield ExpressionEntry(label, "refusal", refusal.name, refusal.expression, "number")


def check_grid(grid: Grid, log: ProblemLog, columns: Collection[str] | None = None) -> None:
    """Record every structural and expression problem of ``grid`` in ``log``.

    ``columns`` are the names an expression may use; by default the declared and derived
    applicant columns (pass the scored table's columns to allow its extra ones).
    """
    known = set(declared_columns()) if columns is None else set(columns)
    for label, scheme in grid.schemes().items():
        _check_structure(grid.file, label, scheme, log)
    for entry in expressions(grid):
        check_expression(grid.file, entry, known, log)


def referenced_names(expression: str) -> set[str]:
    """Column names an expression reads (empty when it is refused)."""
    try:
        return set(parse_expression(expression).names)
    except ExpressionError:
        return set()


def check_expression(
    file: str, entry: ExpressionEntry, known: Collection[str], log: ProblemLog
) -> None:
    """Record the problems of one expression: its form (the allow-list), unknown columns."""
    for error in expression_problems(entry.expression, known):
        log.add(error.problem(file, entry.key))


def _check_structure(file: str, label: str, scheme: Scheme, log: ProblemLog) -> None:
    prefix = "" if label == "main" else f"{label}."
    names = scheme.entry_names
    for name in sorted({n for n in names if names.count(n) > 1}):
        log.error(
            file,
            f"entry name {name!r} is used more than once",
            "give each entry its own name (they become breakdown columns)",
            key=prefix + name,
        )
    if not names:
        log.error(
            file,
            f"the {label} scheme scores nothing",
            "add criteria, brackets, an ordered block or a wait entry",
            key=prefix.rstrip(".") or None,
        )
    members = [(c.name, c.group) for c in scheme.active_criteria]
    members += [(b.name, b.group) for b in scheme.active_brackets]
    used = set()
    for name, group in members:
        if group is None:
            continue
        used.add(group)
        if group not in scheme.groups:
            close = difflib.get_close_matches(group, list(scheme.groups), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"declare it under groups: {group}:"
            log.error(file, f"group {group!r} is not declared", hint, key=prefix + name)
    for group in sorted(set(scheme.groups) - used):
        log.warning(
            file,
            f"group {group!r} has no member",
            "remove it or assign criteria to it",
            key=prefix + group,
        )
    if scheme.ordered is not None:
        _check_dominance(file, prefix, scheme, log)


def _check_dominance(file: str, prefix: str, scheme: Scheme, log: ProblemLog) -> None:
    assert scheme.ordered is not None
    low, high = scheme.additive_range()
    key = prefix + "ordered"
    if math.isinf(low) or math.isinf(high):
        log.error(
            file,
            "the ordered block needs a bounded tie-break part, but the wait or refusal "
            "points are unbounded",
            "give wait a cap and refusal a lowest value, so that a higher criterion always "
            "outranks any combination of lower ones",
            key=key,
        )
        return
    base = scheme.ordered_base()
    if base <= high - low:
        log.error(
            file,
            f"ordered base {base:g} does not exceed the range {high - low:g} of the "
            "additive points, so a lower criterion could outrank a higher one",
            f"set base above {high - low:g} or use base: auto",
            key=key,
        )
    if not scheme.ordered.active:
        log.error(
            file,
            "the ordered block has no enabled criterion",
            "enable one or remove the block",
            key=key,
        )
