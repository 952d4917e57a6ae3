"""Checks of a grid before anything is evaluated: structure and expressions.

Every problem is recorded in a :class:`~fluxopt.schema.problems.ProblemLog` with the grid
file as its table and the entry name as its key (``transfer.<name>`` for the transfer
scheme), so that the caller raises once with the full list.

Structure: entry names are unique within a scheme; every group a member names is declared;
a scheme scores something; the ordered block dominates the additive part (its base
:math:`b` exceeds the additive range :math:`R`, which must be bounded).

Expressions: each parses as a pandas expression (Python syntax, ``and``/``or``/``not``
allowed), calls only the functions :meth:`pandas.DataFrame.eval` supports, and names only
known columns: the declared applicant columns, the derived ones, and any extra column of
the table being scored. An unknown name comes with the closest known names as a hint.
"""

from __future__ import annotations

import ast
import difflib
import math
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Literal

from fluxopt.schema.declaration import schema
from fluxopt.schema.problems import ProblemLog
from fluxopt.scoring.grid import Grid, Scheme

DERIVED_COLUMNS: tuple[str, ...] = tuple(schema()["applicants"].derived)
"""Applicant columns computed by :func:`fluxopt.derive.derive_applicants` (declared in
``tables.yaml`` under ``derived``)."""

EVAL_FUNCTIONS: frozenset[str] = frozenset(
    {
        "sin",
        "cos",
        "tan",
        "exp",
        "log",
        "expm1",
        "log1p",
        "sqrt",
        "sinh",
        "cosh",
        "tanh",
        "arcsin",
        "arccos",
        "arctan",
        "arccosh",
        "arcsinh",
        "arctanh",
        "abs",
        "log10",
        "floor",
        "ceil",
        "arctan2",
    }
)
"""Functions a pandas expression may call (:meth:`pandas.DataFrame.eval`)."""

ExpressionKind = Literal["flag", "number"]
EXAMPLE_FLAG = "household_size >= 4 and rooms_now <= 2"
EXAMPLE_NUMBER = "housing_cost_now * 12 / annual_income"


@dataclass(frozen=True)
class ExpressionEntry:
    """One expression of a grid, where it sits and what it must give."""

    scheme: str
    name: str
    expression: str
    kind: ExpressionKind

    @property
    def key(self) -> str:
        """The entry's name as problems show it (``transfer.<name>`` in the transfer scheme)."""
        return self.name if self.scheme == "main" else f"{self.scheme}.{self.name}"


def declared_columns() -> tuple[str, ...]:
    """Applicant columns of the data model, declared then derived."""
    return (*schema()["applicants"].columns, *DERIVED_COLUMNS)


def expressions(grid: Grid) -> Iterator[ExpressionEntry]:
    """Every enabled expression of the grid, scheme by scheme, in grid order."""
    for label, scheme in grid.schemes().items():
        for criterion in scheme.ordered.active if scheme.ordered else ():
            yield ExpressionEntry(label, criterion.name, criterion.expression, "flag")
        for item in scheme.active_criteria:
            yield ExpressionEntry(label, item.name, item.expression, "flag")
        for bracket in scheme.active_brackets:
            yield ExpressionEntry(label, bracket.name, bracket.expression, "number")
        if scheme.wait is not None:
            yield ExpressionEntry(label, scheme.wait.name, scheme.wait.expression, "number")
        if scheme.scored_refusal is not None:
            refusal = scheme.scored_refusal
            yield ExpressionEntry(label, refusal.name, refusal.expression, "number")


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
    """Column names an expression refers to (function names and attributes excluded)."""
    tree = ast.parse(expression.strip(), mode="eval")
    called = {
        id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)
    }  # function position
    return {
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and id(node) not in called
    }


def check_expression(
    file: str, entry: ExpressionEntry, known: Collection[str], log: ProblemLog
) -> None:
    """Record the problems of one expression: syntax, unsupported calls, unknown columns."""
    example = EXAMPLE_FLAG if entry.kind == "flag" else EXAMPLE_NUMBER
    text = entry.expression.strip()
    if not text:
        log.error(
            file,
            "expression is empty",
            f"write a pandas expression such as `{example}`",
            key=entry.key,
        )
        return
    if "@" in text or "`" in text:
        log.error(
            file,
            f"expression {text!r} uses '@' or backticks",
            "grids refer to applicant columns by their plain names; local variables and "
            "quoted names are not supported",
            key=entry.key,
        )
        return
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        where = f" at character {exc.offset}" if exc.offset else ""
        log.error(
            file,
            f"expression {text!r} is not valid{where}: {exc.msg}",
            f"write a pandas expression such as `{example}` (and, or, not, ==, <=, +, *)",
            key=entry.key,
        )
        return
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id not in EVAL_FUNCTIONS
        ):
            log.error(
                file,
                f"expression {text!r} calls {node.func.id}(), which pandas expressions "
                "do not support",
                "use operators or one of: " + ", ".join(sorted(EVAL_FUNCTIONS)),
                key=entry.key,
            )
    for name in sorted(referenced_names(text)):
        if name not in known:
            log.error(
                file,
                f"expression {text!r} uses unknown column {name!r}",
                _unknown_hint(name, known),
                key=entry.key,
            )


def _unknown_hint(name: str, known: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    return (
        "use an applicant column of the data reference, a derived one ("
        + ", ".join(DERIVED_COLUMNS)
        + "), or add the column to the applicants table"
    )


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
