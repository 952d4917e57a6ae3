"""The applicant statement and the ``score`` command, on the hand-made instance.

Grid used (``SIMPLE``): dalo 30, disability 10, priority 5, and a refusal consequence.
Scores of the hand instance's applicants, by hand from ``conftest.HAND_TABLES``:
A02 and A10 are DALO and priority (30 + 5 = 35); A04 is disabled and priority (10 + 5 = 15);
A07 is priority (5); A08 is disabled (10); the others score 0. Home EPCI and wished rooms:
A01 and A07 are Besançon T2, A02 and A09 Besançon T3, A04 Besançon with no typology wished,
A10 Montbéliard T2. The history holds one attribution in Besançon T3 (7.5 months) and one
in Montbéliard T2 (3 months).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from conftest import BESANCON_EPCI, rewrite_table
from fluxopt.cli.app import cli
from fluxopt.instance import load_instance
from fluxopt.schema.problems import FluxoptError
from fluxopt.scoring import load_grid, score, statement

SIMPLE = """\
name: simple
criteria:
  - {name: dalo, expression: dalo, points: 30, description: DALO household.}
  - {name: disability, expression: disability, points: 10, group: needs}
  - {name: priority, expression: priority, points: 5, group: needs}
groups:
  needs: {mode: highest}
refusal:
  consequence: A refusal has no effect on the score.
transfer:
  criteria:
    - {name: disability, expression: disability, points: 10}
