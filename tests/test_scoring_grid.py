"""Reading grid files: name resolution, and a located message for every bad grid."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from fluxopt.schema.problems import FluxoptError, InvalidInputError, Problem
from fluxopt.scoring import GRIDS_DIR, Grid, available_grids, load_grid, resolve_grid, score

GOOD = """\
name: small
criteria:
  - name: dalo
    expression: dalo
    points: 30
"""


def write(folder: Path, text: str, name: str = "bad.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(InvalidInputError) as caught:
        load_grid(path)
    assert caught.value.what == f"grid {path.name}"
    return caught.value.errors


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_shipped_grids_are_found_by_name() -> None:
    assert {"montbeliard-ordered", "lyon-additive", "paris-groups"} <= set(available_grids())
    for name in available_grids():
        path = resolve_grid(name)
        assert path == GRIDS_DIR / f"{name}.yaml"
        grid = load_grid(name)
        assert grid.name == name
        assert grid.file == f"{name}.yaml"


def test_a_path_wins_over_a_shipped_name(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD, "small.yaml")
    assert resolve_grid(path) == path
    assert resolve_grid("small", base=tmp_path) == path
    assert resolve_grid("small.yaml", base=tmp_path) == path
    assert load_grid(path).breakdown_columns == ("dalo",)


def test_unknown_grid_name_suggests_a_shipped_one() -> None:
    with pytest.raises(FluxoptError, match="Did you mean 'paris-groups'"):
        resolve_grid("paris-group")


def test_yaml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\ncriteria: [\n  - name: y\n")
    problem = only(problems_of(path))
    assert problem.table == "bad.yaml"
    assert "line" in problem.message


def test_misspelt_key_is_located_with_a_suggestion(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: x
        criteria:
          - name: dalo
            expression: dalo
            pionts: 30
        """,
    )
    problems = problems_of(path)
    extra = next(p for p in problems if "pionts" in p.message)
    assert extra.key == "dalo"
    assert "did you mean 'points'" in extra.hint
    missing = next(p for p in problems if p.message.startswith("points"))
    assert missing.key == "dalo"


def test_wrong_type_in_the_transfer_scheme_is_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: x
        criteria: [{name: dalo, expression: dalo, points: 30}]
        transfer:
          wait: {name: seniority, points_per_month: many}
        """,
    )
    problem = only(problems_of(path))
    assert problem.key == "transfer.seniority"
    assert problem.message.startswith("points_per_month")


def test_overlapping_bands_are_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: x
        brackets:
          - name: burden
            expression: housing_cost_now * 12 / annual_income
            bands: [{min: 0.3, max: 0.5, points: 2}, {min: 0.4, points: 6}]
        """,
    )
    problem = only(problems_of(path))
    assert problem.key == "burden"
    assert "overlap" in problem.message


def test_unknown_group_option_is_located(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: x
        groups: {housing: {mode: highest, cap: 5, limit: 3}}
        criteria: [{name: homeless, expression: homeless, points: 17, group: housing}]
        """,
    )
    problem = only(problems_of(path))
    assert problem.key == "housing"
    assert "allowed here: cap, description, mode" in problem.hint


def test_unknown_column_names_the_criterion_and_suggests(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: x
        criteria:
          - {name: crowded, expression: "houshold_size >= 4 and rooms_now <= 2", points: 4}
        """,
    )
    problem = only(problems_of(path))
    assert (problem.table, problem.key) == ("bad.yaml", "criteria.crowded.expression")
    assert "unknown column 'houshold_size'" in problem.message
    assert "household_size" in problem.hint
    assert "bad.yaml, criteria.crowded.expression" in str(problem)


