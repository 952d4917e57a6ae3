"""Helpers of the batch, ledger and report tests: a two-month copy of the tiny instance.

``instances/tiny`` has 8 units, all available in January 2026. The copy moves the last four
to February so that two consecutive monthly batches can run on it in a second or two.

A :class:`Run` is a folder for the outputs (``root/<month>``) and a ledger: by default the
SQLite file ``root/fluxopt.db``; a test parametrised on the ``backend`` fixture passes a
PostgreSQL database as well.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from fluxopt.allocate import SolveSettings
from fluxopt.batch import BatchResult, run_batch
from fluxopt.ledger import Ledger
from fluxopt.ledger.outcomes import import_outcomes
from fluxopt.ledger.simulate import SimulationSettings, simulate_outcomes
from ledger_backends import LedgerBackend

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
FEBRUARY_UNITS = ("U202601-0005", "U202601-0006", "U202601-0007", "U202601-0008")
SETTINGS = SolveSettings(time_limit=30.0)


MARCH_UNITS = ("U202601-0007", "U202601-0008")


def three_month_instance(folder: Path) -> Path:
    """The two-month copy with two of February's units moved on to March (4, 2 and 2 units)."""
    two_month_instance(folder)
    units = pd.read_csv(folder / "units.csv", dtype=str, keep_default_na=False)
    moved = units["unit_id"].isin(MARCH_UNITS)
    units.loc[moved, "available_on"] = "2026-03" + units.loc[moved, "available_on"].str[7:]
    units.to_csv(folder / "units.csv", index=False, lineterminator="\n")
    config = yaml.safe_load((folder / "instance.yaml").read_text(encoding="utf-8"))
    config["months"] = ["2026-01", "2026-02", "2026-03"]
    (folder / "instance.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
    return folder


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


@dataclass(frozen=True)
class Run:
    """An output folder and its ledger (a SQLite file path or a database URL)."""

    root: Path
    ledger: str

    def open(self) -> Ledger:
        """The ledger, opened."""
        return Ledger(self.ledger)


January = tuple[Path, Run, BatchResult]
"""An instance folder, a run with its January batch recorded, and that batch's result."""


def as_run(root: Path | Run) -> Run:
    """A run given as a folder uses the SQLite ledger ``root/fluxopt.db``."""
    return root if isinstance(root, Run) else Run(root, str(root / "fluxopt.db"))


def new_run(backend: LedgerBackend, root: Path) -> Run:
    """A run folder with a new, empty ledger of the backend."""
    root.mkdir(parents=True, exist_ok=True)
    return Run(root, backend.new(root))


def batch(instance: Path, month: str, root: Path | Run, **options: object) -> BatchResult:
    """Run one batch with the run's ledger and outputs in ``root/<month>``."""
    run = as_run(root)
    return run_batch(
        instance,
        month,
        run.ledger,
        run.root / month,
        settings=options.pop("settings", SETTINGS),  # type: ignore[arg-type]
        **options,  # type: ignore[arg-type]
    )


def simulate_and_import(
    root: Path | Run, month: str, instance: Path, settings: SimulationSettings | None = None
) -> pd.DataFrame:
    """Simulate the committee on a batch, import its decisions, return them."""
    run = as_run(root)
    path = run.root / f"outcomes-{month}.csv"
    with run.open() as ledger:
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


def copy_backend_run(source: Run, target: Path, backend: LedgerBackend) -> Run:
    """Copy a run's outputs and its ledger (a file copy, or a database made from a template)."""
    shutil.copytree(source.root, target)
    return Run(target, backend.copy(source.ledger, target))
