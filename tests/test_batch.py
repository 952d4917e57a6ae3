"""The monthly batch: what it records, idempotent re-runs and the rules for replacing a month.

Every test runs on a SQLite ledger and on a PostgreSQL one (the ``backend`` fixture).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from fluxopt.allocate import SolveSettings
from fluxopt.ledger.schema import BatchRow, OrientationRow, ShortlistRow
from fluxopt.ledger.simulate import SimulationSettings, simulate_outcomes
from fluxopt.schema.problems import FluxoptError
from ledger_backends import LedgerBackend
from test_batch_support import (
    January,
    Run,
    batch,
    copy_backend_run,
    simulate_and_import,
)

RUN_COLUMNS = {
    "timings",
    "started_at",
    "finished_at",
    "run_id",
    "committed_at",
    "published_at",
    "out_dir",
}
"""Columns of a batch row that differ between two runs of a batch (clocks, run, folder)."""


@pytest.fixture(scope="module")
def january(two_month_january: January) -> January:
    """January recorded on the tiny instance (shared: tests work on copies)."""
    return two_month_january


@pytest.fixture
def run(january: January, tmp_path: Path, backend: LedgerBackend) -> Run:
    """A private copy of the January run (outputs and ledger)."""
    return copy_backend_run(january[1], tmp_path / "run", backend)


def dump(run: Run) -> dict[str, list[tuple[object, ...]]]:
    with run.open() as ledger:
        return ledger.dump()


def without_timings(rows: dict[str, list[tuple[object, ...]]]) -> dict[str, object]:
    """The dump without the batch rows' clock fields and run id, nor the ledger's revision."""
    names = [c.name for c in BatchRow.__table__.columns]
    kept = [i for i, name in enumerate(names) if name not in RUN_COLUMNS]
    out: dict[str, object] = dict(rows)
    out["batches"] = [tuple(row[i] for i in kept) for row in rows["batches"]]
    out.pop("schema_version")
    out.pop("ledger_state")
    return out


def test_a_batch_records_its_decisions_and_inputs(january: January) -> None:
    _, run, result = january
    root = run.root
    decisions = result.allocation.decisions
    with run.open() as ledger:
        row = ledger.batch("2026-01")
        orientations = ledger.frame(OrientationRow)
        shortlists = ledger.frame(ShortlistRow)
    assert row is not None
    assert row["status"] == str(result.allocation.status)
    assert row["solver"] == "highs"
    assert row["gap"] == result.allocation.gap
    assert row["units"] == len(decisions.orientation) == 4
    hashes = json.loads(row["input_hashes"])
    expected = {"instance.yaml", "units.csv", "applicants.csv", "constraints:lec-default.yaml"}
    assert expected <= set(hashes)
    assert all(len(h) == 64 for h in hashes.values())
    assert row["constraint_set"] == "lec-default"
    merged = orientations.merge(decisions.orientation, on="unit_id", suffixes=("", "_solved"))
    assert len(merged) == 4
    assert (merged["holder_id"] == merged["holder_id_solved"]).all()
    assert len(shortlists) == len(decisions.shortlist)
    assert set(zip(shortlists["unit_id"], shortlists["applicant_id"], strict=True)) == set(
        zip(decisions.shortlist["unit_id"], decisions.shortlist["applicant_id"], strict=True)
    )
    assert result.paths["report"] == root / "2026-01" / "report.html"
    assert result.paths["report"].exists()
    assert not list(root.glob(".2026-01.*"))
    assert row["run_id"] == result.run_id
    assert row["committed_at"] <= row["published_at"]
    assert row["out_dir"] == str((root / "2026-01").absolute())


def test_rerunning_the_same_batch_is_idempotent(january: January, run: Run) -> None:
    instance = january[0]
    once = dump(run)
    again = batch(instance, "2026-01", run)
    twice = dump(run)
    assert again.replaced
    assert not january[2].replaced
    assert without_timings(twice) == without_timings(once)
    assert len(twice["batches"]) == 1
    assert len(twice["orientations"]) == 4
    assert sorted(p.name for p in run.root.iterdir() if p.name != "fluxopt.db") == ["2026-01"]


def test_rerun_with_other_settings_needs_force(january: January, run: Run) -> None:
    instance = january[0]
    other = SolveSettings(time_limit=29.0)
    with pytest.raises(FluxoptError, match="solve settings"):
        batch(instance, "2026-01", run, settings=other)
    result = batch(instance, "2026-01", run, settings=other, force=True)
    assert result.replaced
    with run.open() as ledger:
        row = ledger.batch("2026-01")
    assert row is not None
    assert json.loads(row["settings"])["time_limit"] == 29.0


def test_changed_inputs_are_named(january: January, run: Run) -> None:
    instance = january[0]
    units = instance.parent / "edited"
    shutil.copytree(instance, units)
    text = (units / "units.csv").read_text(encoding="utf-8").replace("403.0", "404.0")
    (units / "units.csv").write_text(text, encoding="utf-8")
    with pytest.raises(FluxoptError, match=r"changed: units\.csv"):
        batch(units, "2026-01", run)


def test_rerun_with_recorded_outcomes_is_refused_unless_forced(january: January, run: Run) -> None:
    instance = january[0]
    simulate_and_import(run, "2026-01", instance)
    assert dump(run)["outcomes"]
    with pytest.raises(FluxoptError, match="outcomes of 2026-01 are recorded"):
        batch(instance, "2026-01", run)
    batch(instance, "2026-01", run, force=True)
    rows = dump(run)
    assert rows["outcomes"] == []
    assert rows["outcome_imports"] == []


def test_bad_months_are_refused(january: January, run: Run) -> None:
    instance = january[0]
    with pytest.raises(FluxoptError, match="YYYY-MM"):
        batch(instance, "2026-1", run)
    with pytest.raises(FluxoptError, match="outside the instance's year"):
        batch(instance, "2025-12", run)
    with pytest.raises(FluxoptError, match="no unit becomes available in 2026-03"):
        batch(instance, "2026-03", run)


def test_simulated_outcomes_are_seeded_and_follow_the_rates(january: January) -> None:
    with january[1].open() as ledger:
        one = simulate_outcomes(ledger, "2026-01", None, SimulationSettings(seed=5))
        two = simulate_outcomes(ledger, "2026-01", None, SimulationSettings(seed=5))
        accept_all = simulate_outcomes(
            ledger, "2026-01", None, SimulationSettings(0.0, 0.0, 1.0, seed=1)
        )
        refuse_all = simulate_outcomes(
            ledger, "2026-01", None, SimulationSettings(1.0, 0.0, 0.0, seed=1)
        )
        shortlists = ledger.frame(ShortlistRow)
        units = ledger.frame(OrientationRow)
    pd.testing.assert_frame_equal(one, two)
    assert set(one["unit_id"]) == set(units["unit_id"])
    firsts = shortlists[shortlists["rank"] == 1]
    attributed = accept_all[accept_all["decision"] == "attributed"]
    assert set(zip(attributed["unit_id"], attributed["applicant_id"], strict=True)) == set(
        zip(firsts["unit_id"], firsts["applicant_id"], strict=True)
    )
    assert "refused" not in set(accept_all["decision"])
    assert not refuse_all["decision"].isin(["attributed", "holder_candidate"]).any()
    assert len(refuse_all[refuse_all["decision"] == "refused"]) == len(shortlists)
    with january[1].open() as ledger, pytest.raises(FluxoptError, match="must lie in"):
        simulate_outcomes(ledger, "2026-01", None, SimulationSettings(refusal_rate=1.5))
