"""A batch never deletes what it did not write: the rules of its output folder.

A batch writes into a new or empty folder, or replaces the papers of a folder whose marker
says they are its own instance's and month's, from the same ledger, and then only the files
its marker lists. Anything else is refused (exit status 2) with nothing touched, solved or
recorded. These rules are about files, not the database: the tests use SQLite ledgers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import fluxopt.batch
from fluxopt import papers
from fluxopt.batch import BatchResult
from fluxopt.cli.app import cli
from fluxopt.ledger import Ledger
from fluxopt.schema.problems import RefusedError
from test_batch_support import January, batch, copy_run, simulate_and_import


@pytest.fixture(scope="module")
def january(two_month_january_sqlite: January) -> tuple[Path, Path, BatchResult]:
    """January recorded on the tiny instance, SQLite ledger (shared: tests work on copies)."""
    instance, run, result = two_month_january_sqlite
    return instance, run.root, result


@pytest.fixture
def run(january: tuple[Path, Path, BatchResult], tmp_path: Path) -> Path:
    return copy_run(january[1], tmp_path / "run")


class SolveStartedError(Exception):
    """Raised where a batch starts solving: every check before it has passed."""


@pytest.fixture
def no_solve(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Note every solve a batch starts, and stop it there (a refused batch starts none)."""
    solved: list[str] = []

    def noting(plan: fluxopt.batch.BatchPlan, *_args: object) -> object:
        solved.append(plan.month)
        raise SolveStartedError(plan.month)

    monkeypatch.setattr(fluxopt.batch, "solve_batch", noting)
    return solved


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones too) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def batch_args(instance: Path, month: str, ledger: Path, out: Path) -> list[str]:
    return [
        "batch", str(instance), "--month", month, "--ledger", str(ledger), "--out", str(out),
        "--time-limit", "30",
    ]  # fmt: skip


