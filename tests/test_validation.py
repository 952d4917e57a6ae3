"""Validation of instance folders: every kind of bad input is reported exactly, all at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import fluxopt.instance as instance_module
from conftest import HAND_TABLES, read_table_text, rewrite_table
from fluxopt.cli.app import cli
from fluxopt.instance import Instance, load_instance, validate_path
from fluxopt.schema.problems import MAX_CELLS_LISTED, InvalidInputError, Problem

Edit = Callable[[Path], None]


def set_cell(table: str, row: int, column: str, value: str) -> Edit:
    """Edit that writes ``value`` into one cell (``row`` is 1-based, as reported)."""

    def edit(folder: Path) -> None:
        def change(frame: pd.DataFrame) -> None:
            frame.loc[row - 1, column] = value

        rewrite_table(folder, table, change)

    return edit


def drop_column(table: str, column: str) -> Edit:
    def edit(folder: Path) -> None:
        rewrite_table(folder, table, lambda frame: frame.drop(columns=[column]))

    return edit


def drop_rows(table: str, keep: Callable[[pd.DataFrame], pd.Series]) -> Edit:
    def edit(folder: Path) -> None:
        rewrite_table(folder, table, lambda frame: frame[keep(frame)])

    return edit


def add_row(table: str, values: dict[str, str]) -> Edit:
    def edit(folder: Path) -> None:
        def append(frame: pd.DataFrame) -> pd.DataFrame:
            row = pd.DataFrame([{c: values.get(c, "") for c in frame.columns}])
            return pd.concat([frame, row], ignore_index=True)

        rewrite_table(folder, table, append)

    return edit


def replace_text(table: str, old: str, new: str) -> Edit:
    def edit(folder: Path) -> None:
        text = HAND_TABLES[table]
        assert old in text
        rewrite_table(folder, table, text.replace(old, new, 1))

    return edit


def header_only(table: str) -> Edit:
    def edit(folder: Path) -> None:
        rewrite_table(folder, table, HAND_TABLES[table].splitlines()[0] + "\n")

    return edit


def remove_file(name: str) -> Edit:
    def edit(folder: Path) -> None:
        (folder / name).unlink()

    return edit


def write_file(name: str, content: bytes, remove: str | None = None) -> Edit:
    def edit(folder: Path) -> None:
        if remove:
            (folder / remove).unlink()
        (folder / name).write_bytes(content)

    return edit


def declare_file(table: str, name: str, content: bytes) -> Edit:
    """Edit that names ``name`` as the table's file in instance.yaml and writes it."""

    def edit(folder: Path) -> None:
        (folder / name).write_bytes(content)
        append_config(f"tables:\n  {table}: {name}\n")(folder)

    return edit


def append_config(text: str) -> Edit:
    def edit(folder: Path) -> None:
        path = folder / "instance.yaml"
        path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")

    return edit


def set_config(old: str, new: str) -> Edit:
    def edit(folder: Path) -> None:
        path = folder / "instance.yaml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")

    return edit


@dataclass(frozen=True)
class Case:
    """One kind of bad input and the one problem it must produce."""

    id: str
    edit: Edit
    table: str
    row: int | None
    column: str | None
    phrase: str
    key: str | None = None


SECOND_DEPARTMENT_SHARE = {
    "convention_id": "C4",
    "holder_id": "AL",
    "perimeter_kind": "department",
    "perimeter_id": "25",
    "share": "0.8",
}
SECOND_COMMUNE_CONVENTION = {
    "convention_id": "C4",
    "holder_id": "MONT",
    "perimeter_kind": "commune",
    "perimeter_id": "Montbéliard",
    "annual_volume": "1",
}

