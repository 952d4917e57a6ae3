"""Units the committee returns come back next month; housed applicants are set aside."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from fluxopt.batch import BatchResult
from fluxopt.ledger import Ledger
from fluxopt.ledger.outcomes import import_outcomes
from fluxopt.ledger.schema import OrientationRow, ShortlistRow
from fluxopt.schema.problems import FluxoptError
from test_batch_support import (
    FEBRUARY_UNITS,
    January,
    batch,
    copy_run,
    write_outcomes,
)


@pytest.fixture(scope="module")
def january(two_month_january_sqlite: January) -> tuple[Path, Path, BatchResult]:
    """January recorded on the tiny instance, SQLite ledger (shared: tests work on copies)."""
    instance, run, result = two_month_january_sqlite
    return instance, run.root, result


@pytest.fixture
def run(january: tuple[Path, Path, BatchResult], tmp_path: Path) -> Path:
    return copy_run(january[1], tmp_path / "run")


def test_refused_units_return_and_housed_applicants_are_set_aside(
    january: tuple[Path, Path, BatchResult], run: Path
) -> None:
    instance = january[0]
    with Ledger(run / "fluxopt.db") as ledger:
        shortlists = ledger.frame(ShortlistRow)
        units = sorted(ledger.frame(OrientationRow)["unit_id"])
        first = shortlists[shortlists["rank"] == 1].set_index("unit_id")["applicant_id"]
        housed_unit, housed = str(first.index[0]), str(first.iloc[0])
        returned = next(u for u in units if u != housed_unit)
        path = write_outcomes(
            run / "decisions.csv",
            [
                {"unit_id": returned, "decision": "no_attribution", "applicant_id": ""},
                {"unit_id": housed_unit, "decision": "attributed", "applicant_id": housed},
            ],
        )
        import_outcomes(path, ledger, instance)
    february = batch(instance, "2026-02", run)
    ids = set(february.allocation.decisions.orientation["unit_id"])
    assert ids == {returned, *FEBRUARY_UNITS}
    assert february.summary["units_carried_over"] == 1
    assert february.summary["units_awaiting_decision"] == 2
    assert february.summary["applicants_set_aside"]["attributed"] == 1
    assert housed not in set(february.allocation.decisions.shortlist["applicant_id"])
    with Ledger(run / "fluxopt.db") as ledger:
        feb = ledger.frame(OrientationRow, months=["2026-02"]).set_index("unit_id")
        ytd = ledger.year_to_date(2026, "2026-02", exclude_units=ids)
    assert feb.loc[returned, "carried_over"]
    assert not feb.drop(index=returned)["carried_over"].any()
    assert returned not in set(ytd.orientations["unit_id"])
    assert list(ytd.attributions["applicant_id"]) == [housed]


def test_units_awaiting_a_decision_keep_their_candidates(
    january: tuple[Path, Path, BatchResult], run: Path
) -> None:
    listed = set(january[2].allocation.decisions.shortlist["applicant_id"])
    february = batch(january[0], "2026-02", run)
    assert february.summary["units_awaiting_decision"] == 4
    assert february.summary["applicants_set_aside"]["pending"] == len(listed)
    assert not listed & set(february.allocation.decisions.shortlist["applicant_id"])
    assert february.summary["units_carried_over"] == 0
    trajectory = pd.DataFrame(february.summary["trajectory"])
    assert sorted(trajectory["month"].unique()) == ["2026-01", "2026-02"]
    with pytest.raises(FluxoptError, match="later months"):
        batch(january[0], "2026-01", run)


def test_a_grid_is_recorded_and_explained(
    january: tuple[Path, Path, BatchResult], tmp_path: Path
) -> None:
    result = batch(january[0], "2026-01", tmp_path, grid="lyon-additive")
    with Ledger(tmp_path / "fluxopt.db") as ledger:
        row = ledger.batch("2026-01")
    assert row is not None
    assert row["grid"] == "lyon-additive"
    assert len(row["grid_hash"]) == 64
    assert "grid:lyon-additive" in json.loads(row["input_hashes"])
    sheets = pd.read_excel(result.paths["committee"], sheet_name=None)
    rows = pd.concat([s for name, s in sheets.items() if name not in ("Read me", "Units")])
    listed = rows[rows["Rank"].notna()]
    assert listed["Why"].astype(str).str.contains("score: ").all()
    assert listed["Score breakdown"].astype(str).str.len().gt(0).all()
