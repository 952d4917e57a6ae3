"""Publication is a step of its own: a batch killed after its commit is finished or undone.

Every test runs on a SQLite ledger and on a PostgreSQL one (the ``backend`` fixture), on a
copy of the three-month tiny instance's run with January recorded.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from fluxopt import papers
from fluxopt.cli.app import cli
from fluxopt.ledger.lock import holder
from fluxopt.ledger.simulate import SimulationSettings
from fluxopt.schema.problems import PartialResultError
from ledger_backends import LedgerBackend
from test_batch_support import January, Run, batch, copy_backend_run, simulate_and_import

TESTS = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def january(three_month_january: January) -> January:
    """January recorded on the three-month tiny instance (shared: tests work on copies)."""
    return three_month_january


@pytest.fixture
def run(january: January, tmp_path: Path, backend: LedgerBackend) -> Run:
    return copy_backend_run(january[1], tmp_path / "run", backend)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


KILLED_AFTER_COMMIT = """
import os, signal, sys
from pathlib import Path
sys.path.insert(0, {tests!r})
import fluxopt.papers
from test_batch_support import Run, batch

def killed(*_args, **_kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

fluxopt.papers.publish = killed
batch(Path({instance!r}), "2026-02", Run(Path({root!r}), {ledger!r}))
"""


def test_a_batch_killed_between_commit_and_publication_is_named_then_finished(
    january: January, run: Run
) -> None:
    script = KILLED_AFTER_COMMIT.format(
        tests=str(TESTS), instance=str(january[0]), root=str(run.root), ledger=run.ledger
    )
    killed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, timeout=600
    )
    assert killed.returncode == -9, killed.stderr
    folder = run.root / "2026-02"
    assert not folder.exists()
    publish = f"fluxopt ledger publish --batch 2026-02 --ledger {run.ledger}"
    rollback = f"fluxopt ledger rollback --batch 2026-02 --ledger {run.ledger}"

    code, output = invoke("ledger", "info", "--ledger", run.ledger)
    assert code == 0, output
    assert "HALF-PUBLISHED" in output
    assert publish in output
    assert rollback in output
    code, output = invoke(
        "batch", str(january[0]), "--month", "2026-03", "--ledger", run.ledger,
        "--out", str(run.root / "2026-03"),
    )  # fmt: skip
    assert code == 2, output
    assert publish in output
    assert not (run.root / "2026-03").exists()
    outcomes = run.root / "outcomes.csv"
    outcomes.write_text("unit_id,decision\nU202601-0001,no_attribution\n", encoding="utf-8")
    code, output = invoke("outcomes", "import", str(outcomes), "--ledger", run.ledger)
    assert code == 2, output
    assert rollback in output
    code, output = invoke("ledger", "check", "--ledger", run.ledger)
    assert code == 3, output
    assert "committed in the ledger but its papers were not published" in output

    code, output = invoke(*publish.split()[1:])
    assert code == 2, output
    assert "the lock is stale" in output
    assert invoke("ledger", "unlock", "--ledger", run.ledger)[0] == 0
    code, output = invoke(*publish.split()[1:])
    assert code == 0, output
    marker = papers.read_marker(folder)
    assert marker is not None
    with run.open() as ledger:
        row = ledger.batch("2026-02")
        assert ledger.half_published().empty
        assert holder(ledger) is None
    assert row is not None
    assert marker.run_id == row["run_id"]
    assert row["published_at"] >= row["committed_at"]
    assert row["undo"] == ""
    assert (folder / "report.html").is_file()
    assert not list(run.root.glob(".2026-02.*"))
    code, output = invoke("ledger", "check", "--ledger", run.ledger)
    assert code == 0, output
    assert "agree" in output


def test_a_replacement_stopped_halfway_is_rolled_back_to_the_old_papers_and_rows(
    january: January, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    simulate_and_import(run, "2026-01", january[0], SimulationSettings(0.5, 0.0, 1.0, seed=2))
    folder = run.root / "2026-01"
    (folder / "notes.txt").write_text("someone's notes", encoding="utf-8")
    papers_before = snapshot(folder)
    with run.open() as ledger:
        rows_before = ledger.dump()
    old = papers.read_marker(folder)
    assert old is not None
    moves: list[Path] = []
    original = papers._move

    def failing(source: Path, destination: Path) -> None:
        moves.append(destination)
        if len(moves) == len(old.files) + 3:
            raise OSError(28, "No space left on device")
        original(source, destination)

    monkeypatch.setattr(papers, "_move", failing)
    with pytest.raises(PartialResultError) as caught:
        batch(january[0], "2026-01", run, force=True)
    monkeypatch.undo()
    assert "No space left on device" in str(caught.value)
    rollback = f"fluxopt ledger rollback --batch 2026-01 --ledger {run.ledger}"
    assert rollback in str(caught.value)
    assert snapshot(folder) != papers_before
    with run.open() as ledger:
        assert list(ledger.half_published()["month"]) == ["2026-01"]
        assert ledger.dump()["outcomes"] == []

    code, output = invoke(*rollback.split()[1:])
    assert code == 0, output
    assert "the batch it replaced is back" in output
    assert snapshot(folder) == papers_before
    with run.open() as ledger:
        rows_after = ledger.dump()
    assert rows_after.pop("ledger_state") != rows_before.pop("ledger_state")
    assert rows_after == rows_before
    assert not list(run.root.glob(".2026-01.*"))
    code, output = invoke("ledger", "check", "--ledger", run.ledger)
    assert code == 0, output


def test_ledger_check_finds_papers_that_disagree_with_the_ledger(run: Run, tmp_path: Path) -> None:
    folder = run.root / "2026-01"
    code, output = invoke("ledger", "check", "--ledger", run.ledger)
    assert code == 0, output
    assert "1 folder(s) agree" in output
    shortlist = (folder / "shortlist.csv").read_text(encoding="utf-8").splitlines()
    header = shortlist[0].split(",")
    first = shortlist[1].split(",")
    first[header.index("applicant_id")] = "A-SOMEONE-ELSE"
    shortlist[1] = ",".join(first)
    (folder / "shortlist.csv").write_text("\n".join(shortlist) + "\n", encoding="utf-8")
    stranger = tmp_path / "stranger"
    stranger.mkdir()
    (stranger / "orientation.csv").write_text("unit_id,holder_id\n", encoding="utf-8")
    code, output = invoke("ledger", "check", "--ledger", run.ledger, str(folder), str(stranger))
    assert code == 3, output
    assert "shortlist.csv was changed after publication" in output
    assert "shortlist.csv differs from the ledger: 1 row(s) only in the file" in output
    assert "A-SOMEONE-ELSE" in output
    assert f"{stranger}: no {papers.MARKER}" in output
    assert "3 finding(s) over 2 folder(s)" in output
