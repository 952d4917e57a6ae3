"""The expression language: what it allows gives pandas' results, what it refuses is located.

Each allowed construct is compared with what ``DataFrame.eval`` (the former evaluator) gives
on small frames with missing values of every kind; each forbidden class is refused at
parse time with the exact fragment at fault; the caps bound what an expression may cost.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fluxopt.constraints.ruleset import ConstraintSet, key_path
from fluxopt.rules import LIMITS, ExpressionError, Limits, parse_expression
from fluxopt.rules.filters import (
    APPLICANT_FILTER,
    HOLDER_FILTER,
    UNIT_FILTER,
    filter_mask,
)
from fluxopt.rules.operations import EvaluationError
from fluxopt.schema.problems import FluxoptError


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    """Six rows: plain and nullable flags, whole numbers with NA, floats with NaN, text."""
    return pd.DataFrame(
        {
            "dalo": [True, False, True, False, True, False],
            "priority": [False, False, True, True, False, True],
            "q1": pd.array([True, None, False, True, None, False], dtype="boolean"),
            "rooms": pd.array([1, 2, None, 4, 5, 3], dtype="Int64"),
            "household_size": [1, 3, 4, 2, 6, 5],
            "income": [12000.0, np.nan, 30000.0, 0.0, 8000.5, 21000.0],
            "cost": [300.0, 450.0, np.nan, 200.0, 0.0, 610.0],
            "kind": pd.Series(["state", "commune", None, "state_agents", "state", "x"]),
            "filed_on": pd.to_datetime(
                ["2024-01-01", "2025-06-30", None, "2023-02-01", "2025-12-31", "2020-01-01"]
            ),
        }
    )


PANDAS_ALIKE = [
    "dalo",
    "not dalo",
    "~dalo",
    "dalo and priority",
    "dalo or priority",
    "dalo & priority",
    "dalo | priority",
    "q1",
    "q1 and dalo",
    "q1 or dalo",
    "not q1",
    "dalo and not q1",
    "priority or dalo and q1",
    "rooms >= 2",
    "rooms >= 1 and household_size >= rooms + 2",
    "household_size >= 4 and rooms <= 2",
    "household_size > 2 & rooms < 5",
    "1 <= rooms <= 4",
    "1 < household_size < rooms + 2 <= 6",
    "rooms == household_size",
    "rooms != 2",
    "income < 15000",
    "cost * 12 / income",
    "cost * 12 / income > 0.3",
    "income // 1000",
    "income % 7",
    "household_size - rooms",
    "-cost + 2",
    "+household_size",
    "cost ** 2",
    "household_size ** 0",
    "(household_size + 1) * (rooms - 1)",
    "kind == 'state'",
    "kind != 'state'",
    "'state' == kind",
    "kind == 'state' or kind == 'state_agents'",
    "kind in ['state', 'state_agents']",
    "kind not in ('state', 'x')",
    "rooms in [1, 2, 5]",
    "household_size not in [1, 2]",
    "kind < 'd'",
    "filed_on < '2025-01-01'",
    "True",
    "dalo == True",
    "dalo and True",
    "abs(household_size - 4)",
    "abs(cost - 400) < 100",
    "floor(income / 1000)",
    "ceil(cost / 100)",
    "sqrt(income)",
    "log(income + 1)",
]


def same(ours: Any, theirs: Any) -> None:
    """Equal results: the same values, missing at the same rows."""
    if isinstance(theirs, pd.Series):
        assert isinstance(ours, pd.Series)
        left = ours.astype(object).where(ours.notna(), None).tolist()
        right = theirs.astype(object).where(theirs.notna(), None).tolist()
        for a, b in zip(left, right, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                assert a == pytest.approx(b), (left, right)
            else:
                assert a == b, (left, right)
    else:
        assert ours == theirs


@pytest.mark.parametrize("text", PANDAS_ALIKE)
def test_allowed_constructs_give_what_pandas_eval_gave(text: str, frame: pd.DataFrame) -> None:
    expected = frame.eval(text, engine="python")  # the former evaluator, on fixed test texts
    same(parse_expression(text).evaluate(frame), expected)


@pytest.mark.parametrize(
    "text",
    ["dalo and q1", "q1 or priority", "rooms > 2", "kind == 'state'", "income > 1000", "False"],
)
def test_a_filter_counts_missing_as_false_like_the_former_one(
    text: str, frame: pd.DataFrame
) -> None:
    result = frame.eval(text, engine="python")
    if isinstance(result, bool | np.bool_):
        expected = np.full(len(frame), bool(result))
    else:
        expected = pd.Series(result).fillna(False).to_numpy(dtype=bool)
    mask = filter_mask(frame, text, "units")
    assert mask.dtype == bool
    assert mask.tolist() == expected.tolist()


def test_an_empty_filter_selects_every_row(frame: pd.DataFrame) -> None:
    assert filter_mask(frame, "  ", "units").all()


def test_and_binds_like_pandas_not_like_python_bitwise(frame: pd.DataFrame) -> None:
    # Python reads `household_size > 2 & rooms < 5` as a chained comparison around `2 & rooms`;
    # pandas (and fluxopt) read `&` with the precedence of `and`.
    ours = parse_expression("household_size > 2 & rooms < 5").mask(frame)
    assert (
        ours.tolist() == parse_expression("household_size > 2 and rooms < 5").mask(frame).tolist()
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("min(household_size, 3)", [1, 3, 3, 2, 3, 3]),
        ("max(household_size, 3, 4)", [4, 4, 4, 4, 6, 5]),
        ("clip(household_size, 2, 4)", [2, 3, 4, 2, 4, 4]),
        ("clip(household_size, -1, 2.5)", [1, 2.5, 2.5, 2, 2.5, 2.5]),
        ("isna(income)", [False, True, False, False, False, False]),
        ("notna(kind)", [True, True, False, True, True, True]),
        ("isna(q1)", [False, True, False, False, True, False]),
    ],
)
def test_functions(text: str, expected: list[Any], frame: pd.DataFrame) -> None:
    assert parse_expression(text).evaluate(frame).tolist() == expected


def test_min_and_max_are_missing_where_an_argument_is(frame: pd.DataFrame) -> None:
    values = parse_expression("min(income, 20000)").evaluate(frame)
    assert values.isna().tolist() == [False, True, False, False, False, False]
    assert values.iloc[2] == 20000


def test_a_literal_alone_is_the_same_for_every_row(frame: pd.DataFrame) -> None:
    assert filter_mask(frame, "1 < 2", "units").all()
    assert not filter_mask(frame, "False", "units").any()


def test_a_column_the_table_lacks_is_an_evaluation_error(frame: pd.DataFrame) -> None:
    with pytest.raises(EvaluationError, match="column 'wait_months' is not in the table"):
        parse_expression("wait_months > 3").evaluate(frame)
    with pytest.raises(FluxoptError, match="cannot evaluate the units filter"):
        filter_mask(frame, "wait_months > 3", "units")


def test_arithmetic_on_a_text_column_is_refused_before_it_runs(frame: pd.DataFrame) -> None:
    # str * int would repeat the text of every row; a text literal is refused at parse time.
    for text in ("kind * 1000", "kind * household_size", "-kind", "abs(kind)", "kind ** 2"):
        with pytest.raises(EvaluationError, match="needs numbers"):
            parse_expression(text).evaluate(frame)
    with pytest.raises(ExpressionError, match="arithmetic on text"):
        parse_expression("kind + 'a'")


def test_a_type_mismatch_is_an_evaluation_error(frame: pd.DataFrame) -> None:
    with pytest.raises(EvaluationError, match="TypeError"):
        parse_expression("kind > 3").evaluate(frame)


def test_the_same_text_is_compiled_once() -> None:
    assert parse_expression("dalo and rooms > 2") is parse_expression("dalo and rooms > 2")


def test_names_are_listed_in_order_of_use() -> None:
    expression = parse_expression("rooms > 1 and (dalo or rooms < household_size)")
    assert expression.names == ("rooms", "dalo", "household_size")


# --- refused at parse time, with the fragment at fault ------------------------------------

PAYLOAD = "x.__class__.__init__.__globals__['sys'].modules['os'].system('id > f') == 0"

REFUSED = [
    (PAYLOAD, "attribute access is not allowed", "x.__class__"),
    ("dalo.__class__", "attribute access", "dalo.__class__"),
    ("kind.str.upper() == 'A'", "attribute access", "kind.str"),
    ("rooms.sum() > 3", "attribute access", "rooms.sum"),
    ("kind[0] == 's'", "indexing with [...]", "kind[0]"),
    ("rooms[1:2]", "indexing with [...]", "rooms[1:2]"),
    ("__import__('os').system('id')", "double underscore", "__import__"),
    ("__builtins__", "double underscore", "__builtins__"),
    ("(lambda: 1) == 1", "lambda", "lambda: 1"),
    ("(lambda: 1)() == 1", "only the functions", "(lambda: 1)()"),
    ("[r for r in rooms] == 1", "comprehensions", "[r for r in rooms]"),
    ("abs(r for r in rooms)", "comprehensions", "r for r in rooms"),
    ("max(r for r in rooms)", "max() takes 2 to 8 argument(s), not 1", "max("),
    ("{k: 1 for k in kind}", "comprehensions", "{k: 1 for k in kind}"),
    ("abs(*rooms)", "starred", "*rooms"),
    ("f'{kind}' == 'a'", "f-strings", "f'{kind}'"),
    ("(rooms := 3) > 1", "assignment (:=)", "rooms := 3"),
    ("1 if dalo else 0", "conditional expressions", "1 if dalo else 0"),
    ("{'a': 1}", "dictionaries", "{'a': 1}"),
    ("rooms == [1, 2]", "a list may only follow in", "[1, 2]"),
    ("rooms in kind", "`in` needs a literal list", "kind"),
    ("rooms in [1, dalo]", "list items must be", "dalo"),
    ("kind is None", "'is' is not allowed", "kind is None"),
    ("kind == None", "None is not allowed", "None"),
    ("eval('1')", "calls eval()", "eval"),
    ("open('f').read()", "calls open()", "open"),
    ("getattr(dalo, 'real')", "calls getattr()", "getattr"),
    ("where(dalo, 1, 0) > 0", "calls where()", "where"),
    ("abs(x=rooms)", "abs() takes 1 argument(s), not 0", "abs(x=rooms)"),
    ("abs(rooms, x=1)", "keyword arguments", "x=1"),
    ("clip(rooms, 1)", "clip() takes 3 argument(s)", "clip(rooms, 1)"),
    ("clip(rooms, 1, household_size)", "bounds of clip() must be numbers", "clip("),
    ("clip(rooms, 3, 1)", "low bound of clip() is above", "clip(rooms, 3, 1)"),
    ("abs('a')", "abs() needs numbers", "'a'"),
    ("rooms @ rooms", "'@'", "@"),
    ("income < @limit", "'@'", "@"),
    ("`rooms` > 1", "backtick-quoted names", "`rooms`"),
    ("dalo # and True", "comments", "# and True"),
    ("b'x' == kind", "bytes literals", "b'x'"),
    ("rooms ^ 1", "this operator is not allowed", "rooms ^ 1"),
    ("rooms << 40", "this operator is not allowed", "rooms << 40"),
    ("2 ** 2 ** 2 ** 2 ** 2 ** 2", "'**' takes a whole literal exponent", "2 ** 2 ** 2"),
    ("rooms ** 5", "'**' takes a whole literal exponent from 0 to 4", "rooms ** 5"),
    ("rooms ** -1", "'**' takes", "rooms ** -1"),
    ("rooms ** 0.5", "'**' takes", "rooms ** 0.5"),
    ("rooms ** rooms", "'**' takes", "rooms ** rooms"),
    ("'a' * 10**9", "arithmetic on text", "'a' * 10**9"),
    ("'a' * 1000000000 == kind", "arithmetic on text", "'a' * 1000000000"),
    ("-'a'", "arithmetic on text", "-'a'"),
    ("rooms > 123456789012345678901234567890", "whole numbers are limited", "1234567890"),
    ("1j > 0", "complex literals", "1j"),
    ("dalo and and", "is not valid at character 10", "and"),
    ("rooms = 3", "is not valid", ""),
    ("", "expression is empty", ""),
]


@pytest.mark.parametrize(("text", "reason", "fragment"), REFUSED)
def test_forbidden_constructs_are_refused_with_their_fragment(
    text: str, reason: str, fragment: str
) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(text)
    assert reason in caught.value.reason
    assert fragment in caught.value.fragment
    if caught.value.fragment:
        assert caught.value.fragment in text


def test_the_issue_payload_names_its_first_attribute() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression(PAYLOAD)
    assert caught.value.fragment == "x.__class__"
    assert caught.value.message.startswith("attribute access is not allowed")
    assert "more refused part(s)" in caught.value.message


@pytest.mark.parametrize(
    ("text", "code_point"),
    [
        ("d\u0430lo", "U+0430 CYRILLIC SMALL LETTER A"),
        ("\uff44\uff41\uff4c\uff4f", "U+FF44 FULLWIDTH LATIN SMALL LETTER D"),
        ("\U0001d41d\U0001d41a\U0001d425\U0001d428", "U+1D41D MATHEMATICAL BOLD SMALL D"),
        ("rooms\u00a0> 1", "U+00A0 NO-BREAK SPACE"),
        ("dalo and \u212a", "U+212A KELVIN SIGN"),
    ],
)
def test_look_alike_characters_are_refused_with_their_code_point(
    text: str, code_point: str
) -> None:
    # NFKC folds full-width and mathematical letters (and the Kelvin sign) into ASCII: the
    # Python parser would read them as the column `dalo` (or `K`).
    with pytest.raises(ExpressionError, match=re.escape(code_point)):
        parse_expression(text)


def test_text_in_quotes_may_hold_any_letter(frame: pd.DataFrame) -> None:
    assert not parse_expression("kind == 'Besançon'").mask(frame).any()


def test_bidirectional_controls_are_refused_even_in_quotes() -> None:
    with pytest.raises(ExpressionError, match="U\\+202E"):
        parse_expression("kind == 'state\u202e' or dalo")


def test_an_ampersand_in_text_stays_text(frame: pd.DataFrame) -> None:
    assert not parse_expression("kind == 'a & b' or kind == 'c | d'").mask(frame).any()


# --- caps -----------------------------------------------------------------------------


def test_the_length_is_capped() -> None:
    text = " or ".join(["dalo"] * 500)
    assert len(text) > LIMITS.length
    with pytest.raises(ExpressionError, match="characters long, more than 2,000"):
        parse_expression(text)


def test_a_million_item_list_is_refused() -> None:
    text = "rooms in [" + ",".join("1" for _ in range(1_000_000)) + "]"
    with pytest.raises(ExpressionError, match="more than 2,000"):
        parse_expression(text)
    longer = "rooms in [" + ",".join("1" for _ in range(1_001)) + "]"
    with pytest.raises(ExpressionError, match="the list has 1,001 items, more than 1,000"):
        parse_expression(longer, limits=Limits(length=10_000, nodes=10_000))
    allowed = "rooms in [" + ",".join(str(i) for i in range(1_000)) + "]"
    parse_expression(allowed, limits=Limits(length=10_000, nodes=10_000))


def test_the_number_of_parts_is_capped() -> None:
    text = "|".join(["q1"] * 600)
    assert len(text) < LIMITS.length
    with pytest.raises(ExpressionError, match="parts, more than 500"):
        parse_expression(text)


def test_nesting_is_capped() -> None:
    deep = "(" * 40 + "-rooms" + ")" * 40
    assert parse_expression(deep).names == ("rooms",)  # parentheses alone are no level
    nested = "-" * 40 + "rooms"
    with pytest.raises(ExpressionError, match="nested more than 32 levels deep"):
        parse_expression(nested)
    calls = "abs(" * 40 + "rooms" + ")" * 40
    with pytest.raises(ExpressionError, match="nested more than 32 levels deep"):
        parse_expression(calls)


def test_deep_parentheses_do_not_crash_the_parser() -> None:
    with pytest.raises(ExpressionError):
        parse_expression("(" * 1000 + "rooms" + ")" * 1000)


# --- names of each kind of filter -----------------------------------------------------


def test_unknown_names_are_refused_with_the_closest_one() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse_expression("dallo or priority", APPLICANT_FILTER.columns)
    assert caught.value.message == "unknown column 'dallo'"
    assert "did you mean 'dalo'" in caught.value.hint


def test_each_kind_of_filter_names_its_own_table() -> None:
    assert {"qpv", "fragile", "lec_applies", "epci", "channel", "rooms"} <= UNIT_FILTER.columns
    assert {"dalo", "priority", "q1", "wait_months", "state_agent"} <= APPLICANT_FILTER.columns
    assert {"kind", "mode", "holder_id"} <= HOLDER_FILTER.columns
    assert "dalo" not in UNIT_FILTER.columns
    assert "qpv" not in APPLICANT_FILTER.columns


def test_a_rule_set_checks_each_filter_against_its_table() -> None:
    quota = {"name": "q", "per": "epci", "scope": "qpv", "share": "q1", "at_least": 0.2}
    channel = {"name": "c", "holders": "kind == 'state'", "admits": "priority or dalo"}
    ConstraintSet.model_validate(
        {"name": "ok", "families": {"quotas": [quota], "channels": [channel]}}
    )
    bad = {
        "name": "bad",
        "families": {
            "quotas": [{**quota, "scope": "dalo"}],
            "channels": [channel, {**channel, "name": "d", "admits": "rooms.real > 1"}],
        },
    }
    with pytest.raises(ValueError, match="unknown column 'dalo'") as caught:
        ConstraintSet.model_validate(bad)
    errors = caught.value.errors()  # type: ignore[attr-defined]
    assert [(key_path(e["loc"]), e["type"]) for e in errors] == [
        ("families.channels[1].admits", "expression"),
        ("families.quotas[0].scope", "expression"),
    ]
    assert "`rooms.real`" in errors[0]["msg"]
    assert "(applicant filter)" in errors[0]["msg"]