"""


@pytest.fixture
def grid_file(tmp_path: Path) -> Path:
    path = tmp_path / "simple.yaml"
    path.write_text(SIMPLE, encoding="utf-8")
    return path


def test_scores_of_the_hand_instance(hand_instance_dir: Path, grid_file: Path) -> None:
    instance = load_instance(hand_instance_dir)
    result = score(load_grid(grid_file), instance.applicants)
    expected = {
        "A01": 0,
        "A02": 35,
        "A03": 0,
        "A04": 10,
        "A05": 0,
        "A06": 0,
        "A07": 5,
        "A08": 10,
        "A09": 0,
        "A10": 35,
    }
    # A04: disability 10 and priority 5 share the highest-only group 'needs', so 10 counts
    assert result.total.to_dict() == expected
    assert result.transfer[["A03", "A06"]].all()


def test_statement_position_wait_and_priority(hand_instance_dir: Path, grid_file: Path) -> None:
    instance = load_instance(hand_instance_dir)
    grid = load_grid(grid_file)
    told = statement(instance, grid, "A01")
    assert told.score == 0
    assert (told.position.epci, told.position.rooms) == (BESANCON_EPCI, 2)
    # A01 (0) and A07 (5) wish a T2 in Besançon: one demand ahead
    assert (told.position.rank, told.position.count, told.position.ahead) == (2, 2, 1)
    assert told.position.share_ahead == 0.5
    assert told.comparable_wait.average_months is None
    assert not told.priority
    assert told.refusal == "A refusal has no effect on the score."
    text = " ".join(told.sentences())
    assert "ranked 2 of 2, 50.0 % ahead of you" in text
    assert "no comparable attribution" in text

    first = statement(instance, grid, "A02")
    assert (first.position.rank, first.position.count, first.position.ahead) == (1, 2, 0)
    assert first.comparable_wait.average_months == 7.5
    assert first.comparable_wait.attributions == 1
    assert first.priority
    assert first.dalo
    assert [line.points for line in first.lines] == [30, 0, 5]


def test_statement_explains_group_and_scheme(hand_instance_dir: Path, grid_file: Path) -> None:
    instance = load_instance(hand_instance_dir)
    grid = load_grid(grid_file)
    told = statement(instance, grid, "A04")
    lines = {line.entry: line for line in told.lines}
    assert lines["disability"].points == 10
    assert lines["priority"].points == 0
    assert "only the highest of its group counts" in lines["priority"].note
    assert told.position.rooms is None
    assert "any typology" in told.comparable_label()
    # no typology wished: every attribution of the EPCI is comparable
    assert told.comparable_wait.average_months == 7.5
    transfer = statement(instance, grid, "A03")
    assert transfer.scheme == "transfer"
    assert [line.entry for line in transfer.lines] == ["disability"]
    assert transfer.refusal is None


def test_statement_counts_ties(hand_instance_dir: Path, grid_file: Path) -> None:
    def make_a09_dalo(frame: pd.DataFrame) -> None:
        frame.loc[frame["applicant_id"] == "A09", "dalo"] = "true"

    rewrite_table(hand_instance_dir, "applicants", make_a09_dalo)
    instance = load_instance(hand_instance_dir)
    told = statement(instance, load_grid(grid_file), "A09")
    # A09 now scores 30 + 0 = 30 and A02 35: still behind; A02 keeps rank 1
    assert (told.score, told.position.rank) == (30, 2)
    rewrite_table(
        hand_instance_dir,
        "applicants",
        lambda f: f.assign(priority=f["priority"].where(f["applicant_id"] != "A09", "true")),
    )
    tied = statement(load_instance(hand_instance_dir), load_grid(grid_file), "A09")
    assert (tied.score, tied.position.rank, tied.position.tied) == (35, 1, 1)
    assert "1 other(s) have the same score" in tied.position.sentence()


def test_statement_of_an_unknown_applicant(hand_instance_dir: Path, grid_file: Path) -> None:
    instance = load_instance(hand_instance_dir)
    with pytest.raises(FluxoptError, match="Did you mean A01"):
        statement(instance, load_grid(grid_file), "A011")


def test_score_command_writes_scores_and_breakdown(
    hand_instance_dir: Path, grid_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli, ["score", str(hand_instance_dir), "--grid", str(grid_file), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Grid simple: 10 applicants scored" in result.output
    scores = pd.read_csv(out / "scores.csv", dtype={"applicant_id": str})
    assert scores.set_index("applicant_id")["score"].to_dict()["A02"] == 35
    assert scores.loc[scores["applicant_id"] == "A03", "scheme"].item() == "transfer"
    breakdown = pd.read_csv(out / "breakdown.csv")
    assert list(breakdown.columns) == ["applicant_id", "dalo", "disability", "priority"]
    assert breakdown.drop(columns="applicant_id").sum(axis=1).tolist() == scores["score"].tolist()
    missing = pd.read_csv(out / "missing.csv")
    assert list(missing.columns) == ["applicant_id", "entry"]


def test_score_command_prints_a_statement(hand_instance_dir: Path, grid_file: Path) -> None:
    result = CliRunner().invoke(
        cli, ["score", str(hand_instance_dir), "--grid", str(grid_file), "--applicant", "A01"]
    )
    assert result.exit_code == 0, result.output
    assert "ranked 2 of 2" in result.output
    assert "Demand A01" in result.output


def test_score_command_uses_the_instance_grid(hand_instance_dir: Path, grid_file: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["score", str(hand_instance_dir)])
    assert missing.exit_code == 2
    assert "no grid" in missing.output
    (hand_instance_dir / "local.yaml").write_text(grid_file.read_text(), encoding="utf-8")
    config = hand_instance_dir / "instance.yaml"
    config.write_text(config.read_text() + "grid: local\n", encoding="utf-8")
    result = runner.invoke(cli, ["score", str(hand_instance_dir)])
    assert result.exit_code == 0, result.output
    assert "Grid simple" in result.output
    shipped = runner.invoke(cli, ["score", str(hand_instance_dir), "--grid", "paris-groups"])
    assert "Grid paris-groups" in shipped.output


def test_score_command_reports_a_bad_grid(hand_instance_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ncriteria: [{name: c, expression: dallo, points: 1}]\n")
    result = CliRunner().invoke(cli, ["score", str(hand_instance_dir), "--grid", str(bad)])
    assert result.exit_code == 2
    assert "bad.yaml, c" in result.output
    assert "did you mean 'dalo'" in result.output
