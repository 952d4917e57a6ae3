"""End to end on the demo instance: three monthly batches with committee outcomes between them.

This is what ``make demo`` runs; the test checks the outputs open and the year adds up.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from fluxopt.allocate import SolveSettings
from fluxopt.batch import run_batch
from fluxopt.instance import load_instance
from fluxopt.ledger import Ledger
from fluxopt.ledger.counters import unit_states
from fluxopt.ledger.outcomes import import_outcomes
from fluxopt.ledger.simulate import SimulationSettings, simulate_outcomes
from fluxopt.report.bilan import bilan_table, write_bilan

DEMO = Path(__file__).resolve().parents[1] / "instances" / "demo"
MONTHS = ("2026-01", "2026-02", "2026-03")


@pytest.mark.slow
def test_three_months_on_the_demo_instance(tmp_path: Path) -> None:
    ledger_path = tmp_path / "fluxopt.db"
    instance = load_instance(DEMO)
    carried = []
    for month in MONTHS:
        result = run_batch(
            DEMO, month, ledger_path, tmp_path / month, settings=SolveSettings(time_limit=30)
        )
        carried.append(result.summary["units_carried_over"])
        assert result.report.ok
        assert result.summary["units_filled"] >= 0.9 * result.summary["units"]
        with Ledger(ledger_path) as ledger:
            table = simulate_outcomes(ledger, month, instance, SimulationSettings(seed=1))
            path = tmp_path / month / "outcomes-simulated.csv"
            table.to_csv(path, index=False)
            import_outcomes(path, ledger, instance)
    assert carried[0] == 0
    assert carried[1] > 0
    with Ledger(ledger_path) as ledger:
        states = unit_states(ledger, 2026)
        bilan = bilan_table(ledger, 2026)
    paths = write_bilan(tmp_path / "bilan", bilan, 2026)
    totals = bilan[bilan["dimension"] == "total"]
    assert totals["attributed"].sum() == (states["state"] == "attributed").sum()
    assert load_workbook(paths["xlsx"]).sheetnames[0] == "Read me"
    last = tmp_path / "2026-03"
    summary = json.loads((last / "summary.json").read_text(encoding="utf-8"))
    trajectory = pd.DataFrame(summary["trajectory"])
    assert sorted(trajectory["month"].unique()) == list(MONTHS)
    assert "<svg" in (last / "report.html").read_text(encoding="utf-8")
    assert len(load_workbook(last / "committee-2026-03.xlsx").sheetnames) > 10
