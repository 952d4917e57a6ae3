r"""The one expression language of fluxopt: checked once against an allow-list, then vectorised.

Every expression a user file holds (a grid criterion, a constraint-set filter, anything a
scenario names) is read by :func:`parse_expression` and nothing else. The text is parsed with
Python's :mod:`ast` and every node is checked against an allow-list *before* anything is
evaluated; what passes is compiled into a tree of small functions over whole columns
(:mod:`fluxopt.rules.operations`). Nothing is ever handed to ``eval``, ``compile`` or
``DataFrame.eval``.

Allowed:

- names that are exactly one of the columns of the table the expression applies to (plain
  ASCII identifiers: a character outside ASCII, such as a Cyrillic ``а`` that looks like a
  Latin ``a`` or a full-width letter that Unicode folds into one, is refused and its code
  point shown);
- literals: numbers (whole numbers up to :math:`2^{53}`), ``'text'`` and ``True``/``False``;
- comparisons ``== != < <= > >=``, chained as in ``1 <= rooms <= 3``;
- ``and``, ``or``, ``not`` and their pandas spellings ``&``, ``|``, ``~`` (with the
  precedence of ``and``/``or``, as pandas gives them);
- arithmetic ``+ - * / // %``, unary minus, and ``x ** n`` for a whole literal ``n`` from 0
  to :attr:`Limits.exponent`;
- ``x in [...]`` and ``x not in [...]`` with a literal list (or tuple) of at most
  :attr:`Limits.items` literals;
- parentheses, and the functions of :data:`~fluxopt.rules.operations.FUNCTIONS` (``abs``,
  ``min``, ``max``, ``clip``, ``floor``, ``ceil``, ``sqrt``, ``log``, ``isna``, ``notna``),
  called by name with positional arguments.

Everything else is refused: attributes (``x.y``, hence every method), subscripts, names with
a double underscore, lambdas, comprehensions, starred arguments, f-strings and bytes,
``:=``, ``if``/``else``, dictionaries and sets, keyword arguments, calls to anything else,
``@`` (pandas' local variables and the matrix product), backticks, comments, and invisible
bidirectional-control characters. An expression is at most :attr:`Limits.length`
characters, :attr:`Limits.nodes` nodes and :attr:`Limits.depth` levels deep; with those caps
and no repetition of text, evaluating it costs time and memory linear in the rows.

A refused expression raises :class:`ExpressionError` with the reason, the exact fragment of
the text at fault (from the node's position) and a hint; the loaders turn it into a
:class:`~fluxopt.schema.problems.Problem` located by file and key.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from fluxopt.rules import operations as ops
from fluxopt.rules.allowlist import Compiler, Evaluator
from fluxopt.rules.source import LIMITS, ExpressionError, Limits, Source, measure

__all__ = [
    "LIMITS",
    "Expression",
    "ExpressionError",
    "Limits",
    "expression_problems",
    "parse_expression",
]


@dataclass(frozen=True, eq=False)
class Expression:
    """A checked expression, compiled once; evaluate it on any table holding its columns."""

    text: str
    names: tuple[str, ...]
    """The columns it reads, in order of first use."""
    run: Evaluator

    def evaluate(self, frame: pd.DataFrame) -> Any:
        """The value over ``frame``: a Series aligned with it, or a scalar.

        Raises :class:`~fluxopt.rules.operations.EvaluationError` when the table lacks a
        column or the values do not fit the operations (text compared with a number).
        """
        with np.errstate(all="ignore"):
            try:
                return self.run(frame)
            except ops.EvaluationError:
                raise
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise ops.EvaluationError(f"{type(exc).__name__}: {exc}") from exc

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """One true/false per row of ``frame``; missing counts as false (a filter)."""
        return ops.as_mask(self.evaluate(frame), len(frame))

    def unknown(self, columns: Collection[str]) -> list[ExpressionError]:
        """One error per name that is not one of ``columns``, with the closest as a hint."""
        known = sorted(columns)
        errors = []
        for name in self.names:
            if name in columns:
                continue
            close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
            hint = (
                "did you mean " + " or ".join(repr(c) for c in close) + "?"
                if close
                else "the columns this expression may use: " + ", ".join(known)
            )
            errors.append(ExpressionError(f"unknown column {name!r}", "", hint))
        return errors


def parse_expression(
    text: str, columns: Collection[str] | None = None, *, limits: Limits = LIMITS
) -> Expression:
    """Check and compile ``text``; with ``columns``, every name must be one of them.

    Raises :class:`ExpressionError` for the first problem (see :func:`expression_problems`
    for all of them). The compiled tree is cached by text, so that reading the same
    expression again costs nothing.
    """
    expression = _compiled(text, limits)
    if columns is not None:
        unknown = expression.unknown(columns)
        if unknown:
            raise unknown[0]
    return expression


def expression_problems(
    text: str, columns: Collection[str] | None = None, *, limits: Limits = LIMITS
) -> list[ExpressionError]:
    """Every problem of ``text``: the refusal of its form, else each unknown name."""
    try:
        expression = _compiled(text, limits)
    except ExpressionError as exc:
        return [exc]
    return [] if columns is None else expression.unknown(columns)


@lru_cache(maxsize=1024)
def _compiled(text: str, limits: Limits) -> Expression:
    source = Source.read(text, limits)
    tree = source.parse()
    measure(tree, source, limits)
    compiler = Compiler(source, limits)
    run = compiler.compile(tree.body)
    compiler.raise_refused()
    return Expression(source.text, tuple(compiler.names), run)
