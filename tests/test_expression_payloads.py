"""Hostile rule files on the command line: refused at load, exit 2, nothing run or written.

The payload reaches the shell through the globals of pandas' Series class when an
expression is handed to ``DataFrame.eval``; it is written here on a real column (``dalo``
for a grid, ``qpv`` for a constraint set) so that it would run if it ever reached an
evaluator, and its command touches a marker file that must never appear. Every case runs
through the command line only, as a user would, and checks the exit status, the located
message (file, key, fragment) and that no output folder was made.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from fluxopt.cli.app import cli

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="fluxopt")


def flat(text: str) -> str:
    return " ".join(text.split())


def payload(column: str, marker: Path) -> str:
    return (
        f"{column}.__class__.__init__.__globals__['sys'].modules['os']"
        f".system('touch {marker}') == 0"
    )


def grid_file(folder: Path, expression: str) -> Path:
    path = folder / "evil-grid.yaml"
    grid = {"name": "evil", "criteria": [{"name": "dalo", "expression": expression, "points": 1}]}
    path.write_text(yaml.safe_dump(grid, allow_unicode=True), encoding="utf-8")
    return path


def rules_file(folder: Path, scope: str, name: str = "evil-rules.yaml") -> Path:
    path = folder / name
    rules = {
        "name": "evil",
        "families": {
            "quotas": [
                {"name": "q", "per": "epci", "scope": scope, "share": "q1", "at_least": 0.25}
            ]
        },
    }
    path.write_text(yaml.safe_dump(rules, allow_unicode=True), encoding="utf-8")
    return path


def refused(result: Result, *located: str) -> None:
    """Exit status 2 (no traceback) and a message holding every located part."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    text = flat(result.output)
    for part in located:
        assert part in text, text
    assert "Nothing was solved or written" in text


def test_grid_payload_on_score_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    grid = grid_file(tmp_path, payload("dalo", marker))
    out = tmp_path / "scores"
    result = run("score", TINY, "--grid", grid, "--out", out)
    refused(
        result,
        "evil-grid.yaml, criteria.dalo.expression",
        "attribute access is not allowed",
        "`dalo.__class__`",
    )
    assert not marker.exists()
    assert not out.exists()


def test_constraint_scope_payload_on_solve_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    rules = rules_file(tmp_path, payload("qpv", marker))
    out = tmp_path / "batch"
    result = run("solve", TINY, "--constraints", rules, "--out", out)
    refused(
        result,
        "evil-rules.yaml, families.quotas[0].scope",
        "attribute access is not allowed",
        "`qpv.__class__`",
    )
    assert not marker.exists()
    assert not out.exists()


def test_constraint_payload_through_a_sweep_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    rules = rules_file(tmp_path, payload("qpv", marker))
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        textwrap.dedent(
            f"""\
            name: evil
            scenarios:
              - {{name: as-is}}
              - {{name: evil, constraints: "{rules.name}"}}
            """
        ),
        encoding="utf-8",
    )
    out = tmp_path / "sweep-out"
    result = run("sweep", TINY, sweep, "--out", out, "--scheduler", "inline")
    refused(result, "evil-rules.yaml, families.quotas[0].scope", "`qpv.__class__`")
    assert not marker.exists()
    assert not out.exists()


def test_a_sweep_worker_refuses_the_payload_too(tmp_path: Path) -> None:
    from fluxopt.scenarios.task import run_scenario

    marker = tmp_path / "marker"
    rules = rules_file(tmp_path, payload("qpv", marker))
    row = run_scenario(str(TINY), {"name": "evil", "constraints": str(rules)})
    assert row["status"] == "error"
    assert "families.quotas[0].scope" in row["error"]
    assert not marker.exists()


