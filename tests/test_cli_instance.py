"""The instance subcommands through click's runner: validate, summary, schema."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from conftest import rewrite_table
from fluxopt.cli.app import cli
from fluxopt.rules.reference import data_reference_markdown


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="fluxopt")
    return result.exit_code, result.output


def test_validate_help() -> None:
    code, output = invoke("validate", "--help")
    assert code == 0
    assert "Usage: fluxopt validate [OPTIONS] PATH" in output
    assert "list every problem at once" in output
    assert "--json" in output


def test_summary_help() -> None:
    code, output = invoke("summary", "--help")
    assert code == 0
    assert "Usage: fluxopt summary [OPTIONS] PATH" in output
    assert "headline figures" in output


def test_schema_help_and_root_help_list_the_commands() -> None:
    code, output = invoke("schema", "--help")
    assert code == 0
    assert "--markdown" in output
    code, output = invoke("--help")
    assert code == 0
    for command in ("validate", "summary", "schema"):
        assert command in output


def test_validate_a_valid_folder(hand_instance_dir: Path) -> None:
    code, output = invoke("validate", str(hand_instance_dir))
    assert code == 0
    assert output.strip().endswith("valid (0 error(s), 0 warning(s))")
    assert "invalid" not in output


def test_validate_an_invalid_folder(hand_instance_dir: Path) -> None:
    def break_rows(frame: pd.DataFrame) -> None:
        frame.loc[1, "rent"] = "[cheap]"
        frame.loc[2, "financing"] = "PLX"

    rewrite_table(hand_instance_dir, "units", break_rows)
    code, output = invoke("validate", str(hand_instance_dir))
    assert code == 2
    assert "error units, row 2 (U2), column rent: '[cheap]' is not a number (float)" in output
    assert "error units, row 3 (U3), column financing: 'PLX' is not an allowed value" in output
    assert "hint: use one of: PLAI, PLUS, PLS, PLI" in output
    assert "invalid (2 error(s), 0 warning(s))" in output


def test_validate_as_json(hand_instance_dir: Path) -> None:
    rewrite_table(hand_instance_dir, "holders", lambda frame: frame.assign(colour="red"))
    code, output = invoke("validate", str(hand_instance_dir), "--json")
    assert code == 0
    assert json.loads(output) == [
        {
            "severity": "warning",
            "table": "holders",
            "row": None,
            "key": None,
            "column": "colour",
            "message": "column is not in the schema; kept as it is",
            "hint": (
                "check the spelling against the data reference "
                "(scoring grids may use extra columns)"
            ),
        }
    ]


def test_validate_a_path_that_is_not_a_folder(tmp_path: Path) -> None:
    code, output = invoke("validate", str(tmp_path / "missing"))
    assert code == 2
    assert "is not a folder" in output


def test_summary_of_a_valid_folder(hand_instance_dir: Path) -> None:
    code, output = invoke("summary", str(hand_instance_dir))
    assert code == 0
    assert "Instance hand" in output
    assert "units in flux" in output
    assert "33.3%" in output  # two of the six units are in a QPV


def test_summary_of_an_invalid_folder_runs_nothing(hand_instance_dir: Path) -> None:
    (hand_instance_dir / "thresholds.csv").unlink()
    rewrite_table(hand_instance_dir, "holders", lambda frame: frame.assign(kind="[bank]"))
    code, output = invoke("summary", str(hand_instance_dir))
    assert code == 2
    assert "thresholds: file thresholds.csv (or .parquet, .xlsx) is missing" in output
    assert "holders, row 1 (STATE), column kind: '[bank]' is not an allowed value" in output
    assert "Nothing was solved or written" in output
    assert "Instance hand" not in output


def test_schema_markdown_prints_the_data_reference() -> None:
    code, output = invoke("schema", "--markdown")
    assert code == 0
    assert output == data_reference_markdown()
    assert "#### Expressions (grid criteria and rule filters)" in output


def test_schema_lists_the_tables() -> None:
    code, output = invoke("schema")
    assert code == 0
    for table in ("units", "residences", "holders", "conventions", "applicants", "history"):
        assert table in output
