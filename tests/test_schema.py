"""The table declaration: consistent with itself, rendered as the data reference."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fluxopt.rules.reference import data_reference_markdown
from fluxopt.schema.checks import check_columns, pandera_schema
from fluxopt.schema.coerce import empty_column
from fluxopt.schema.declaration import TABLE_ORDER, reference_markdown, schema
from fluxopt.schema.problems import MAX_CELLS_LISTED, Problem, ProblemLog

DOCS = Path(__file__).resolve().parents[1] / "docs" / "data-reference.md"


def test_every_table_of_the_data_model_is_declared() -> None:
    tables = schema()
    assert tuple(tables) == TABLE_ORDER
    assert [name for name, spec in tables.items() if not spec.required] == ["history"]
    for spec in tables.values():
        assert spec.description
        for column in spec.key_columns:
            assert spec.columns[column].required, (spec.name, column)
        for col in spec.columns.values():
            assert col.description, (spec.name, col.name)


def test_references_point_at_unique_columns() -> None:
    tables = schema()
    references = {
        f"{spec.name}.{col.name}": col.references
        for spec in tables.values()
        for col in spec.columns.values()
        if col.references
    }
    assert references == {
        "units.residence_id": "residences.residence_id",
        "units.epci": "thresholds.epci",
        "residences.epci": "thresholds.epci",
        "conventions.holder_id": "holders.holder_id",
    }
    for target in references.values():
        table, column = target.split(".")
        assert tables[table].columns[column].unique


def test_defaults_satisfy_their_own_checks() -> None:
    for spec in schema().values():
        for col in spec.columns.values():
            if col.default is None:
                continue
            assert not col.required, (spec.name, col.name)
            if col.min is not None:
                assert col.default > col.min or (not col.min_exclusive and col.default == col.min)
            if col.max is not None:
                assert col.default <= col.max
            if col.enum is not None:
                assert col.default in col.enum
            if col.pattern is not None:
                assert re.match(col.pattern, col.default)


def test_absent_optional_columns_take_their_default() -> None:
    for spec in schema().values():
        table = pd.DataFrame({name: empty_column(col, 2) for name, col in spec.columns.items()})
        for col in spec.columns.values():
            values = table[col.name]
            if col.default is not None:
                assert values.tolist() == [col.default] * 2, (spec.name, col.name)
            else:
                assert values.isna().all(), (spec.name, col.name)


def test_the_pandera_schemas_accept_the_defaults() -> None:
    for spec in schema().values():
        optional = {n: c for n, c in spec.columns.items() if c.default is not None}
        frame = pd.DataFrame({n: empty_column(c, 3) for n, c in optional.items()})
        pandera_schema(spec).validate(frame, lazy=True)


@pytest.mark.parametrize(
    ("table", "column", "values", "messages"),
    [
        ("units", "rent", [-2.5], ["-2.5 is negative"]),
        ("units", "surface_m2", [0.0, -1.0], ["0.0 is not positive", "-1.0 is negative"]),
        ("units", "floor", [-3], ["-3 is too small"]),
        ("units", "rooms", [9], ["9 is too large"]),
        ("units", "financing", ["PLZ"], ["'PLZ' is not an allowed value"]),
        ("units", "flux_status", ["stock"], ["'stock' has the wrong form"]),
        ("conventions", "share", [1.5, -0.5], ["1.5 is outside [0, 1]", "-0.5 is outside [0, 1]"]),
        ("thresholds", "q1_threshold", [0.0], ["0.0 is not positive"]),
    ],
)
def test_column_check_messages(
    table: str, column: str, values: list[object], messages: list[str]
) -> None:
    """``messages[i]`` is the problem reported for ``values[i]`` (row i + 1)."""
    spec = schema()[table]
    frame = pd.DataFrame({column: values})
    log = ProblemLog()
    check_columns(log, spec, frame)
    assert sorted((p.row, p.message) for p in log.errors) == [
        (row, message) for row, message in enumerate(messages, start=1)
    ]
    assert all(p.column == column and p.hint for p in log.errors)


def test_duplicates_are_reported_after_their_first_row() -> None:
    spec = schema()["holders"]
    frame = pd.DataFrame({"holder_id": pd.Series(["A", "B", "A", "A", "C"], dtype="str")})
    log = ProblemLog()
    check_columns(log, spec, frame)
    assert [(p.row, p.key, p.message) for p in log.errors] == [
        (3, "A", "duplicate holder_id 'A'"),
        (4, "A", "duplicate holder_id 'A'"),
    ]


def test_cells_are_listed_up_to_the_cap_then_counted() -> None:
    log = ProblemLog()
    positions = np.arange(MAX_CELLS_LISTED + 5)
    values = [f"x{i}" for i in positions]
    log.cells("units", "rent", positions, "{value!r} is bad", "fix it", values=values)
    assert len(log) == MAX_CELLS_LISTED + 1
    assert log.problems[0] == Problem("units", "'x0' is bad", "fix it", row=1, column="rent")
    assert log.problems[-1] == Problem(
        "units", "5 more cell(s) not listed: … is bad", "fix it", column="rent"
    )


def test_a_cell_carries_one_error() -> None:
    log = ProblemLog()
    log.error("units", "first", "h", row=2, column="epci")
    log.error("units", "second", "h", row=2, column="epci")
    log.warning("units", "a warning", "h", row=2, column="epci")
    log.error("units", "other cell", "h", row=3, column="epci")
    assert [p.message for p in log] == ["first", "a warning", "other cell"]


def test_problem_location_and_text() -> None:
    problem = Problem("units", "'x' is bad", "fix it", row=4, column="rent", key="U4")
    assert problem.location() == "units, row 4 (U4), column rent"
    assert str(problem) == "[error] units, row 4 (U4), column rent: 'x' is bad — hint: fix it"
    assert Problem("conventions", "m", key="department 25").location() == (
        "conventions, department 25"
    )


def test_reference_lists_every_column_and_derived_column() -> None:
    text = reference_markdown()
    for spec in schema().values():
        assert f"#### `{spec.name}`" in text
        for name in [*spec.columns, *spec.derived]:
            assert f"| `{name}` |" in text, (spec.name, name)
    assert "| `charges` | float | €/month | no | `0.0` |" in text
    assert "| `name` | str |  | no | empty |" in text
    assert "stock:&lt;holder_id&gt;" in text
    assert "T3\\|QPV\\|PLUS" in text


def test_docs_data_reference_is_generated_from_the_declaration() -> None:
    assert DOCS.read_text(encoding="utf-8") == data_reference_markdown(), (
        "docs/data-reference.md is stale: run `fluxopt schema --markdown > docs/data-reference.md`"
    )
