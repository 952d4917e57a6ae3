"""One batch per ledger at a time, a revision check at commit, months in order, stale months.

Every test runs on a SQLite ledger and on a PostgreSQL one (the ``backend`` fixture). The
instance has units in January (4), February (2) and March (2); the module's run has
January recorded, without outcomes.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert

import fluxopt.batch
from fluxopt import papers
from fluxopt.batch import BatchPlan, BatchResult
from fluxopt.cli.app import cli
from fluxopt.ledger.lock import LedgerBusyError, holder
from fluxopt.ledger.schema import LockRow
from fluxopt.ledger.simulate import SimulationSettings
from fluxopt.ledger.store import LedgerChangedError
from fluxopt.schema.problems import RefusedError
from ledger_backends import LedgerBackend
from test_batch_support import (
    January,
    Run,
    batch,
    copy_backend_run,
    new_run,
    simulate_and_import,
)


@pytest.fixture(scope="module")
def january(three_month_january: January) -> January:
    """January recorded on the tiny instance (shared: tests work on copies)."""
    return three_month_january


@pytest.fixture
def run(january: January, tmp_path: Path, backend: LedgerBackend) -> Run:
    return copy_backend_run(january[1], tmp_path / "run", backend)


def months(run: Run) -> list[str]:
    with run.open() as ledger:
        return list(ledger.batches()["month"])


def hold_solve(monkeypatch: pytest.MonkeyPatch, month: str, during: object) -> None:
    """Call ``during(plan)`` when the batch of ``month`` starts solving (once)."""
    original = fluxopt.batch.solve_batch
    done: list[bool] = []

    def solving(plan: BatchPlan, *args: object) -> object:
        if plan.month == month and not done:
            done.append(True)
            during(plan)  # type: ignore[operator]
        return original(plan, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(fluxopt.batch, "solve_batch", solving)


def test_two_batches_at_once_one_records_the_other_is_refused(
    january: January, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = january[0]
    inside, finish = threading.Event(), threading.Event()

    def wait(_plan: BatchPlan) -> None:
        inside.set()
        assert finish.wait(300)

    hold_solve(monkeypatch, "2026-02", wait)
    outcome: dict[str, object] = {}

    def february() -> None:
        try:
            outcome["february"] = batch(instance, "2026-02", run)
        except BaseException as exc:
            outcome["february"] = exc

    thread = threading.Thread(target=february)
    thread.start()
    try:
        assert inside.wait(300)
        with pytest.raises(LedgerBusyError) as caught:
            batch(instance, "2026-03", run, allow_gap=True)
    finally:
        finish.set()
        thread.join(300)
    assert isinstance(outcome["february"], BatchResult), outcome
    text = str(caught.value)
    assert "is busy: batch 2026-02 of instance 'tiny'" in text
    assert f"process {os.getpid()}" in text
    assert "fluxopt ledger unlock --ledger" in text
    assert months(run) == ["2026-01", "2026-02"]
    assert not (run.root / "2026-03").exists()
    with run.open() as ledger:
        assert holder(ledger) is None
    march = batch(instance, "2026-03", run)
    assert march.summary["units_awaiting_decision"] == 4 + 2
    assert months(run) == ["2026-01", "2026-02", "2026-03"]


@pytest.mark.parametrize("meanwhile", ["outcomes", "batch"])
def test_a_write_while_a_batch_solves_refuses_its_commit(
    january: January, run: Run, monkeypatch: pytest.MonkeyPatch, meanwhile: str
) -> None:
    instance = january[0]

    def write_meanwhile(_plan: BatchPlan) -> None:
        with run.open() as ledger, ledger.write() as conn:
            conn.execute(delete(LockRow))  # removed by hand, thought to be stale
        if meanwhile == "outcomes":
            simulate_and_import(run, "2026-01", instance, SimulationSettings(0.0, 0.0, 1.0, 1))
        else:
            batch(instance, "2026-02", run)

    hold_solve(monkeypatch, "2026-02", write_meanwhile)
    with pytest.raises(LedgerChangedError) as caught:
        batch(instance, "2026-02", run)
    assert "another batch was recorded meanwhile" in str(caught.value)
    assert "run again" in str(caught.value)
    with run.open() as ledger:
        assert ledger.revision() == 2  # January's batch, then the write meanwhile
        assert holder(ledger) is None
        rows = ledger.dump()
    recorded = sorted(row[0] for row in rows["batches"])
    if meanwhile == "outcomes":
        assert recorded == ["2026-01"]
        assert rows["outcomes"]
    else:
        assert recorded == ["2026-01", "2026-02"]
        with run.open() as ledger:
            row = ledger.batch("2026-02")
        assert row is not None
        marker = papers.read_marker(run.root / "2026-02")
        assert marker is not None
        assert marker.run_id == row["run_id"]
        assert row["published_at"]
    assert not list(run.root.glob(".2026-02.*"))


class SolveStartedError(Exception):
    """Raised where the batch starts solving: every check before it has passed."""


def test_months_are_solved_in_order_unless_a_gap_is_allowed(
    january: January, tmp_path: Path, backend: LedgerBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance = january[0]
    fresh = new_run(backend, tmp_path / "fresh")

    def reached(_plan: BatchPlan) -> None:
        raise SolveStartedError

    hold_solve(monkeypatch, "2026-02", reached)
    args = ["batch", str(instance), "--ledger", fresh.ledger, "--month", "2026-02"]
    refused = CliRunner().invoke(cli, [*args, "--out", str(fresh.root / "2026-02")])
    assert refused.exit_code == 2, refused.output
    assert "no batch is recorded for 2026-01" in refused.output
    assert "--allow-gap" in refused.output
    assert not (fresh.root / "2026-02").exists()
    with pytest.raises(SolveStartedError):
        batch(instance, "2026-02", fresh, allow_gap=True)
    assert months(fresh) == []
    assert not list(fresh.root.glob(".2026-02*"))


def test_rerunning_an_earlier_month_marks_later_ones_stale(january: January, run: Run) -> None:
    instance = january[0]
    batch(instance, "2026-02", run)
    simulate_and_import(run, "2026-01", instance, SimulationSettings(0.0, 0.0, 1.0, 1))
    with pytest.raises(RefusedError, match="later months are recorded"):
        batch(instance, "2026-01", run)
    result = CliRunner().invoke(
        cli,
        [
            "batch", str(instance), "--month", "2026-01", "--ledger", run.ledger,
            "--out", str(run.root / "2026-01"), "--force",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "stale" in result.output
    assert "2026-02" in result.output.split("stale", 1)[1]
    info = CliRunner().invoke(cli, ["ledger", "info", "--ledger", run.ledger])
    assert "stale: 2026-02 (2026-01 was recorded again" in info.output
    with pytest.raises(RefusedError, match=r"batches of 2026-02 are stale"):
        batch(instance, "2026-03", run)
    again = batch(instance, "2026-02", run)
    assert again.replaced
    assert again.summary["units_awaiting_decision"] == 4
    with run.open() as ledger:
        assert list(ledger.batches()["stale"]) == ["", ""]


def test_a_stale_lock_is_named_and_unlock_removes_it(
    january: January, run: Run, tmp_path: Path
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    with run.open() as ledger, ledger.write() as conn:
        conn.execute(
            insert(LockRow).values(
                name="batch",
                owner="killed",
                purpose="batch 2026-02 of instance 'tiny'",
                host=socket.gethostname(),
                pid=gone.pid,
                acquired_at="2026-02-01T09:00:00+00:00",
            )
        )
    out = tmp_path / "february"
    result = CliRunner().invoke(
        cli,
        ["batch", str(january[0]), "--month", "2026-02", "--ledger", run.ledger, "--out", str(out)],
    )
    assert result.exit_code == 2, result.output
    assert "is no longer running: the lock is stale" in result.output
    assert f"fluxopt ledger unlock --ledger {run.ledger}" in result.output
    assert not out.exists()
    unlocked = CliRunner().invoke(cli, ["ledger", "unlock", "--ledger", run.ledger])
    assert unlocked.exit_code == 0, unlocked.output
    assert f"process {gone.pid}" in unlocked.output
    with run.open() as ledger:
        assert holder(ledger) is None
        with ledger.write() as conn:
            conn.execute(
                insert(LockRow).values(
                    name="batch",
                    owner="alive",
                    purpose="batch 2026-02 of instance 'tiny'",
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    acquired_at="2026-02-01T09:00:00+00:00",
                )
            )
    refused = CliRunner().invoke(cli, ["ledger", "unlock", "--ledger", run.ledger])
    assert refused.exit_code == 2, refused.output
    assert "held by a running process" in refused.output