@pytest.fixture
def evil_instance(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the tiny instance whose instance.yaml names a hostile constraint set."""
    folder = tmp_path / "instance"
    shutil.copytree(TINY, folder)
    marker = tmp_path / "marker"
    rules = rules_file(folder, payload("qpv", marker))
    config = yaml.safe_load((folder / "instance.yaml").read_text(encoding="utf-8"))
    config["constraints"] = rules.name
    (folder / "instance.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    return folder, marker


def test_payload_named_by_instance_yaml_is_refused_before_anything_runs(
    evil_instance: tuple[Path, Path], tmp_path: Path
) -> None:
    folder, marker = evil_instance
    out = tmp_path / "batch"
    result = run("solve", folder, "--out", out)
    refused(result, "evil-rules.yaml, families.quotas[0].scope", "`qpv.__class__`")
    assert not marker.exists()
    assert not out.exists()


def test_validate_reports_the_constraint_set_of_instance_yaml(
    evil_instance: tuple[Path, Path],
) -> None:
    folder, marker = evil_instance
    result = run("validate", folder)
    assert result.exit_code == 2, result.output
    assert "evil-rules.yaml, families.quotas[0].scope" in flat(result.output)
    assert not marker.exists()


REFUSED_SCOPES = [
    ("2**2**2**2**2**2 > 0", "'**' takes a whole literal exponent from 0 to 4"),
    ("commune == 'a' * 10**9", "arithmetic on text is not allowed"),
    ("epci.str.repeat(1000000000) == ''", "attribute access is not allowed"),
    ("rooms in [" + ",".join(["0"] * 1_000_000) + "]", "more than 2,000"),
    ("not " * 100 + "qpv", "nested more than 32 levels deep"),
    ("qpv or " * 400 + "qpv", "characters long, more than 2,000"),
    ("q\u0440v", "U+0440 CYRILLIC SMALL LETTER ER"),
    ("\uff51\uff50\uff56", "U+FF51 FULLWIDTH LATIN SMALL LETTER Q"),
    ("`qpv`", "backtick-quoted names are not allowed"),
    ("rooms > @limit", "'@' (a local variable or a matrix product) is not allowed"),
]


@pytest.mark.timeout(120)
@pytest.mark.parametrize(("scope", "reason"), REFUSED_SCOPES, ids=lambda v: str(v)[:24])
def test_costly_and_disguised_scopes_are_refused_at_load(
    scope: str, reason: str, tmp_path: Path
) -> None:
    rules = rules_file(tmp_path, scope)
    out = tmp_path / "batch"
    result = run("solve", TINY, "--constraints", rules, "--out", out)
    refused(result, "evil-rules.yaml, families.quotas[0].scope", reason)
    assert not out.exists()


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("\uff44\uff41\uff4c\uff4f", "U+FF44 FULLWIDTH LATIN SMALL LETTER D"),
        ("d\u0430lo", "U+0430 CYRILLIC SMALL LETTER A"),
        ("`dalo`", "backtick-quoted names are not allowed"),
        ("annual_income < @limit", "'@' (a local variable or a matrix product)"),
        ("household_size ** 9 > 1", "'**' takes a whole literal exponent"),
    ],
)
def test_grids_refuse_the_same_classes_with_the_same_message(
    expression: str, reason: str, tmp_path: Path
) -> None:
    grid = grid_file(tmp_path, expression)
    result = run("score", TINY, "--grid", grid)
    refused(result, "evil-grid.yaml, criteria.dalo.expression", reason)


def test_the_verifier_refuses_a_local_variable_without_a_traceback(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    solved = run("solve", TINY, "--month", "2026-01", "--out", batch, "--time-limit", "10")
    assert solved.exit_code == 0, solved.output
    rules = tmp_path / "channel.yaml"
    rules.write_text(
        yaml.safe_dump(
            {
                "name": "locals",
                "families": {
                    "channels": [{"name": "c", "holders": "kind == @kind", "admits": "dalo"}]
                },
            }
        ),
        encoding="utf-8",
    )
    result = run("verify", TINY, batch, "--month", "2026-01", "--constraints", rules)
    refused(result, "channel.yaml, families.channels[0].holders", "'@'")