def test_a_folder_with_a_ledger_and_someones_files_is_refused_untouched(
    january: tuple[Path, Path, BatchResult], tmp_path: Path, no_solve: list[str]
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    shutil.copyfile(january[1] / "fluxopt.db", folder / "fluxopt.db")
    (folder / "minutes-of-the-committee.docx").write_bytes(b"someone's work \x00\x01")
    before = snapshot(folder)
    ledger = tmp_path / "ledger.db"
    code, output = invoke(*batch_args(january[0], "2026-01", ledger, folder))
    assert code == 2, output
    assert "is not empty" in output
    assert "choose another folder with --out" in output
    assert snapshot(folder) == before
    assert no_solve == []
    with Ledger(ledger) as opened:
        assert opened.batches().empty
    assert not list(tmp_path.glob(".shared.*"))


def test_a_rerun_replaces_only_the_files_fluxopt_wrote(
    january: tuple[Path, Path, BatchResult], run: Path
) -> None:
    folder = run / "2026-01"
    (folder / "notes.txt").write_text("kept", encoding="utf-8")
    (folder / "notices" / "read-me-first.txt").write_text("kept too", encoding="utf-8")
    old = papers.read_marker(folder)
    assert old is not None
    again = batch(january[0], "2026-01", run)
    new = papers.read_marker(folder)
    assert new is not None
    assert new.run_id == again.run_id != old.run_id
    assert set(new.files) == set(old.files)
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "kept"
    assert (folder / "notices" / "read-me-first.txt").read_text(encoding="utf-8") == "kept too"
    assert all(papers.digest_file(folder / n) == d for n, d in new.files.items())
    assert sorted(p.name for p in run.iterdir()) == ["2026-01", "fluxopt.db"]


def test_papers_with_recorded_outcomes_are_replaced_only_with_force(
    january: tuple[Path, Path, BatchResult], run: Path, no_solve: list[str]
) -> None:
    simulate_and_import(run, "2026-01", january[0])
    folder = run / "2026-01"
    before = snapshot(folder)
    code, output = invoke(*batch_args(january[0], "2026-01", run / "fluxopt.db", folder))
    assert code == 2, output
    assert "outcomes of 2026-01 are recorded" in output
    assert snapshot(folder) == before
    assert no_solve == []
    with pytest.raises(SolveStartedError):
        batch(january[0], "2026-01", run, force=True)
    assert no_solve == ["2026-01"]
    assert snapshot(folder) == before


def test_papers_of_another_month_or_ledger_are_refused(
    january: tuple[Path, Path, BatchResult], run: Path, tmp_path: Path, no_solve: list[str]
) -> None:
    folder = run / "2026-01"
    before = snapshot(folder)
    with pytest.raises(RefusedError, match="holds the papers of batch 2026-01"):
        fluxopt.batch.run_batch(january[0], "2026-02", run / "fluxopt.db", folder)
    with pytest.raises(RefusedError, match="published from another ledger"):
        fluxopt.batch.run_batch(january[0], "2026-01", tmp_path / "other.db", folder)
    assert snapshot(folder) == before
    assert no_solve == []
    with pytest.raises(SolveStartedError):
        fluxopt.batch.run_batch(january[0], "2026-01", tmp_path / "other.db", folder, force=True)
    assert snapshot(folder) == before


def test_a_paper_changed_by_someone_is_not_overwritten(
    january: tuple[Path, Path, BatchResult], run: Path, no_solve: list[str]
) -> None:
    folder = run / "2026-01"
    with (folder / "shortlist.csv").open("a", encoding="utf-8") as handle:
        handle.write("# checked by the committee secretary\n")
    (folder / "notices").rename(run / "moved-notices")
    (folder / "notices").mkdir()
    (folder / "report.html").unlink()
    (folder / "report.html").write_text("my own report", encoding="utf-8")
    before = snapshot(folder)
    with pytest.raises(RefusedError) as caught:
        batch(january[0], "2026-01", run)
    assert "shortlist.csv" in str(caught.value)
    assert "report.html" in str(caught.value)
    assert snapshot(folder) == before
    assert no_solve == []


def test_a_marker_that_points_outside_its_folder_is_not_trusted(
    january: tuple[Path, Path, BatchResult], run: Path
) -> None:
    folder = run / "2026-01"
    marker = json.loads((folder / papers.MARKER).read_text(encoding="utf-8"))
    marker["files"]["../fluxopt.db"] = "0" * 64
    (folder / papers.MARKER).write_text(json.dumps(marker), encoding="utf-8")
    before = snapshot(folder)
    with Ledger(run / "fluxopt.db") as ledger:
        rows = ledger.dump()
    with pytest.raises(RefusedError, match="not a path inside the folder"):
        batch(january[0], "2026-01", run)
    assert snapshot(folder) == before
    with Ledger(run / "fluxopt.db") as ledger:
        assert ledger.dump() == rows


def test_staging_folders_of_killed_runs_are_cleaned_and_no_others(
    january: tuple[Path, Path, BatchResult], run: Path
) -> None:
    with Ledger(run / "fluxopt.db") as ledger:
        ledger_id = ledger.ledger_id
    killed = run / ".2026-01.staging-0123456789ab"
    killed.mkdir()
    papers.Marker("staging", "tiny", "2026-01", "2026-01", "0123456789ab", "l", ledger_id).write(
        killed
    )
    (killed / "orientation.csv").write_text("half written", encoding="utf-8")
    lookalike = run / ".2026-01.staging-notfluxopts"
    lookalike.mkdir()
    (lookalike / "keep.txt").write_text("someone's", encoding="utf-8")
    other_ledger = run / ".2026-01.staging-ba9876543210"
    other_ledger.mkdir()
    papers.Marker("staging", "tiny", "2026-01", "2026-01", "ba9876543210", "l", "x" * 32).write(
        other_ledger
    )
    batch(january[0], "2026-01", run)
    assert not killed.exists()
    assert (lookalike / "keep.txt").read_text(encoding="utf-8") == "someone's"
    assert other_ledger.is_dir()


def _unprivileged(command: list[str]) -> list[str]:
    """Run ``command`` without the power to override file permissions (when root)."""
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: a read-only folder cannot be simulated")
    drop = "-dac_override,-dac_read_search,-fowner"
    return [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", *command]


def test_a_read_only_output_folder_is_refused_before_solving(
    january: tuple[Path, Path, BatchResult], tmp_path: Path
) -> None:
    parent = tmp_path / "papers"
    folder = parent / "2026-01"
    folder.mkdir(parents=True)
    parent.chmod(0o555)
    folder.chmod(0o555)
    ledger = tmp_path / "ledger.db"
    try:
        command = [
            str(Path(sys.executable).with_name("fluxopt")), "batch", str(january[0]),
            "--month", "2026-01", "--ledger", str(ledger), "--out", str(folder),
        ]  # fmt: skip
        done = subprocess.run(
            _unprivileged(command), capture_output=True, text=True, timeout=300, check=False
        )
    finally:
        parent.chmod(0o755)
        folder.chmod(0o755)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "cannot write the batch's papers" in lines[0]
    assert "nothing was solved or recorded" in lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    assert "solving" not in done.stdout
    assert list(parent.iterdir()) == [folder]
    assert list(folder.iterdir()) == []
    with Ledger(ledger) as opened:
        assert opened.batches().empty
        assert opened.revision() == 0
