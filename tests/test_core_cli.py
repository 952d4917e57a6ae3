"""The ``solve`` and ``verify`` commands on the committed tiny instance."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner, Result

from fluxopt.cli.app import cli

TINY = str(Path(__file__).resolve().parents[1] / "instances" / "tiny")


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), prog_name="fluxopt")


def flat(text: str) -> str:
    """The output with line wraps undone."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Result]:
    out = tmp_path_factory.mktemp("batch") / "2026-01"
    result = run("solve", TINY, "--month", "2026-01", "--out", str(out), "--time-limit", "10")
    return out, result


def test_solve_writes_the_decision_tables(batch: tuple[Path, Result]) -> None:
    out, result = batch
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} >= {
        "orientation.csv",
        "shortlist.csv",
        "summary.json",
        "verification.txt",
    }
    orientation = pd.read_csv(out / "orientation.csv", dtype=str)
    assert len(orientation) == 8
    assert orientation["holder_id"].notna().all()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "optimal"
    assert summary["verification"]["violations"] == 0
    assert summary["units"] == 8
    assert (out / "verification.txt").read_text(encoding="utf-8").startswith("0 violation(s)")
    assert "decisions written to" in result.output


def test_verify_accepts_the_batch(batch: tuple[Path, Result]) -> None:
    out, _ = batch
    result = run("verify", TINY, str(out), "--month", "2026-01")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("0 violation(s)")


def test_verify_exits_3_on_a_planted_error(batch: tuple[Path, Result], tmp_path: Path) -> None:
    out, _ = batch
    planted = tmp_path / "planted"
    planted.mkdir()
    (planted / "orientation.csv").write_bytes((out / "orientation.csv").read_bytes())
    shortlist = pd.read_csv(out / "shortlist.csv", dtype={"unit_id": str, "applicant_id": str})
    firsts = shortlist.index[shortlist["rank"] == 1]
    twice = shortlist.loc[firsts[0], "applicant_id"]
    shortlist.loc[firsts[1], "applicant_id"] = twice
    shortlist.to_csv(planted / "shortlist.csv", index=False)
    result = run("verify", TINY, str(planted), "--month", "2026-01")
    assert result.exit_code == 3
    assert f"shortlist (applicant {twice}): on 2 shortlists" in flat(result.output)


def test_verify_shows_the_severity_of_each_finding(batch: tuple[Path, Result]) -> None:
    out, _ = batch
    result = run("verify", TINY, str(out), "--month", "2026-01")
    assert "[shortfall] shortlist" in flat(result.output)


@pytest.mark.parametrize("command", ["solve", "verify"])
def test_help(command: str) -> None:
    result = run(command, "--help")
    assert result.exit_code == 0
    assert f"Usage: fluxopt {command} [OPTIONS] INSTANCE" in result.output
    if command == "solve":
        assert "--time-limit" in result.output
        assert "Exits with status 3" in result.output
    else:
        assert "BATCH" in result.output


def test_solve_with_a_month_without_units_is_a_short_error(tmp_path: Path) -> None:
    result = run("solve", TINY, "--month", "2026-07", "--out", str(tmp_path / "none"))
    assert result.exit_code == 2
    assert "no unit becomes available in 2026-07" in result.output
    assert not (tmp_path / "none").exists()


def test_solve_exports_the_built_model_for_another_solver(tmp_path: Path) -> None:
    import highspy

    model = tmp_path / "model.mps"
    result = run(
        "solve",
        TINY,
        "--month",
        "2026-01",
        "--out",
        str(tmp_path / "o"),
        "--export",
        str(model),
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.readModel(str(model))
    highs.run()
    assert highs.getInfo().objective_function_value == pytest.approx(summary["objective"], abs=1e-6)