# One row per kind of bad input: (id, edit, then the one problem expected: table, row,
# column, a phrase of the message, the row's key).
# fmt: off
CASES = [
    # files and columns
    Case("missing-file", remove_file("holders.csv"),
         "holders", None, None, "file holders.csv (or .parquet, .xlsx) is missing"),
    Case("missing-declared-file", append_config("tables:\n  units: units.parquet\n"),
         "units", None, None, "file units.parquet is missing"),
    Case("missing-column", drop_column("units", "rooms"),
         "units", None, "rooms", "required column is missing"),
    Case("missing-reference-column", drop_column("units", "residence_id"),
         "units", None, "residence_id", "required column is missing"),
    Case("missing-household-column", drop_column("applicants", "household_size"),
         "applicants", None, "household_size", "required column is missing"),
    Case("duplicate-column", replace_text("units", ",charges,", ",rent,"),
         "units", None, "rent", "column appears twice"),
    Case("empty-required-table", header_only("applicants"),
         "applicants", None, None, "table is empty"),
    Case("file-without-header", write_file("conventions.csv", b""),
         "conventions", None, None, "file conventions.csv is empty (no header line)"),
    Case("unreadable-parquet",
         write_file("units.parquet", b"this is not parquet", remove="units.csv"),
         "units", None, None, "cannot read units.parquet"),
    Case("unreadable-xlsx",
         write_file("holders.xlsx", b"PK\x03\x04 broken zip", remove="holders.csv"),
         "holders", None, None, "cannot read holders.xlsx"),
    Case("not-text",
         write_file("holders.csv", "holder_id,kind,name\nSTATE,state,Préfet\n".encode("utf-16")),
         "holders", None, None, "it is neither UTF-8 nor Windows-1252/Latin-1 text"),
    Case("ragged-csv",
         replace_text("holders", "STATE,state,Préfet du Doubs,delegated", "STATE,state,a,b,c,d"),
         "holders", None, None, "cannot read holders.csv"),
    Case("unsupported-format", declare_file("holders", "holders.txt", b"holder_id,kind,name\n"),
         "holders", None, None, "cannot read holders.txt: unsupported table format '.txt'"),
    # cells of the wrong type
    Case("wrong-type-float", set_cell("units", 2, "rent", "cheap"),
         "units", 2, "rent", "'cheap' is not a number (float)", key="U2"),
    Case("wrong-type-int", set_cell("units", 3, "rooms", "three"),
         "units", 3, "rooms", "'three' is not a number (int)", key="U3"),
    Case("non-integer", set_cell("units", 3, "rooms", "2.5"),
         "units", 3, "rooms", "'2.5' is not a whole number", key="U3"),
    Case("bool-maybe", set_cell("units", 1, "elevator", "maybe"),
         "units", 1, "elevator", "'maybe' is not true or false", key="U1"),
    Case("bad-date", set_cell("applicants", 4, "filed_on", "2025-02-30"),
         "applicants", 4, "filed_on", "'2025-02-30' is not a date", key="A04"),
    Case("non-iso-date", set_cell("units", 5, "available_on", "15/01/2026"),
         "units", 5, "available_on", "'15/01/2026' is not a date", key="U5"),
    Case("year-only-date", set_cell("history", 2, "date", "2025"),
         "history", 2, "date", "'2025' is not a date", key="H2"),
    Case("required-cell-empty", set_cell("units", 2, "rent", ""),
         "units", 2, "rent", "required value is empty", key="U2"),
    # values out of their domain
    Case("unknown-enum", set_cell("units", 6, "financing", "PLX"),
         "units", 6, "financing", "'PLX' is not an allowed value", key="U6"),
    Case("unknown-holder-kind", set_cell("holders", 2, "kind", "bank"),
         "holders", 2, "kind", "'bank' is not an allowed value", key="AL"),
    Case("pattern", set_cell("units", 1, "flux_status", "excluded:other"),
         "units", 1, "flux_status", "'excluded:other' has the wrong form", key="U1"),
    Case("too-large", set_cell("units", 1, "rooms", "7"),
         "units", 1, "rooms", "7 is too large", key="U1"),
    Case("negative-money", set_cell("units", 4, "rent", "-5"),
         "units", 4, "rent", "-5.0 is negative", key="U4"),
    Case("negative-income", set_cell("applicants", 3, "annual_income", "-100"),
         "applicants", 3, "annual_income", "-100.0 is negative", key="A03"),
    Case("negative-size", set_cell("units", 2, "surface_m2", "-30"),
         "units", 2, "surface_m2", "-30.0 is negative", key="U2"),
    Case("zero-size", set_cell("units", 2, "surface_m2", "0"),
         "units", 2, "surface_m2", "0.0 is not positive", key="U2"),
    Case("share-above-one", set_cell("conventions", 1, "share", "1.2"),
         "conventions", 1, "share", "1.2 is outside [0, 1]", key="C1"),
    Case("share-negative", set_cell("conventions", 2, "share", "-0.1"),
         "conventions", 2, "share", "-0.1 is outside [0, 1]", key="C2"),
    Case("duplicate-id", set_cell("units", 3, "unit_id", "U1"),
         "units", 3, "unit_id", "duplicate unit_id 'U1'", key="U1"),
    # references
    Case("unit-to-residence", set_cell("units", 2, "residence_id", "R9"),
         "units", 2, "residence_id", "'R9' is not in residences.residence_id", key="U2"),
    Case("convention-to-holder", set_cell("conventions", 2, "holder_id", "NOBODY"),
         "conventions", 2, "holder_id", "'NOBODY' is not in holders.holder_id", key="C2"),
    Case("unit-epci-without-threshold", set_cell("units", 2, "epci", "200000001"),
         "units", 2, "epci", "'200000001' is not in thresholds.epci", key="U2"),
    Case("residence-epci-without-threshold",
         drop_rows("thresholds", lambda frame: frame["epci"] != "242504496"),
         "residences", 3, "epci", "'242504496' is not in thresholds.epci", key="R3"),
    Case("stock-unknown-holder",
         set_cell("units", 4, "flux_status", "stock:NOBODY"),
         "units", 4, "flux_status",
         "'stock:NOBODY' names a holder that is not in holders", key="U4"),
    # rules across columns and tables
    Case("household-size",
         set_cell("applicants", 2, "household_size", "4"),
         "applicants", 2, "household_size",
         "household_size 4 differs from adults + children", key="A02"),
    Case("expires-before-filed", set_cell("applicants", 2, "expires_on", "2020-01-01"),
         "applicants", 2, "expires_on", "demand expires before it was filed", key="A02"),
    Case("no-wish", set_cell("applicants", 5, "wished_communes", " ; "),
         "applicants", 5, "wished_communes", "no commune is wished", key="A05"),
    Case("share-and-volume", set_cell("conventions", 1, "annual_volume", "5"),
         "conventions", 1, "share", "both share and annual_volume are given", key="C1"),
    Case("neither-share-nor-volume", set_cell("conventions", 3, "annual_volume", ""),
         "conventions", 3, "share", "neither share nor annual_volume is given", key="C3"),
    Case("shares-over-one", add_row("conventions", SECOND_DEPARTMENT_SHARE),
         "conventions", None, "share",
         "shares on department 25 (rows 1, 4) sum to 1.100, over 1", key="department 25"),
    Case("second-convention-same-perimeter", add_row("conventions", SECOND_COMMUNE_CONVENTION),
         "conventions", 4, "holder_id",
         "holder 'MONT' has a second convention on the same perimeter", key="C4"),
    Case("department-perimeter",
         set_cell("conventions", 1, "perimeter_id", "39"),
         "conventions", 1, "perimeter_id",
         "department '39' is not the instance's department '25'", key="C1"),
    Case("epci-perimeter", set_cell("conventions", 2, "perimeter_id", "200000001"),
         "conventions", 2, "perimeter_id", "'200000001' is not an epci of any residence", key="C2"),
    Case("unit-commune-disagrees", set_cell("units", 2, "commune", "Montbéliard"),
         "units", 2, "commune", "'Montbéliard' differs from the residence's commune", key="U2"),
    Case("missing-ceilings",
         drop_rows("ceilings", lambda f: ~((f["financing"] == "PLS") & (f["category"] == "3"))),
         "ceilings", None, "category", "financing PLS has no ceiling for categories 3", key="PLS"),
    Case("duplicate-ceiling",
         add_row("ceilings", {"financing": "PLUS", "category": "2", "ceiling": "28000"}),
         "ceilings", 19, "category", "second ceiling for the same financing and category 2"),
    # instance.yaml
    Case("missing-instance-yaml", remove_file("instance.yaml"),
         "instance.yaml", None, None, "file is missing"),
    Case("yaml-syntax-error", append_config("constraints: [lec-default\n"),
         "instance.yaml", None, None, "is not valid YAML at line"),
    Case("yaml-not-a-mapping", write_file("instance.yaml", b"- hand\n- 2026\n"),
         "instance.yaml", None, None, "must be a mapping of keys to values"),
    Case("unknown-yaml-key", append_config("colour: blue\n"),
         "instance.yaml", None, None, "key colour: Extra inputs are not permitted", key="colour"),
    Case("yaml-wrong-value", set_config("year: 2026", "year: twenty"),
         "instance.yaml", None, None, "key year: Input should be a valid integer", key="year"),
    Case("yaml-unknown-table", append_config("tables:\n  unit: units.csv\n"),
         "instance.yaml", None, None, "unknown table(s) unit", key="tables"),
    Case("yaml-month-outside-year", set_config('months: ["2026-01"]', 'months: ["2025-12"]'),
         "instance.yaml", None, None, "months ['2025-12'] are outside the year 2026",
         key="(top level)"),
]
# fmt: on


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def load_errors(folder: Path) -> InvalidInputError:
    """Load ``folder``, which must fail, and check that nothing was written meanwhile."""
    before = snapshot(folder)
    with pytest.raises(InvalidInputError) as info:
        load_instance(folder)
    assert snapshot(folder) == before
    return info.value