def test_unknown_column_far_from_any_lists_the_derived_ones(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\ncriteria: [{name: c, expression: zzz, points: 1}]\n")
    assert "wait_months" in only(problems_of(path)).hint


def test_bad_expression_syntax(tmp_path: Path) -> None:
    path = write(
        tmp_path, "name: x\ncriteria: [{name: c, expression: 'dalo and and', points: 1}]\n"
    )
    problem = only(problems_of(path))
    assert problem.key == "criteria.c.expression"
    assert "is not valid at character 10" in problem.message
    assert problem.message.endswith("`and`")
    assert "household_size >= 4 and rooms_now <= 2" in problem.hint


def test_unsupported_function_and_local_variables(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: x
        criteria:
          - {name: f, expression: "where(dalo, 1, 0) > 0", points: 1}
          - {name: g, expression: "annual_income < @limit", points: 1}
          - {name: h, expression: "", points: 1}
        """,
    )
    problems = problems_of(path)
    by_key = {p.key: p for p in problems}
    assert "where()" in by_key["criteria.f.expression"].message
    assert "'@'" in by_key["criteria.g.expression"].message
    assert "empty" in by_key["criteria.h.expression"].message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: x
        groups: {housing: {mode: highest}}
        criteria:
          - {name: a, expression: dalo_x, points: 1}
          - {name: b, expression: homeless, points: 1, group: housng}
          - {name: b, expression: hosted, points: 1}
        """,
    )
    problems = problems_of(path)
    keys = sorted(p.key or "" for p in problems)
    assert keys == ["b", "b", "criteria.a.expression"]
    messages = " | ".join(p.message for p in problems)
    assert "unknown column 'dalo_x'" in messages
    assert "group 'housng' is not declared" in messages
    assert "more than once" in messages
    hint = next(p.hint for p in problems if "housng" in p.message)
    assert "did you mean 'housing'" in hint


def test_ordered_block_needs_a_bounded_tie_break(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: x
        ordered: {criteria: [{name: dalo, expression: dalo}]}
        wait: {points_per_month: 1}
        """,
    )
    problem = only(problems_of(path))
    assert problem.key == "ordered"
    assert "unbounded" in problem.message
    assert "cap" in problem.hint


def test_ordered_base_must_exceed_the_tie_break_range(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: x
        ordered: {base: 30, criteria: [{name: dalo, expression: dalo}]}
        wait: {points_per_month: 1, cap: 36}
        """,
    )
    problem = only(problems_of(path))
    assert problem.key == "ordered"
    assert "does not exceed the range 36" in problem.message


def test_unused_group_is_only_a_warning(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: x\ngroups: {spare: {}}\ncriteria: [{name: c, expression: dalo, points: 1}]\n",
    )
    assert load_grid(path).groups["spare"].mode == "highest"


def test_an_empty_scheme_is_an_error(tmp_path: Path) -> None:
    problem = only(problems_of(write(tmp_path, "name: x\n")))
    assert "scores nothing" in problem.message


def test_grid_models_are_frozen() -> None:
    grid = load_grid("paris-groups")
    with pytest.raises(ValueError, match="frozen"):
        grid.name = "other"  # type: ignore[misc]


def test_expression_of_the_wrong_type_is_reported_at_evaluation() -> None:
    grid = Grid.model_validate(
        {
            "name": "typed",
            "criteria": [{"name": "income", "expression": "annual_income", "points": 1}],
            "brackets": [
                {
                    "name": "text",
                    "expression": "current_landlord",
                    "bands": [{"min": 0, "points": 1}],
                }
            ],
            "wait": {"points_per_month": 1, "expression": "dalo"},
        }
    )
    table = pd.DataFrame(
        {"applicant_id": ["a"], "annual_income": [1.0], "current_landlord": ["X"], "dalo": [True]}
    )
    with pytest.raises(InvalidInputError) as caught:
        score(grid, table)
    by_key = {p.key: p.message for p in caught.value.errors}
    assert "not true/false" in by_key["criteria.income.expression"]
    assert "not numbers" in by_key["brackets.text.expression"]
    assert "not numbers" in by_key["wait.expression"]
    assert caught.value.what == "grid typed"


def test_a_failing_expression_is_reported_with_its_criterion() -> None:
    grid = Grid.model_validate(
        {
            "name": "broken",
            "criteria": [{"name": "odd", "expression": "current_landlord > 3", "points": 1}],
        }
    )
    table = pd.DataFrame({"applicant_id": ["a"], "current_landlord": ["X"]})
    with pytest.raises(InvalidInputError) as caught:
        score(grid, table)
    problem = only(caught.value.errors)
    assert problem.key == "criteria.odd.expression"
    assert "failed" in problem.message


def test_a_derived_column_absent_from_the_table_is_reported() -> None:
    grid = Grid.model_validate(
        {"name": "waits", "wait": {"name": "seniority", "points_per_month": 1}}
    )
    with pytest.raises(InvalidInputError) as caught:
        score(grid, pd.DataFrame({"applicant_id": ["a"]}))
    problem = only(caught.value.errors)
    assert problem.key == "wait.expression"
    assert "derived" in problem.message


def test_a_table_without_applicant_id_is_refused() -> None:
    grid = Grid.model_validate(
        {"name": "g", "criteria": [{"name": "d", "expression": "dalo", "points": 1}]}
    )
    with pytest.raises(FluxoptError, match="applicant_id"):
        score(grid, pd.DataFrame({"dalo": [True]}))
