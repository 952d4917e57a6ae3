"""A batch is one transaction: a failure after the solve leaves the ledger exactly as before.

Every test runs on a SQLite ledger and on a PostgreSQL one (the ``backend`` fixture).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import fluxopt.batch
import fluxopt.ledger.store
from fluxopt.batch import BatchResult
from fluxopt.ledger.schema import ShortlistRow
from ledger_backends import LedgerBackend
from test_batch_support import January, Run, batch, copy_backend_run


@pytest.fixture(scope="module")
def january(two_month_january: January) -> January:
    """January recorded on the tiny instance (shared: tests work on copies)."""
    return two_month_january


@pytest.fixture
def run(january: January, tmp_path: Path, backend: LedgerBackend) -> Run:
    return copy_backend_run(january[1], tmp_path / "run", backend)


def dump(run: Run) -> dict[str, list[tuple[object, ...]]]:
    with run.open() as ledger:
        return ledger.dump()


KEPT = ("schema_version", "ledger_state")
"""Tables a new ledger fills when it is created."""


def files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_failure_after_the_solve_leaves_ledger_and_outputs_unchanged(
    january: January, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, outputs = dump(run), files(run.root / "2026-01")
    solved: list[str] = []
    original = fluxopt.batch.solve_batch

    def solve_then_note(*args: object, **kwargs: object) -> object:
        result = original(*args, **kwargs)  # type: ignore[arg-type]
        solved.append("yes")
        return result

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("disk full while writing the report")

    monkeypatch.setattr(fluxopt.batch, "solve_batch", solve_then_note)
    monkeypatch.setattr(fluxopt.batch, "write_outputs", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        batch(january[0], "2026-01", run)
    assert solved == ["yes"]
    assert dump(run) == before
    assert files(run.root / "2026-01") == outputs
    assert not list(run.root.glob(".2026-01.*"))


@pytest.mark.parametrize("error", [RuntimeError("connection lost"), KeyboardInterrupt()])
def test_failure_inside_the_transaction_rolls_everything_back(
    january: tuple[Path, Path, BatchResult],
    run: Path,
    monkeypatch: pytest.MonkeyPatch,
    error: BaseException,
) -> None:
    before, outputs = dump(run), files(run.root / "2026-01")
    original = fluxopt.ledger.store.insert_rows
    inserted: list[str] = []

    def failing(conn: object, model: type, frame: pd.DataFrame) -> None:
        if model is ShortlistRow:
            raise error
        original(conn, model, frame)  # type: ignore[arg-type]
        inserted.append(model.__name__)

    monkeypatch.setattr(fluxopt.ledger.store, "insert_rows", failing)
    with pytest.raises(type(error)):
        batch(january[0], "2026-01", run)
    assert inserted == ["OrientationRow"]
    after = dump(run)
    assert after == before
    assert len(after["orientations"]) == 4
    assert files(run.root / "2026-01") == outputs
    assert not list(run.root.glob(".2026-01.*"))


def test_a_first_batch_that_fails_leaves_an_empty_ledger(
    january: January, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: LedgerBackend
) -> None:
    def failing(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("injected")

    fresh = Run(tmp_path, backend.new(tmp_path))
    monkeypatch.setattr(fluxopt.ledger.store, "insert_rows", failing)
    with pytest.raises(RuntimeError):
        batch(january[0], "2026-01", fresh)
    rows = dump(fresh)
    assert all(not found for name, found in rows.items() if name not in KEPT)
    assert [row[2] for row in rows["ledger_state"]] == [0]
    assert not (tmp_path / "2026-01").exists()
    assert not list(tmp_path.glob(".2026-01.*"))