def run_validate(folder: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["validate", str(folder), *args])
    return result.exit_code, result.output


def assert_problem(problem: Problem, case: Case) -> None:
    assert problem.severity == "error"
    assert (problem.table, problem.row, problem.column) == (case.table, case.row, case.column)
    assert case.phrase in problem.message
    assert problem.hint
    if case.key is not None:
        assert problem.key == case.key


def test_hand_instance_is_valid(hand_instance_dir: Path) -> None:
    instance = load_instance(hand_instance_dir)
    assert instance.warnings == []
    assert len(validate_path(hand_instance_dir)) == 0
    assert {name: len(frame) for name, frame in instance.tables.items()} == {
        "units": 6,
        "residences": 3,
        "holders": 4,
        "conventions": 3,
        "applicants": 10,
        "thresholds": 2,
        "ceilings": 18,
        "history": 4,
    }


def validate_with_spy(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[InvalidInputError, int, str]:
    """Run ``fluxopt validate`` once; return what ``load_instance`` raised inside it.

    The folder must be invalid; it must be left untouched.
    """
    raised: list[InvalidInputError] = []
    real_load = instance_module.load_instance

    def spy(path: Path | str) -> Instance:
        try:
            return real_load(path)
        except InvalidInputError as exc:
            raised.append(exc)
            raise

    monkeypatch.setattr(instance_module, "load_instance", spy)
    before = snapshot(folder)
    code, output = run_validate(folder)
    assert snapshot(folder) == before
    assert len(raised) == 1
    return raised[0], code, output


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_reported_exactly(
    case: Case, hand_instance_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    case.edit(hand_instance_dir)
    error, code, output = validate_with_spy(hand_instance_dir, monkeypatch)
    assert len(error.errors) == 1, "\n".join(str(p) for p in error.errors)
    problem = error.errors[0]
    assert_problem(problem, case)
    assert code == 2
    assert f"error {problem.location()}: {problem.message}" in output
    assert f"hint: {problem.hint}" in output
    assert "invalid (1 error(s)" in output


def test_load_instance_raises_and_writes_nothing(hand_instance_dir: Path) -> None:
    set_cell("units", 2, "rent", "cheap")(hand_instance_dir)
    error = load_errors(hand_instance_dir)
    assert [(p.table, p.row, p.column) for p in error.errors] == [("units", 2, "rent")]
    assert "1 error(s)" in str(error)


def test_unknown_column_is_only_a_warning(hand_instance_dir: Path) -> None:
    rewrite_table(hand_instance_dir, "units", lambda frame: frame.assign(colour="blue"))
    instance = load_instance(hand_instance_dir)
    [warning] = instance.warnings
    assert (warning.severity, warning.table, warning.row, warning.column) == (
        "warning",
        "units",
        None,
        "colour",
    )
    assert "not in the schema" in warning.message
    assert warning.hint
    assert instance.tables["units"]["colour"].tolist() == ["blue"] * 6
    code, output = run_validate(hand_instance_dir)
    assert code == 0
    assert "warning units, column colour: column is not in the schema" in output
    assert "valid (0 error(s), 1 warning(s))" in output


def test_wishes_outside_the_territory_are_only_a_warning(hand_instance_dir: Path) -> None:
    rewrite_table(hand_instance_dir, "applicants", set_wishes := _wish_edit("Dole;Besançon"))
    assert set_wishes is not None
    instance = load_instance(hand_instance_dir)
    [warning] = instance.warnings
    assert (warning.severity, warning.table, warning.column) == (
        "warning",
        "applicants",
        "wished_communes",
    )
    assert "1 applicant(s) wish communes where the landlord has no residence" in warning.message
    assert "Dole" in warning.message
    assert instance.applicants.loc[0, "home_epci"] == "200067106"


def _wish_edit(wishes: str) -> Callable[[pd.DataFrame], None]:
    def change(frame: pd.DataFrame) -> None:
        frame.loc[0, "wished_communes"] = wishes

    return change


def test_five_problems_are_reported_at_once(hand_instance_dir: Path) -> None:
    edits = [
        set_cell("units", 2, "rent", "cheap"),
        set_cell("residences", 3, "qpv", "maybe"),
        set_cell("holders", 2, "kind", "bank"),
        set_cell("conventions", 1, "holder_id", "NOBODY"),
        set_cell("applicants", 4, "filed_on", "2025-02-30"),
    ]
    for edit in edits:
        edit(hand_instance_dir)
    code, output = run_validate(hand_instance_dir, "--json")
    assert code == 2
    records = json.loads(output)
    errors = [(r["table"], r["row"], r["column"]) for r in records if r["severity"] == "error"]
    assert sorted(errors) == sorted(
        [
            ("units", 2, "rent"),
            ("residences", 3, "qpv"),
            ("holders", 2, "kind"),
            ("conventions", 1, "holder_id"),
            ("applicants", 4, "filed_on"),
        ]
    )
    assert all(r["hint"] for r in records)
    assert len(load_errors(hand_instance_dir).errors) == 5


def test_derived_column_in_a_file_is_a_warning(hand_instance_dir: Path) -> None:
    rewrite_table(
        hand_instance_dir, "applicants", lambda frame: frame.assign(q1="true", wait_months="99")
    )
    instance = load_instance(hand_instance_dir)
    assert sorted((w.column, w.message) for w in instance.warnings) == [
        ("q1", "derived column ignored; it is computed"),
        ("wait_months", "derived column ignored; it is computed"),
    ]
    assert "q1" not in instance.tables["applicants"].columns
    assert not instance.applicants["q1"].all()
    assert (instance.applicants["wait_months"] < 99).all()


# --- long lists are capped -------------------------------------------------------------


def _many_applicants(folder: Path, count: int, **cells: str) -> None:
    base = read_table_text(folder, "applicants").iloc[[0]]
    frame = pd.concat([base] * count, ignore_index=True)
    frame["applicant_id"] = [f"B{i:03d}" for i in range(count)]
    for column, value in cells.items():
        frame[column] = value
    rewrite_table(folder, "applicants", lambda _: frame)


@pytest.mark.parametrize(
    ("cells", "column", "listed", "summary"),
    [
        ({"max_rent": "abc"}, "max_rent", "'abc' is not a number (float)", "… is not a number"),
        ({"annual_income": "-1"}, "annual_income", "-1.0 is negative", "… is negative"),
        ({"adults": "2"}, "household_size", "differs from adults + children", "differs"),
    ],
    ids=["coercion", "pandera", "consistency"],
)
def test_long_lists_are_capped_with_a_count(
    hand_instance_dir: Path, cells: dict[str, str], column: str, listed: str, summary: str
) -> None:
    _many_applicants(hand_instance_dir, MAX_CELLS_LISTED + 7, **cells)
    errors = load_errors(hand_instance_dir).errors
    assert len(errors) == MAX_CELLS_LISTED + 1
    assert all(p.column == column for p in errors)
    assert [p.row for p in errors[:MAX_CELLS_LISTED]] == list(range(1, MAX_CELLS_LISTED + 1))
    assert all(listed in p.message for p in errors[:MAX_CELLS_LISTED])
    last = errors[-1]
    assert last.row is None
    assert last.message.startswith("7 more cell(s) not listed")
    assert summary in last.message
    assert last.hint


# --- Parquet and XLSX tables are checked like CSV ---------------------------------------


def _bad_units_frame(folder: Path) -> pd.DataFrame:
    frame = read_table_text(folder, "units").astype(object)
    frame.loc[0, "rent"] = "cheap"
    frame.loc[1, "elevator"] = "maybe"
    frame.loc[2, "available_on"] = "2026-02-30"
    frame.loc[3, "financing"] = "PLX"
    return frame


EXPECTED_BAD_UNITS = [
    ("units", 1, "rent", "'cheap' is not a number (float)"),
    ("units", 2, "elevator", "'maybe' is not true or false"),
    ("units", 3, "available_on", "'2026-02-30' is not a date"),
    ("units", 4, "financing", "'PLX' is not an allowed value"),
]


def _errors_as_tuples(folder: Path) -> list[tuple[str, int | None, str | None, str]]:
    return sorted((p.table, p.row, p.column, p.message) for p in load_errors(folder).errors)


def test_parquet_with_wrong_cells_is_reported(hand_instance_dir: Path) -> None:
    frame = _bad_units_frame(hand_instance_dir)
    frame["rooms"] = [2.0, 3.0, 2.5, 1.0, 3.0, 5.0]
    frame["surface_m2"] = pd.to_numeric(frame["surface_m2"])
    (hand_instance_dir / "units.csv").unlink()
    frame.astype({"rent": "str", "elevator": "str"}).to_parquet(hand_instance_dir / "units.parquet")
    assert _errors_as_tuples(hand_instance_dir) == sorted(
        [*EXPECTED_BAD_UNITS, ("units", 3, "rooms", "'2.5' is not a whole number")]
    )


def test_parquet_with_typed_columns_of_the_wrong_kind(hand_instance_dir: Path) -> None:
    frame = read_table_text(hand_instance_dir, "units")
    typed = frame.assign(
        rooms=pd.array([True, False, True, True, False, True], dtype="bool"),
        available_on=pd.array([46000] * 6, dtype="int64"),
        elevator=pd.array([1, 0, 1, 1, 0, 2], dtype="int64"),
    )
    (hand_instance_dir / "units.csv").unlink()
    typed.to_parquet(hand_instance_dir / "units.parquet")
    errors = _errors_as_tuples(hand_instance_dir)
    assert ("units", 1, "rooms", "'true' is not a number (int)") in errors
    assert ("units", 1, "available_on", "'46000' is not a date") in errors
    assert ("units", 6, "elevator", "'2' is not true or false") in errors
    assert len(errors) == 6 + 6 + 1


def test_xlsx_with_wrong_cells_is_reported(hand_instance_dir: Path) -> None:
    frame = _bad_units_frame(hand_instance_dir)
    frame["rent"] = frame["rent"].astype(object)
    frame.loc[4, "rent"] = pd.Timestamp("2026-01-05").to_pydatetime()
    frame["rooms"] = [2, 3, 2.5, 1, 3, 5]
    (hand_instance_dir / "units.csv").unlink()
    frame.to_excel(hand_instance_dir / "units.xlsx", index=False)
    assert _errors_as_tuples(hand_instance_dir) == sorted(
        [
            *EXPECTED_BAD_UNITS,
            ("units", 3, "rooms", "'2.5' is not a whole number"),
            ("units", 5, "rent", "'2026-01-05' is not a number (float)"),
        ]
    )


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_empty_table_in_every_format(hand_instance_dir: Path, fmt: str) -> None:
    header = read_table_text(hand_instance_dir, "holders").iloc[0:0]
    (hand_instance_dir / "holders.csv").unlink()
    path = hand_instance_dir / f"holders.{fmt}"
    if fmt == "csv":
        header.to_csv(path, index=False)
    elif fmt == "parquet":
        header.to_parquet(path)
    else:
        header.to_excel(path, index=False)
    errors = load_errors(hand_instance_dir).errors
    empty = [p for p in errors if p.message == "table is empty"]
    assert [(p.table, p.row, p.column) for p in empty] == [("holders", None, None)]
    # the holders the other tables name are now dangling, and reported as such
    assert {(p.table, p.column) for p in errors if p is not empty[0]} == {
        ("conventions", "holder_id"),
        ("units", "flux_status"),
    }


def test_a_required_value_left_empty_in_parquet(hand_instance_dir: Path) -> None:
    frame = read_table_text(hand_instance_dir, "thresholds")
    frame["q1_threshold"] = [9000.0, float("nan")]
    (hand_instance_dir / "thresholds.csv").unlink()
    frame.to_parquet(hand_instance_dir / "thresholds.parquet")
    assert _errors_as_tuples(hand_instance_dir) == [
        ("thresholds", 2, "q1_threshold", "required value is empty")
    ]


def test_malformed_yaml_does_not_stop_the_table_checks(hand_instance_dir: Path) -> None:
    append_config("colour: blue\n")(hand_instance_dir)
    set_cell("units", 2, "rent", "cheap")(hand_instance_dir)
    errors = load_errors(hand_instance_dir).errors
    assert [(p.table, p.row, p.column, p.key) for p in errors] == [
        ("instance.yaml", None, None, "colour"),
        ("units", 2, "rent", "U2"),
    ]


def test_table_files_named_in_a_malformed_yaml_are_still_found(hand_instance_dir: Path) -> None:
    (hand_instance_dir / "data").mkdir()
    (hand_instance_dir / "holders.csv").rename(hand_instance_dir / "data" / "h.csv")
    append_config("colour: blue\ntables:\n  holders: data/h.csv\n")(hand_instance_dir)
    errors = load_errors(hand_instance_dir).errors
    assert [p.key for p in errors] == ["colour"]


def test_not_a_folder(tmp_path: Path) -> None:
    errors = load_errors_of_missing(tmp_path / "nowhere")
    assert [p.message for p in errors] == ["is not a folder"]
    code, output = run_validate(tmp_path / "nowhere")
    assert code == 2
    assert "is not a folder" in output


def load_errors_of_missing(path: Path) -> list[Problem]:
    with pytest.raises(InvalidInputError) as info:
        load_instance(path)
    return info.value.errors
