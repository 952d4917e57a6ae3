"""The ``fluxopt flux`` commands: plan, compare and trajectory; bad input writes nothing."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from fluxopt.cli.app import cli
from test_flux_support import reference_instance


@pytest.fixture
def reference_dir(tmp_path: Path) -> Path:
    """The reference scenario of the flux tests, saved as an instance folder."""
    return reference_instance().save(tmp_path / "reference")


def _run(*args: str | Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    return result.exit_code, result.output


def _set_cell(folder: Path, table: str, row: int, column: str, value: str) -> None:
    """Write ``value`` in one cell of a CSV table (``row`` = len(table) appends a row)."""
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    if row == len(frame):
        frame.loc[row] = frame.iloc[0]
    frame.loc[row, column] = value
    frame.to_csv(path, index=False)


def test_plan_prints_and_writes_the_table(reference_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "plan.csv"
    code, output = _run("flux", "plan", reference_dir, "--method", "negotiated", "--csv", out)
    assert code == 0, output
    assert "Flux plan of flux-test" in output
    plan = pd.read_csv(out, dtype={"convention_id": str}, keep_default_na=False)
    volumes = dict(zip(plan["holder_id"], plan["annual_volume"], strict=True))
    assert volumes == {"ST": 11, "AL": 9, "CA": 3, "LL": 21}
    assert {"share", "segment_mix", "position", "need"} <= set(plan.columns)


def test_plan_with_year_to_date_and_segments(reference_dir: Path, tmp_path: Path) -> None:
    ytd = tmp_path / "ytd.csv"
    ytd.write_text(
        "unit_id,month,commune,epci,segment,holder_id\nY1,2026-01,A,E1,T3|non-QPV|PLUS,ST\n",
        encoding="utf-8",
    )
    out = tmp_path / "plan.csv"
    code, output = _run(
        "flux",
        "plan",
        reference_dir,
        "--month",
        "2026-01",
        "--ytd",
        ytd,
        "--segments",
        "--csv",
        out,
    )
    assert code == 0, output
    assert "Targets per segment" in output
    plan = pd.read_csv(out, keep_default_na=False).set_index("holder_id")
    # ST (own method negotiated, 0.25): one unit oriented on a basis of one to date.
    assert plan.loc["ST", "oriented_ytd"] == 1
    assert plan.loc["ST", "position"] == pytest.approx(0.75)
    assert plan.loc["ST", "need"] == pytest.approx(0.25 * 6 - 1)


def test_compare_prints_and_writes_the_four_methods(reference_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "compare.csv"
    code, output = _run("flux", "compare", reference_dir, "--csv", out)
    assert code == 0, output
    assert "against negotiated" in output
    table = pd.read_csv(out, keep_default_na=False).set_index("holder_id")
    assert table.loc[
        "AL", ["volume_stock_share", "volume_negotiated", "delta_stock_share"]
    ].tolist() == [6, 9, -3]
    assert table.loc["ST", "volume_turnover_weighted"] == 11


def test_trajectory_writes_twelve_months_per_holder(reference_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "trajectory.csv"
    code, output = _run("flux", "trajectory", reference_dir, "--csv", out)
    assert code == 0, output
    frame = pd.read_csv(out)
    assert len(frame) == 4 * 12


def test_unknown_method_is_a_short_error_and_writes_nothing(
    reference_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "plan.csv"
    code, output = _run("flux", "plan", reference_dir, "--method", "fair", "--csv", out)
    assert code == 2
    assert "unknown conversion method 'fair'" in output
    assert not out.exists()


def test_holder_without_convention_writes_nothing(reference_dir: Path, tmp_path: Path) -> None:
    _set_cell(reference_dir, "holders", 4, "holder_id", "XX")
    _set_cell(reference_dir, "holders", 4, "kind", "other")
    out = tmp_path / "compare.csv"
    code, output = _run("flux", "compare", reference_dir, "--csv", out)
    assert code == 2
    assert "holder 'XX' has no convention" in output
    assert not out.exists()


def test_shares_over_one_write_nothing(reference_dir: Path, tmp_path: Path) -> None:
    _set_cell(reference_dir, "conventions", 2, "share", "0.6")
    out = tmp_path / "plan.csv"
    code, output = _run("flux", "plan", reference_dir, "--csv", out)
    assert code == 2
    assert "commune A" in output
    assert "over 100 %" in output
    assert not out.exists()


def test_negative_stock_writes_nothing(reference_dir: Path, tmp_path: Path) -> None:
    _set_cell(reference_dir, "residences", 0, "stock_units", "-3")
    out = tmp_path / "plan.csv"
    code, output = _run("flux", "plan", reference_dir, "--csv", out)
    assert code == 2
    assert "stock_units" in output
    assert not out.exists()


def test_bad_year_to_date_writes_nothing(reference_dir: Path, tmp_path: Path) -> None:
    ytd = tmp_path / "ytd.csv"
    ytd.write_text(
        "unit_id,month,commune,epci,segment,holder_id\nY1,2026-01,A,E1,T3,NOBODY\n",
        encoding="utf-8",
    )
    out = tmp_path / "plan.csv"
    code, output = _run("flux", "plan", reference_dir, "--ytd", ytd, "--csv", out)
    assert code == 2
    assert "NOBODY" in output
    assert not out.exists()
