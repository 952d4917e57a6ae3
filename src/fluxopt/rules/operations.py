"""What each construct of the expression language does to whole columns.

The checked expression (:mod:`fluxopt.rules.expression`) is compiled into a tree of small
functions, each calling one of the operations below on pandas Series (or plain scalars for
literals), so that the results are those pandas itself gives: Kleene logic on nullable
true/false columns (``NA and False`` is ``False``, ``NA and True`` is ``NA``), ``NaN`` through
arithmetic, elementwise comparisons with numbers, text and dates.

Arithmetic refuses text operands before computing anything: ``'a' * 1000000`` would
otherwise repeat the text of every row. Every operation takes time and memory linear in
the number of rows, which, with the caps on the size of an expression, bounds what one may
cost.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from fluxopt.schema.problems import FluxoptError


class EvaluationError(FluxoptError):
    """An expression that passed the checks cannot be computed on the given table."""


BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}
"""Arithmetic operators by symbol."""

COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
"""Ordering and equality comparisons by symbol."""

_NUMERIC_INFERRED = frozenset(
    {"integer", "floating", "mixed-integer-float", "boolean", "decimal", "empty"}
)


def column(frame: pd.DataFrame, name: str) -> pd.Series:
    """The column ``name`` of ``frame``; a clear error when the table lacks it."""
    if name not in frame.columns:
        raise EvaluationError(
            f"column {name!r} is not in the table (its columns: "
            f"{', '.join(map(str, frame.columns))})"
        )
    return frame[name]


def numeric(value: Any, symbol: str) -> Any:
    """``value`` when arithmetic may use it (numbers, true/false, dates); refuse text."""
    if isinstance(value, pd.Series):
        dtype = value.dtype
        if (
            ptypes.is_bool_dtype(dtype)
            or ptypes.is_numeric_dtype(dtype)
            or ptypes.is_datetime64_any_dtype(dtype)
            or ptypes.is_timedelta64_dtype(dtype)
        ):
            return value
        if (
            ptypes.is_object_dtype(dtype)
            and pd.api.types.infer_dtype(value, skipna=True) in _NUMERIC_INFERRED
        ):
            return value
        raise EvaluationError(
            f"'{symbol}' needs numbers, but column {value.name!r} holds {dtype} values"
        )
    if isinstance(value, str | bytes):
        raise EvaluationError(f"'{symbol}' needs numbers, not text")
    return value


def arithmetic(symbol: str, left: Any, right: Any) -> Any:
    """``left <symbol> right`` on numbers (or columns of numbers)."""
    return BINARY[symbol](numeric(left, symbol), numeric(right, symbol))


def negate(value: Any) -> Any:
    """Unary minus."""
    return -numeric(value, "-")


def plus(value: Any) -> Any:
    """Unary plus (checks the operand is a number)."""
    return +numeric(value, "+")


def logical_not(value: Any) -> Any:
    """``not x`` / ``~x``: elementwise negation (missing stays missing)."""
    if isinstance(value, bool | np.bool_):
        return not value
    return ~value


def logical_and(left: Any, right: Any) -> Any:
    """``x and y`` / ``x & y``: elementwise (Kleene logic on nullable columns)."""
    return operator.and_(left, right)


def logical_or(left: Any, right: Any) -> Any:
    """``x or y`` / ``x | y``: elementwise (Kleene logic on nullable columns)."""
    return operator.or_(left, right)


def member(value: Any, items: tuple[Any, ...], negated: bool) -> Any:
    """``x in [...]`` / ``x not in [...]``: a missing ``x`` is in no list."""
    if isinstance(value, pd.Series):
        found = value.isin(items)
        return ~found if negated else found
    found_scalar = value in items
    return not found_scalar if negated else found_scalar


def compare(symbol: str, left: Any, right: Any) -> Any:
    """``left <symbol> right``; ``==``/``!=`` against text test membership, as pandas does."""
    if symbol in ("==", "!=") and (isinstance(left, str) or isinstance(right, str)):
        if isinstance(left, str) and isinstance(right, str):
            return COMPARISONS[symbol](left, right)
        value, text = (right, left) if isinstance(left, str) else (left, right)
        return member(value, (text,), negated=symbol == "!=")
    return COMPARISONS[symbol](left, right)


@dataclass(frozen=True)
class Function:
    """A function an expression may call: its arity, what it does, and its implementation."""

    name: str
    signature: str
    min_args: int
    max_args: int
    doc: str
    run: Callable[..., Any]
    numbers_only: bool = True
    constant_bounds: bool = False
    """Arguments after the first must be number literals (``clip``)."""


def _elementwise(reduce: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def run(*values: Any) -> Any:
        result = values[0]
        for value in values[1:]:
            result = reduce(result, value)
        return result

    return run


def _clip(value: Any, low: float, high: float) -> Any:
    if isinstance(value, pd.Series):
        return value.clip(lower=low, upper=high)
    return min(max(value, low), high)


def _isna(value: Any) -> Any:
    if isinstance(value, pd.Series):
        return value.isna()
    return bool(pd.isna(value))


def _notna(value: Any) -> Any:
    if isinstance(value, pd.Series):
        return value.notna()
    return not bool(pd.isna(value))


def _ufunc(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def run(value: Any) -> Any:
        return function(value)

    return run


FUNCTIONS: dict[str, Function] = {
    f.name: f
    for f in (
        Function("abs", "abs(x)", 1, 1, "absolute value of x", _ufunc(np.abs)),
        Function(
            "min",
            "min(x, y, ...)",
            2,
            8,
            "smallest of 2 to 8 values, row by row (missing if one is)",
            _elementwise(np.minimum),
        ),
        Function(
            "max",
            "max(x, y, ...)",
            2,
            8,
            "largest of 2 to 8 values, row by row (missing if one is)",
            _elementwise(np.maximum),
        ),
        Function(
            "clip",
            "clip(x, low, high)",
            3,
            3,
            "x held within [low, high]; low and high are number literals",
            _clip,
            constant_bounds=True,
        ),
        Function("floor", "floor(x)", 1, 1, "largest whole number not above x", _ufunc(np.floor)),
        Function("ceil", "ceil(x)", 1, 1, "smallest whole number not below x", _ufunc(np.ceil)),
        Function("sqrt", "sqrt(x)", 1, 1, "square root of x (missing below 0)", _ufunc(np.sqrt)),
        Function("log", "log(x)", 1, 1, "natural logarithm of x (missing below 0)", _ufunc(np.log)),
        Function(
            "isna",
            "isna(x)",
            1,
            1,
            "true where x is missing (an empty cell)",
            _isna,
            numbers_only=False,
        ),
        Function("notna", "notna(x)", 1, 1, "true where x is present", _notna, numbers_only=False),
    )
}
"""The functions an expression may call, by name (documented in the data reference)."""


def call(function: Function, arguments: Sequence[Any]) -> Any:
    """Apply ``function``, checking first that arithmetic arguments are numbers."""
    if function.numbers_only:
        arguments = [numeric(value, function.name + "()") for value in arguments]
    return function.run(*arguments)


def as_mask(result: Any, rows: int) -> np.ndarray:
    """A filter's result as one true/false per row: missing counts as false.

    A scalar (an expression without columns) holds for every row or none; a column of
    true/false (nullable or not) is taken as it is, missing values false; any other column
    counts its non-zero, non-empty values as true, as a Python truth test would.
    """
    if isinstance(result, bool | np.bool_ | int | float | np.integer | np.floating):
        truth = bool(result) and not np.isnan(result)
        return np.full(rows, truth, dtype=bool)
    series = result if isinstance(result, pd.Series) else pd.Series(result)
    if series.dtype == bool:
        return series.to_numpy(dtype=bool)
    if ptypes.is_bool_dtype(series.dtype) and isinstance(series.dtype, pd.BooleanDtype):
        return series.to_numpy(dtype=bool, na_value=False)
    values = series.to_numpy(dtype=object)
    missing = pd.isna(values)
    out = np.zeros(len(values), dtype=bool)
    out[~missing] = [bool(v) for v in values[~missing]]
    return out
