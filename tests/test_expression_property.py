"""Property: any expression holding a forbidden node is refused, and nothing is evaluated.

Hypothesis builds allowed expressions (columns, literals, comparisons, and/or/not,
arithmetic, the named functions) and plants in them one forbidden construct (attribute,
subscript, lambda, comprehension, call of an unknown or dunder name, walrus, starred
argument, f-string, ``@``, backticks, dictionary, ``if``/``else``, ``is``, keyword argument,
large exponent, text arithmetic, look-alike letter). Each must be refused by the parser, by
the filter evaluator without its table being touched, and by a rule set at load.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from fluxopt.constraints.ruleset import ConstraintSet
from fluxopt.rules import ExpressionError, parse_expression
from fluxopt.rules import operations as ops
from fluxopt.rules.filters import filter_mask
from fluxopt.schema.problems import FluxoptError

COLUMNS = ("qpv", "fragile", "rooms", "floor", "epci", "rent", "lec_applies")
"""Unit columns, so that a planted expression is otherwise a valid quota scope."""

columns = st.sampled_from(COLUMNS)
literals = st.one_of(
    st.integers(-50, 50).map(str),
    st.floats(0, 100, allow_nan=False).map(lambda x: f"{x:.2f}"),
    st.sampled_from(["True", "False"]),
)
text_tests = st.tuples(columns, st.sampled_from(["'T3'", "'200046977'"])).map(
    lambda t: f"({t[0]} == {t[1]})"
)
leaves = st.one_of(columns, literals, text_tests)


def combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(
        children,
        st.sampled_from(["and", "or", "&", "|", "==", "!=", "<", ">=", "+", "-", "*", "/"]),
        children,
    ).map(lambda t: f"({t[0]} {t[1]} {t[2]})")
    unary = st.tuples(st.sampled_from(["not ", "-", "~"]), children).map(
        lambda t: f"({t[0]}({t[1]}))"
    )
    calls = st.tuples(st.sampled_from(["abs", "floor", "isna"]), children).map(
        lambda t: f"{t[0]}({t[1]})"
    )
    return st.one_of(binary, unary, calls)


allowed = st.recursive(leaves, combine, max_leaves=6)

LOOK_ALIKES = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "p": "\u0440", "r": "\uff52"}


def look_alike(name: str) -> str | None:
    for letter, other in LOOK_ALIKES.items():
        if letter in name:
            return name.replace(letter, other, 1)
    return None


forbidden = st.one_of(
    st.tuples(columns, st.sampled_from(["__class__", "real", "values", "str", "sum"])).map(
        lambda t: f"{t[0]}.{t[1]}"
    ),
    st.tuples(columns, st.sampled_from(["sum", "upper", "mean", "astype"])).map(
        lambda t: f"{t[0]}.{t[1]}()"
    ),
    st.tuples(columns, st.integers(0, 9)).map(lambda t: f"{t[0]}[{t[1]}]"),
    allowed.map(lambda x: f"(lambda: {x})"),
    columns.map(lambda c: f"[v for v in {c}]"),
    columns.map(lambda c: f"abs(v for v in {c})"),
    st.tuples(
        st.sampled_from(["eval", "exec", "open", "getattr", "where", "len", "print", "sum"]),
        allowed,
    ).map(lambda t: f"({t[0]}({t[1]}))"),
    st.sampled_from(["__import__('os')", "__builtins__", "__class__", "__dict__"]),
    st.tuples(columns, allowed).map(lambda t: f"({t[0]} := {t[1]})"),
    columns.map(lambda c: f"abs(*{c})"),
    columns.map(lambda c: f"f'{{{c}}}'"),
    columns.map(lambda c: f"@{c}"),
    columns.map(lambda c: f"{c} @ {c}"),
    columns.map(lambda c: f"`{c}`"),
    allowed.map(lambda x: f"{{'k': {x}}}"),
    st.tuples(allowed, columns, allowed).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
    columns.map(lambda c: f"({c} is None)"),
    allowed.map(lambda x: f"abs(x={x})"),
    st.tuples(columns, st.integers(5, 10**6)).map(lambda t: f"{t[0]} ** {t[1]}"),
    st.tuples(columns, columns).map(lambda t: f"{t[0]} ** {t[1]}"),
    st.integers(1, 10**9).map(lambda n: f"'a' * {n}"),
    columns.map(lambda c: f"{c} == [1, 2]"),
    columns.map(lambda c: f"{c} in {c}"),
    columns.map(look_alike).filter(lambda c: c is not None).map(str),
)


@st.composite
def planted(draw: st.DrawFn) -> str:
    """An allowed expression with one forbidden construct planted in it."""
    bad = draw(forbidden)
    good = draw(allowed)
    shape = draw(st.integers(0, 4))
    if shape == 0:
        return bad
    if shape == 1:
        return f"{good} and ({bad})"
    if shape == 2:
        return f"({bad}) or {good}"
    if shape == 3:
        return f"not ({bad})"
    return f"abs({bad}) > {good}"


class Trap:
    """A table whose every use fails the test: refused text must never reach a table."""

    touched: list[str]

    def __init__(self) -> None:
        object.__setattr__(self, "touched", [])

    def __getattr__(self, name: str) -> Any:
        self.touched.append(name)
        raise AssertionError(f"the table was read ({name})")

    def __getitem__(self, key: Any) -> Any:
        self.touched.append(f"[{key!r}]")
        raise AssertionError("the table was read")

    def __len__(self) -> int:
        self.touched.append("len")
        return 3


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=planted())
def test_planted_forbidden_nodes_are_refused_and_nothing_runs(
    text: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    for name in ("column", "arithmetic", "compare", "member", "call", "logical_not"):
        original = getattr(ops, name)

        def spy(*args: Any, _name: str = name, _original: Any = original) -> Any:
            calls.append(_name)
            return _original(*args)

        monkeypatch.setattr(ops, name, spy)

    with pytest.raises(ExpressionError):
        parse_expression(text)

    trap = Trap()
    with pytest.raises(FluxoptError, match="is refused"):
        filter_mask(trap, text, "units")  # type: ignore[arg-type]
    assert trap.touched == []

    quota = {"name": "q", "per": "epci", "scope": text, "share": "q1", "at_least": 0.25}
    with pytest.raises(ValidationError) as caught:
        ConstraintSet.model_validate({"name": "x", "families": {"quotas": [quota]}})
    assert [e["type"] for e in caught.value.errors()] == ["expression"]
    assert calls == []


@settings(max_examples=200, deadline=None)
@given(text=allowed)
def test_allowed_expressions_pass_the_checks(text: str) -> None:
    expression = parse_expression(text)
    assert set(expression.names) <= set(COLUMNS)
