"""Rules read from user files: the one safe expression language and the filters built on it.

- :mod:`fluxopt.rules.expression`: :func:`parse_expression` checks a text against the
  allow-list once and compiles it for vectorised evaluation;
- :mod:`fluxopt.rules.filters`: the columns each kind of filter may name, and
  :func:`filter_mask`, which evaluates a filter over a table.
"""

from fluxopt.rules.expression import (
    LIMITS,
    Expression,
    ExpressionError,
    Limits,
    expression_problems,
    parse_expression,
)

__all__ = [
    "LIMITS",
    "Expression",
    "ExpressionError",
    "Limits",
    "expression_problems",
    "parse_expression",
]
