"""No CSV or XLSX output of fluxopt holds a live spreadsheet formula, and ids read back.

The payloads ``=HYPERLINK("http://x","y")``, ``=cmd|' /C calc'!A0`` and ``@SUM(1)`` are
planted as applicant ids, holder names and ids, residence names and commune names
(:mod:`payloads`); every file each command writes is opened and checked cell by cell.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from fluxopt.batch import BatchResult
from fluxopt.cli.app import cli
from fluxopt.instance import load_instance
from fluxopt.ledger.outcomes import read_outcomes
from fluxopt.outcome import read_decisions
from payloads import (
    HOLDER_PAYLOAD,
    assert_csv_neutral,
    assert_xlsx_neutral,
    is_live,
    payload,
    payload_instance,
    quoted,
)
from test_batch_support import batch


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return payload_instance(tmp_path_factory.mktemp("payload") / "tiny")


@pytest.fixture(scope="module")
def january(planted: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BatchResult]:
    root = tmp_path_factory.mktemp("run")
    return root, batch(planted, "2026-01", root)


@given(st.text(alphabet=st.sampled_from("=+-@\t\r'a1.,x "), max_size=8) | st.text(max_size=12))
def test_neutralise_is_undone_by_restore_and_never_leaves_a_formula(text: str) -> None:
    from fluxopt.cells import needs_quote, neutralise, restore

    written = neutralise(text)
    assert restore(written) == text
    assert not is_live(written) or not needs_quote(written)
    assert written == text or written == "'" + text


def test_numbers_and_plain_numbers_in_text_are_left_alone() -> None:
    from fluxopt.cells import neutralise, neutralise_frame

    frame = pd.DataFrame(
        {"id": ["=A1", "-3", "@x", "ok"], "gap": [-1.5, 2.0, -0.25, 0.0], "n": [-1, 2, 3, 4]}
    )
    out = neutralise_frame(frame)
    assert out["id"].tolist() == ["'=A1", "-3", "'@x", "ok"]
    assert out["gap"].tolist() == [-1.5, 2.0, -0.25, 0.0]
    assert out["n"].dtype == frame["n"].dtype
    assert neutralise(-3) == -3
    assert neutralise("-1+2") == "'-1+2"
    assert neutralise("'=x") == "''=x"  # one more quote: reads back as it was


def test_csv_writer_neutralises_cells_headers_and_index(tmp_path: Path) -> None:
    from fluxopt.cells import write_csv

    frame = pd.DataFrame({"=h": ["@SUM(1)"]}, index=pd.Index(["=cmd|' /C calc'!A0"]))
    path = write_csv(frame, tmp_path / "t.csv", index=True, index_label="+id")
    assert path.read_text(encoding="utf-8").splitlines() == [
        "'+id,'=h",
        "'=cmd|' /C calc'!A0,'@SUM(1)",
    ]


def test_solve_and_verify_write_no_formula_and_read_their_ids_back(
    planted: Path, tmp_path: Path
) -> None:
    out = tmp_path / "solve"
    code, output = invoke("solve", str(planted), "-o", str(out), "--time-limit", "20", "--price")
    assert code == 0, output
    written = sorted(out.glob("*.csv"))
    assert {p.name for p in written} >= {
        "orientation.csv",
        "shortlist.csv",
        "explain_candidates.csv",
        "explain_rules.csv",
        "quota_reachability.csv",
        "rule_prices.csv",
    }
    cells = [cell for path in written for cell in assert_csv_neutral(path)]
    shortlist = pd.read_csv(out / "shortlist.csv", dtype=str)
    assert shortlist["applicant_id"].str.startswith("'").all()
    assert quoted(HOLDER_PAYLOAD) in cells or HOLDER_PAYLOAD not in str(cells)
    decisions = read_decisions(out)
    known = set(load_instance(planted).applicants["applicant_id"])
    assert set(decisions.shortlist["applicant_id"]) <= known
    code, output = invoke("verify", str(planted), str(out))
    assert code == 0, output


def test_committee_workbook_and_notices_hold_no_formula(
    january: tuple[Path, BatchResult],
) -> None:
    _, result = january
    texts = assert_xlsx_neutral(result.paths["committee"])
    applicants = result.allocation.decisions.shortlist["applicant_id"]
    assert len(applicants) > 0
    assert {quoted(a) for a in applicants} <= set(texts)
    assert any(t.startswith(quoted(payload(20))[:6]) for t in texts)  # a holder's name
    assert any(t.startswith(quoted(payload(10))[:6]) for t in texts)  # a residence's name
    notices = sorted((result.out_dir / "notices").glob("*"))
    assert notices
    for path in notices:
        if path.suffix == ".xlsx":
            assert_xlsx_neutral(path)
        else:
            assert_csv_neutral(path)
    for name in ("orientation.csv", "shortlist.csv"):
        assert_csv_neutral(result.out_dir / name)


def test_outcomes_simulate_writes_neutral_ids_that_import_reads_back(
    january: tuple[Path, BatchResult], planted: Path
) -> None:
    root, result = january
    ledger = str(root / "fluxopt.db")
    path = root / "outcomes.csv"
    code, output = invoke(
        "outcomes", "simulate", "--month", "2026-01", "--ledger", ledger, "-o", str(path)
    )
    assert code == 0, output
    assert_csv_neutral(path)
    table = read_outcomes(path)
    listed = set(result.allocation.decisions.shortlist["applicant_id"])
    named = {a for a in table["applicant_id"] if a}
    assert named
    assert named <= listed
    code, output = invoke(
        "outcomes", "import", str(path), "--ledger", ledger, "--instance", str(planted)
    )
    assert code == 0, output
    assert f"imported {len(table)} decision(s)" in output
    bilan = root / "bilan"
    code, output = invoke("bilan", "--year", "2026", "--ledger", ledger, "-o", str(bilan))
    assert code == 0, output
    cells = assert_csv_neutral(bilan / "bilan-2026.csv")
    assert any(cell.startswith("'") for cell in cells)  # commune names and holder names
    texts = assert_xlsx_neutral(bilan / "bilan-2026.xlsx")
    assert any(text.startswith("'") for text in texts)


def test_score_flux_and_sweep_tables_hold_no_formula(planted: Path, tmp_path: Path) -> None:
    code, output = invoke(
        "score", str(planted), "--grid", "lyon-additive", "--out", str(tmp_path / "score")
    )
    assert code == 0, output
    scores = assert_csv_neutral(tmp_path / "score" / "scores.csv")
    assert quoted(payload(0)) in scores
    assert_csv_neutral(tmp_path / "score" / "breakdown.csv")
    plan = tmp_path / "plan.csv"
    code, output = invoke("flux", "plan", str(planted), "--csv", str(plan))
    assert code == 0, output
    assert quoted(HOLDER_PAYLOAD) in assert_csv_neutral(plan)
    sweep = tmp_path / "s.yaml"
    sweep.write_text(
        'name: s\nscenarios:\n  - {name: \'=HYPERLINK("http://x","y")\', time_limit: 10}\n',
        encoding="utf-8",
    )
    out = tmp_path / "sweep"
    code, output = invoke(
        "sweep", str(planted), str(sweep), "-o", str(out), "--scheduler", "inline"
    )
    assert code == 0, output
    assert quoted('=HYPERLINK("http://x","y")') in assert_csv_neutral(out / "compare.csv")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_saved_instance_is_neutral_and_reads_back_equal(
    planted: Path, tmp_path: Path, fmt: str
) -> None:
    instance = load_instance(planted)
    folder = instance.save(tmp_path / fmt, fmt)  # type: ignore[arg-type]
    if fmt == "csv":
        assert quoted(payload(0)) in assert_csv_neutral(folder / "applicants.csv")
    else:
        assert quoted(payload(0)) in assert_xlsx_neutral(folder / "applicants.xlsx")
        assert load_workbook(folder / "holders.xlsx")  # opens
    again = load_instance(folder)
    for name in ("applicants", "holders", "residences", "conventions"):
        pd.testing.assert_frame_equal(again.tables[name], instance.tables[name])
