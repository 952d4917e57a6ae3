"""Helpers of the batch, ledger and report tests: a two-month copy of the tiny instance.

``instances/tiny`` has 8 units, all available in January 2026. The copy moves the last four
to February so that two consecutive monthly batches can run on it in a second or two.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import yaml

from fluxopt.allocate import SolveSettings
from fluxopt.batch import BatchResult, run_batch
from fluxopt.ledger import Ledger
from fluxopt.ledger.outcomes import import_outcomes
from fluxopt.ledger.simulate import SimulationSettings, simulate_outcomes

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
FEBRUARY_UNITS = ("U202601-0005", "U202601-0006", "U202601-0007", "U202601-0008")
SETTINGS = SolveSettings(time_limit=30.0)


def two_month_instance(folder: Path) -> Path:
    """Copy the tiny instance into ``folder`` with four of its units moved to February."""
    shutil.copytree(TINY, folder)
    units = pd.read_csv(folder / "units.csv", dtype=str, keep_default_na=False)
    moved = units["unit_id"].isin(FEBRUARY_UNITS)
    days = units.loc[moved, "available_on"].str[-2:].astype(int).clip(upper=28)
    units.loc[moved, "available_on"] = "2026-02-" + days.map("{:02d}".format)
    units.to_csv(folder / "units.csv", index=False, lineterminator="\n")
    config = yaml.safe_load((folder / "instance.yaml").read_text(encoding="utf-8"))
    config["months"] = ["2026-01", "2026-02"]
    (folder / "instance.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    return folder


def batch(instance: Path, month: str, root: Path, **options: object) -> BatchResult:
    """Run one batch with the test ledger ``root/fluxopt.db`` and outputs in ``root/<month>``."""
    return run_batch(
        instance,
        month,
        root / "fluxopt.db",
        root / month,
        settings=options.pop("settings", SETTINGS),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def simulate_and_import(
    root: Path, month: str, instance: Path, settings: SimulationSettings | None = None
) -> pd.DataFrame:
    """Simulate the committee on a batch, import its decisions, return them."""
    path = root / f"outcomes-{month}.csv"
    with Ledger(root / "fluxopt.db") as ledger:
        table = simulate_outcomes(ledger, month, None, settings or SimulationSettings(seed=3))
        table.to_csv(path, index=False)
        import_outcomes(path, ledger, instance)
    return table


def write_outcomes(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write an outcomes CSV from a list of rows."""
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def copy_run(source: Path, target: Path) -> Path:
    """Copy a run folder (ledger and outputs) so that a test may change it freely."""
    shutil.copytree(source, target)
    return target
