"""The allow-list of the expression language: every node checked, then compiled.

:class:`Compiler` walks the parsed tree once. Each allowed node becomes an evaluator, a
small function from the table to a column or a scalar that calls one operation of
:mod:`fluxopt.rules.operations`; each other node is recorded as refused (with its fragment)
and its children are still walked, so that the error names the earliest, smallest part at
fault (``x.__class__`` rather than the whole call built on it).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

import pandas as pd

from fluxopt.rules import operations as ops
from fluxopt.rules.source import GRAMMAR_HINT, ExpressionError, Limits, Source

Evaluator = Callable[[pd.DataFrame], Any]
"""A compiled node: from the table to a column (Series) or a scalar."""

LARGEST_INTEGER = 2**53
"""Largest whole-number literal (exact as a float)."""


FORBIDDEN: dict[type[ast.AST], tuple[str, str]] = {
    ast.Attribute: (
        "attribute access is not allowed (no methods, no attributes)",
        "use the functions " + ", ".join(ops.FUNCTIONS) + " and operators",
    ),
    ast.Subscript: ("indexing with [...] is not allowed", "compare the column itself"),
    ast.Slice: ("slices are not allowed", "compare the column itself"),
    ast.Lambda: ("lambda is not allowed", "write the condition itself"),
    ast.ListComp: ("comprehensions are not allowed", "use `in [...]` with a literal list"),
    ast.SetComp: ("comprehensions are not allowed", "use `in [...]` with a literal list"),
    ast.DictComp: ("comprehensions are not allowed", "use `in [...]` with a literal list"),
    ast.GeneratorExp: ("comprehensions are not allowed", "use `in [...]` with a literal list"),
    ast.Starred: ("starred arguments (*x) are not allowed", "list the arguments"),
    ast.JoinedStr: ("f-strings are not allowed", "write plain 'text'"),
    ast.FormattedValue: ("f-strings are not allowed", "write plain 'text'"),
    ast.NamedExpr: ("assignment (:=) is not allowed", "use == to compare"),
    ast.IfExp: (
        "conditional expressions (a if c else b) are not allowed",
        "use a criterion per case",
    ),
    ast.Dict: ("dictionaries are not allowed", "use `in [...]` with a literal list"),
    ast.Await: ("await is not allowed", ""),
    ast.Yield: ("yield is not allowed", ""),
    ast.YieldFrom: ("yield is not allowed", ""),
}
"""The reason and hint given for each kind of node that is never allowed."""

SYMBOLS: dict[type[ast.AST], str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
}


def _literal(value: Any) -> Evaluator:
    return lambda frame: value


def _nothing(frame: pd.DataFrame) -> Any:
    raise AssertionError("a refused expression is never evaluated")


class Compiler:
    """Checks every node and builds the evaluator tree; collects every refused part."""

    def __init__(self, source: Source, limits: Limits) -> None:
        self.source = source
        self.limits = limits
        self.names: dict[str, None] = {}
        self.refused: list[tuple[int, int, ExpressionError]] = []
        self._handlers: dict[type[ast.AST], Callable[[Any], Evaluator]] = {
            ast.Constant: self._constant,
            ast.Name: self._name,
            ast.BoolOp: self._bool_op,
            ast.UnaryOp: self._unary_op,
            ast.BinOp: self._bin_op,
            ast.Compare: self._compare,
            ast.Call: self._call,
            ast.List: self._list,
            ast.Tuple: self._list,
            ast.Set: self._list,
        }

    def raise_refused(self) -> None:
        """Raise the first refused part (earliest, then shortest), counting the others."""
        if not self.refused:
            return
        self.refused.sort(key=lambda item: (item[0], item[1]))
        error = self.refused[0][2]
        others = len(self.refused) - 1
        if others:
            error = ExpressionError(
                f"{error.reason} (and {others} more refused part(s))", error.fragment, error.hint
            )
        raise error

    def refuse(self, node: ast.AST, reason: str, hint: str = "") -> Evaluator:
        """Record ``node`` as refused (its children are still checked); a placeholder."""
        start, end = self.source.span(node)
        error = ExpressionError(reason, self.source.text[start:end], hint)
        self.refused.append((start, end - start, error))
        self._visit_children(node)
        return _nothing

    def _visit_children(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.expr):
                self.compile(child)
            else:
                self._visit_children(child)

    def compile(self, node: ast.expr) -> Evaluator:
        """The evaluator of ``node`` (a placeholder when a part is refused)."""
        handler = self._handlers.get(type(node))
        if handler is None:
            reason, hint = FORBIDDEN.get(
                type(node), (f"{type(node).__name__} is not allowed", GRAMMAR_HINT)
            )
            return self.refuse(node, reason, hint)
        evaluator: Evaluator = handler(node)
        return evaluator

    def _constant(self, node: ast.Constant) -> Evaluator:
        value = node.value
        if isinstance(value, bool | str | float):
            return _literal(value)
        if isinstance(value, int):
            if abs(value) > LARGEST_INTEGER:
                return self.refuse(node, "whole numbers are limited to ±2**53", "use a float")
            return _literal(value)
        if value is None:
            return self.refuse(node, "None is not allowed", "test missing values with isna(x)")
        return self.refuse(node, f"{type(value).__name__} literals are not allowed", GRAMMAR_HINT)

    def _name(self, node: ast.Name) -> Evaluator:
        name = node.id
        if name.startswith("__"):
            return self.refuse(node, "names with a double underscore are not allowed")
        if not (name.isascii() and name.isidentifier()):
            return self.refuse(node, "names are the exact ASCII column names")
        self.names[name] = None
        return lambda frame: ops.column(frame, name)

    def _bool_op(self, node: ast.BoolOp) -> Evaluator:
        combine = ops.logical_and if isinstance(node.op, ast.And) else ops.logical_or
        parts = [self.compile(value) for value in node.values]

        def run(frame: pd.DataFrame) -> Any:
            result = parts[0](frame)
            for part in parts[1:]:
                result = combine(result, part(frame))
            return result

        return run

    def _unary_op(self, node: ast.UnaryOp) -> Evaluator:
        if isinstance(node.op, ast.Not | ast.Invert):
            function: Callable[[Any], Any] = ops.logical_not
        elif self._is_text(node.operand):
            return self.refuse(node, "arithmetic on text is not allowed", GRAMMAR_HINT)
        else:
            function = ops.negate if isinstance(node.op, ast.USub) else ops.plus
        operand = self.compile(node.operand)
        return lambda frame: function(operand(frame))

    def _bin_op(self, node: ast.BinOp) -> Evaluator:
        symbol = SYMBOLS.get(type(node.op))
        if symbol is None:
            return self.refuse(
                node, "this operator is not allowed", "use + - * / // % ** and, or, not"
            )
        if self._is_text(node.left) or self._is_text(node.right):
            return self.refuse(
                node, "arithmetic on text is not allowed", "compare text with == or `in [...]`"
            )
        if symbol == "**":
            exponent = _number(node.right)
            if not (
                isinstance(exponent, int) and 0 <= exponent <= self.limits.exponent
            ) or isinstance(exponent, bool):
                return self.refuse(
                    node,
                    f"'**' takes a whole literal exponent from 0 to {self.limits.exponent}",
                    "write the power as a product, or use a bracket of values",
                )
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda frame: ops.arithmetic(symbol, left(frame), right(frame))

    def _compare(self, node: ast.Compare) -> Evaluator:
        operands = [node.left, *node.comparators]
        steps: list[tuple[str, int]] = []
        lists: dict[int, tuple[Any, ...]] = {}
        for position, op in enumerate(node.ops):
            symbol = SYMBOLS.get(type(op))
            if symbol is None:
                return self.refuse(
                    node, "'is' is not allowed", "use == to compare, isna(x) for missing values"
                )
            if symbol in ("in", "not in"):
                lists[position + 1] = self._items(operands[position + 1])
            steps.append((symbol, position))
        evaluators: list[Evaluator | None] = []
        for position, operand in enumerate(operands):
            if position in lists and position == len(operands) - 1:
                evaluators.append(None)
            elif position in lists:
                evaluators.append(self.refuse(operand, "a list may only follow in / not in"))
            else:
                evaluators.append(self.compile(operand))

        def run(frame: pd.DataFrame) -> Any:
            values = [None if e is None else e(frame) for e in evaluators]
            result: Any = None
            for symbol, position in steps:
                if symbol in ("in", "not in"):
                    step = ops.member(values[position], lists[position + 1], symbol == "not in")
                else:
                    step = ops.compare(symbol, values[position], values[position + 1])
                result = step if result is None else ops.logical_and(result, step)
            return result

        return run

    def _items(self, node: ast.expr) -> tuple[Any, ...]:
        if not isinstance(node, ast.List | ast.Tuple | ast.Set):
            self.refuse(node, "`in` needs a literal list such as ['T1', 'T2']")
            return ()
        if len(node.elts) > self.limits.items:
            self.refuse(
                node,
                f"the list has {len(node.elts):,} items, more than {self.limits.items:,}",
                "use a derived column instead of a long list",
            )
            return ()
        items: list[Any] = []
        for element in node.elts:
            value: Any = _number(element)
            if isinstance(element, ast.Constant) and isinstance(element.value, str):
                value = element.value
            if value is None or (isinstance(value, int) and abs(value) > LARGEST_INTEGER):
                self.refuse(element, "list items must be numbers, 'text' or True/False")
            else:
                items.append(value)
        return tuple(items)

    def _list(self, node: ast.List | ast.Tuple | ast.Set) -> Evaluator:
        return self.refuse(node, "a list may only follow in / not in")

    def _call(self, node: ast.Call) -> Evaluator:
        if not isinstance(node.func, ast.Name):
            return self.refuse(
                node,
                "only the functions " + ", ".join(ops.FUNCTIONS) + " may be called",
                "call one of them by its name",
            )
        name = node.func.id
        function = ops.FUNCTIONS.get(name)
        if name.startswith("__"):
            return self.refuse(node.func, "names with a double underscore are not allowed")
        if function is None:
            self.refuse(
                node.func,
                f"calls {name}(), which is not one of the functions " + ", ".join(ops.FUNCTIONS),
                "use one of those functions, or operators",
            )
            for argument in node.args:
                self.compile(argument)
            for keyword in node.keywords:
                self._visit_children(keyword)
            return _nothing
        for keyword in node.keywords:
            self.refuse(keyword, "keyword arguments are not allowed", "pass arguments by position")
        count = len(node.args)
        if not function.min_args <= count <= function.max_args:
            wanted = (
                str(function.min_args)
                if function.min_args == function.max_args
                else f"{function.min_args} to {function.max_args}"
            )
            return self.refuse(node, f"{name}() takes {wanted} argument(s), not {count}")
        if function.constant_bounds:
            bounds = [_number(arg) for arg in node.args[1:]]
            if any(b is None or isinstance(b, bool) for b in bounds):
                return self.refuse(node, f"the bounds of {name}() must be numbers")
            if bounds[0] > bounds[1]:  # type: ignore[operator]
                return self.refuse(node, f"the low bound of {name}() is above the high one")
            clipped = self.compile(node.args[0])
            low, high = float(bounds[0]), float(bounds[1])  # type: ignore[arg-type]
            return lambda frame: ops.call(function, [clipped(frame), low, high])
        if function.numbers_only:
            for arg in node.args:
                if self._is_text(arg):
                    return self.refuse(arg, f"{name}() needs numbers, not text")
        arguments = [self.compile(arg) for arg in node.args]
        return lambda frame: ops.call(function, [a(frame) for a in arguments])

    @staticmethod
    def _is_text(node: ast.expr) -> bool:
        return isinstance(node, ast.Constant) and isinstance(node.value, str | bytes)


def _number(node: ast.expr) -> int | float | None:
    """The value of a number literal, signed or not (``None`` for anything else)."""
    sign = 1
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1 if isinstance(node.op, ast.USub) else 1
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            return node.value if sign == 1 else None
        return sign * node.value
    return None
