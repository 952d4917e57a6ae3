"""The annual bilan (R441-5-1): its totals equal the ledger's, its breakdowns add up."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from fluxopt.cli.app import cli
from fluxopt.ledger import Ledger
from fluxopt.ledger.simulate import SimulationSettings
from fluxopt.report.bilan import DIMENSIONS, bilan_table, write_bilan
from fluxopt.schema.problems import FluxoptError
from test_batch_support import batch, simulate_and_import, two_month_instance


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two batches with outcomes; some January units are refused and offered again."""
    base = tmp_path_factory.mktemp("bilan")
    instance = two_month_instance(base / "tiny")
    root = base / "run"
    batch(instance, "2026-01", root)
    simulate_and_import(root, "2026-01", instance, SimulationSettings(0.5, 0.0, 1.0, seed=3))
    batch(instance, "2026-02", root)
    simulate_and_import(root, "2026-02", instance, SimulationSettings(0.2, 0.1, 1.0, seed=8))
    return root


@pytest.fixture(scope="module")
def table(year: Path) -> pd.DataFrame:
    with Ledger(year / "fluxopt.db") as ledger:
        return bilan_table(ledger, 2026)


def _query(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return list(conn.execute(sql))


def test_totals_equal_the_ledger(year: Path, table: pd.DataFrame) -> None:
    path = year / "fluxopt.db"
    pairs = _query(
        path, "SELECT DISTINCT holder_id, unit_id FROM orientations WHERE holder_id != ''"
    )
    proposed = Counter(holder for holder, _ in pairs)
    attributed = Counter(
        holder
        for (holder,) in _query(
            path,
            "SELECT holder_id FROM outcomes WHERE decision IN ('attributed', 'holder_candidate')",
        )
    )
    totals = table[table["dimension"] == "total"].set_index("holder_id")
    assert totals["proposed"].to_dict() == dict(proposed)
    assert {h: n for h, n in totals["attributed"].items() if n} == dict(attributed)
    offered_twice = _query(
        path, "SELECT unit_id FROM orientations GROUP BY unit_id HAVING COUNT(*) > 1"
    )
    assert offered_twice, "the scenario must offer a unit twice"


def test_every_breakdown_adds_up_to_the_totals(table: pd.DataFrame) -> None:
    totals = table[table["dimension"] == "total"].set_index("holder_id")[["proposed", "attributed"]]
    for dimension in DIMENSIONS:
        rows = table[table["dimension"] == dimension]
        sums = rows.groupby("holder_id")[["proposed", "attributed"]].sum()
        pd.testing.assert_frame_equal(sums.sort_index(), totals.sort_index(), check_names=False)
    typologies = set(table.loc[table["dimension"] == "typology", "category"])
    assert typologies <= {f"T{n}" for n in range(1, 7)}
    assert set(table.loc[table["dimension"] == "location", "category"]) <= {
        "QPV",
        "outside QPV",
    }


def test_files_hold_the_same_figures(table: pd.DataFrame, tmp_path: Path) -> None:
    paths = write_bilan(tmp_path, table, 2026, "Habitat Synthétique")
    written = pd.read_csv(paths["csv"], dtype={"category": str})
    assert len(written) == len(table)
    assert written["proposed"].sum() == table["proposed"].sum()
    book = load_workbook(paths["xlsx"])
    assert book.sheetnames == ["Read me", "Totals", *DIMENSIONS.values()]
    for title in DIMENSIONS.values():
        sheet = pd.DataFrame(
            list(book[title].iter_rows(min_row=2, values_only=True)),
            columns=[c.value for c in book[title][1]],
        )
        total = sheet[sheet["Holder"] == "All holders"].iloc[0]
        proposed = sum(total[c] for c in sheet.columns if str(c).endswith(": proposed"))
        attributed = sum(total[c] for c in sheet.columns if str(c).endswith(": attributed"))
        grand = table[table["dimension"] == "total"]
        assert proposed == grand["proposed"].sum()
        assert attributed == grand["attributed"].sum()


def test_cli_writes_the_bilan(year: Path, tmp_path: Path) -> None:
    ledger = str(year / "fluxopt.db")
    result = CliRunner().invoke(
        cli, ["bilan", "--year", "2026", "--ledger", ledger, "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "bilan-2026.xlsx").exists()
    assert (tmp_path / "bilan-2026.csv").exists()
    empty = CliRunner().invoke(cli, ["bilan", "--year", "2025", "--ledger", ledger])
    assert empty.exit_code == 2
    assert "no batch in 2025" in empty.output
    with Ledger(year / "fluxopt.db") as opened, pytest.raises(FluxoptError):
        bilan_table(opened, 2024)
