"""A damaged SQLite ledger gives one line naming the file and what to do, for every command.

Random bytes and a truncated copy of a real ledger, met by each command that reads a
ledger: exit status 2, one line on standard error, no traceback, the file unchanged.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from click.testing import CliRunner

from fluxopt.cli.app import cli
from fluxopt.ledger import Ledger
from fluxopt.schema.problems import RefusedError
from test_batch_support import January


def damaged(kind: str, good: Path, folder: Path) -> Path:
    path = folder / f"{kind}.db"
    if kind == "random-bytes":
        path.write_bytes(random.Random(7).randbytes(64 * 1024))
    else:
        data = good.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    return path


def commands(instance: Path, ledger: Path, folder: Path) -> dict[str, list[str]]:
    outcomes = folder / "outcomes.csv"
    outcomes.write_text("unit_id,decision\nU1,no_attribution\n", encoding="utf-8")
    lg = ["--ledger", str(ledger)]
    return {
        "batch": ["batch", str(instance), "--month", "2026-01", *lg, "--out", str(folder / "o")],
        "outcomes import": ["outcomes", "import", str(outcomes), *lg],
        "outcomes simulate": [
            "outcomes", "simulate", "--month", "2026-01", *lg, "--out", str(folder / "s.csv"),
        ],
        "bilan": ["bilan", "--year", "2026", *lg, "--out", str(folder / "bilan")],
        "ledger info": ["ledger", "info", *lg],
        "ledger check": ["ledger", "check", *lg],
        "ledger publish": ["ledger", "publish", "--batch", "2026-01", *lg],
        "ledger rollback": ["ledger", "rollback", "--batch", "2026-01", *lg],
        "ledger unlock": ["ledger", "unlock", *lg],
    }  # fmt: skip


@pytest.mark.parametrize("kind", ["random-bytes", "truncated"])
def test_every_ledger_command_refuses_a_damaged_file_in_one_line(
    two_month_january_sqlite: January, tmp_path: Path, kind: str
) -> None:
    instance, run, _ = two_month_january_sqlite
    ledger = damaged(kind, Path(run.ledger), tmp_path)
    before = ledger.read_bytes()
    for name, args in commands(instance, ledger, tmp_path).items():
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 2, (name, result.output)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (name, result.stderr)
        assert str(ledger) in lines[0], name
        assert "is not a readable SQLite database" in lines[0], name
        assert "restore it from a backup" in lines[0], name
        assert "Traceback" not in result.output, name
        assert ledger.read_bytes() == before, name
    assert not (tmp_path / "o").exists()
    with pytest.raises(RefusedError, match="not a readable SQLite database"):
        Ledger(ledger)
