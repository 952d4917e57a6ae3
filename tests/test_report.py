"""The batch's outputs: committee workbook, notices, summary and the HTML report's content."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from fluxopt.batch import BatchResult
from fluxopt.constraints.ruleset import load_constraint_set
from fluxopt.instance import load_instance
from fluxopt.report.committee import COMMITTEE_COLUMNS
from fluxopt.report.svg import bar_chart, nice_top
from fluxopt.report.tables import breakdown_text
from fluxopt.report.why import candidate_reasons
from fluxopt.report.xlsx import sheet_title
from test_batch_support import batch, two_month_instance


@pytest.fixture(scope="module")
def january(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BatchResult]:
    base = tmp_path_factory.mktemp("january")
    instance = two_month_instance(base / "tiny")
    return instance, batch(instance, "2026-01", base / "run")


def test_committee_workbook_has_one_readable_sheet_per_residence(
    january: tuple[Path, BatchResult],
) -> None:
    _, result = january
    decisions = result.allocation.decisions
    book = load_workbook(result.paths["committee"])
    assert book.sheetnames[:2] == ["Read me", "Units"]
    residences = sorted(decisions.orientation["residence_id"].unique())
    sheets = book.sheetnames[2:]
    assert [name.split()[0] for name in sheets] == residences
    readme = [row[0] for row in book["Read me"].iter_rows(values_only=True)]
    assert {"CALEOL", "QPV", "DALO", "EPCI"} <= set(readme)
    listed = 0
    for name in sheets:
        sheet = book[name]
        assert sheet.freeze_panes == "A2"
        header = [cell.value for cell in sheet[1]]
        assert header == list(COMMITTEE_COLUMNS.values())
        assert all(sheet.column_dimensions[c].width >= 8 for c in "ABCDEFGHIJKLMNOPQRS")
        frame = pd.DataFrame(list(sheet.iter_rows(min_row=2, values_only=True)), columns=header)
        ranked = frame[frame["Rank"].notna()]
        listed += len(ranked)
        assert ranked["Why"].map(bool).all()
        assert ranked["Household"].str.contains("adult").all()
        assert set(ranked["Income band"]) <= {"first quartile (Q1)", "above Q1"}
        alone = frame[frame["Rank"].isna()]
        assert alone["Why"].map(bool).all()
        units = set(
            decisions.orientation.loc[
                decisions.orientation["residence_id"] == name.split()[0], "unit_id"
            ]
        )
        assert set(frame["Unit"]) == units
    assert listed == len(decisions.shortlist)


def test_why_names_priority_quota_and_channel() -> None:
    rules = load_constraint_set("lec-default")
    holders = pd.DataFrame(
        {
            "holder_id": ["PREFET", "AL"],
            "kind": ["state", "action_logement"],
            "mode": ["delegated", "delegated"],
            "name": ["State", "AL"],
        }
    )
    units = pd.DataFrame(
        {
            "unit_id": ["U1", "U2"],
            "holder_id": ["PREFET", "AL"],
            "holder_kind": ["state", "action_logement"],
            "channel": ["flux", "flux"],
            "epci": ["E1", "E2"],
            "residence_id": ["R1", "R2"],
            "qpv": [False, True],
            "lec_applies": [True, True],
            "fragile": [False, False],
        }
    )
    applicants = pd.DataFrame(
        {
            "applicant_id": ["A", "B"],
            "dalo": [True, False],
            "priority": [True, False],
            "renewal_relocation": [False, False],
            "employer_action_logement": [False, True],
            "state_agent": [False, False],
            "is_transfer": [False, False],
        }
    )
    candidates = pd.DataFrame(
        {
            "unit_id": ["U1", "U2"],
            "applicant_id": ["A", "B"],
            "holder_id": ["PREFET", "AL"],
            "wish_rank": [1, 2],
            "q1": [True, False],
            "dalo": [True, False],
            "priority": [True, False],
        }
    )
    why = candidate_reasons(candidates, units, applicants, rules, holders)
    assert why.iloc[0] == (
        "wished commune #1; priority household (DALO); serves quota lec-q1-outside-qpv in "
        "EPCI E1; holder channel: State contingent, priority household"
    )
    assert why.iloc[1] == (
        "wished commune #2; serves quota lec-non-q1-in-qpv in EPCI E2; "
        "holder channel: Action Logement employee"
    )


def test_breakdown_shows_the_largest_entries_first() -> None:
    points = pd.DataFrame(
        {"wait": [12.0, 0.0], "DALO": [20.0, 0.0], "violence": [5.0, 0.0], "age": [1.0, 3.0]},
        index=["A", "B"],
    )
    text = breakdown_text(points)
    assert list(text) == ["DALO 20 · wait 12 · violence 5", "age 3"]


def test_notices_list_each_holders_units_with_deadlines(
    january: tuple[Path, BatchResult],
) -> None:
    instance_path, result = january
    instance = load_instance(instance_path)
    orientation = result.allocation.decisions.orientation
    conventions = instance.conventions.set_index("holder_id")
    units = instance.units.set_index("unit_id")
    for holder_id, rows in orientation.groupby("holder_id"):
        notice = pd.read_csv(result.out_dir / "notices" / f"{holder_id}.csv", dtype=str)
        assert sorted(notice["Unit"]) == sorted(rows["unit_id"])
        book = load_workbook(result.out_dir / "notices" / f"{holder_id}.xlsx")
        assert book.sheetnames == ["Read me", "Units"]
        if holder_id not in conventions.index:
            assert notice["Deadline"].isna().all()
            continue
        days = int(np.min(conventions.loc[[holder_id], "deadline_days"]))
        for unit_id, deadline in zip(notice["Unit"], notice["Deadline"], strict=True):
            start = max(units.loc[unit_id, "available_on"].date(), dt.date(2026, 1, 1))
            assert deadline == (start + dt.timedelta(days=days)).isoformat()


def test_summary_figures_agree_with_the_decisions(january: tuple[Path, BatchResult]) -> None:
    _, result = january
    summary = json.loads((result.out_dir / "summary.json").read_text(encoding="utf-8"))
    decisions = result.allocation.decisions
    assert summary["month"] == "2026-01"
    assert summary["units"] == len(decisions.orientation)
    assert summary["fill_rate"] == pytest.approx(summary["units_filled"] / summary["units"])
    assert summary["status"] == str(result.allocation.status)
    flux_units = decisions.orientation[decisions.orientation["in_flux"]]
    oriented = sum(row["oriented"] for row in summary["flux_by_holder"])
    in_conventions = result.report.flux.groupby("holder_id")["oriented"].sum().sum()
    assert oriented == in_conventions
    assert oriented >= len(flux_units)
    assert len(summary["quotas"]) == len(result.report.quotas)
    assert {q["per"] for q in summary["quotas"]} <= {"epci", "holder", "residence"}
    assert set(summary["timings"]) >= {"load", "solve", "verify", "outputs"}


def test_report_is_self_contained_with_one_plot_per_holder_and_rule(
    january: tuple[Path, BatchResult],
) -> None:
    _, result = january
    html = result.paths["report"].read_text(encoding="utf-8")
    summary = result.summary
    holders = {row["holder_id"] for row in summary["trajectory"]}
    rules = {q["rule"] for q in summary["quotas"] if q["per"] in ("epci", "holder")}
    flux = re.findall(r'<svg class="plot line-chart flux-trajectory"', html)
    bars = re.findall(r'<svg class="plot bar-chart"', html)
    assert len(flux) == len(holders) > 0
    assert len(bars) == len(rules) > 0
    assert f'data-plots-expected="{len(holders) + len(rules)}"' in html
    assert "<link" not in html
    assert "src=" not in html
    assert html.count("<polyline") == 2 * len(holders)


def test_chart_helpers() -> None:
    assert nice_top(0.9) == 1.0
    assert nice_top(7.3) == 8.0
    assert nice_top(51.7) == 80.0  # step 51.7 / 4 = 12.9, rounded up to 20
    assert nice_top(130.0) == 200.0
    svg = bar_chart("q", ["E1", "E2"], [0.3, 0.1], [0.25, 0.25])
    assert svg.count('class="bar met"') == 1
    assert svg.count('class="bar unmet"') == 1
    caps = bar_chart("cap", ["R1"], [0.6], [0.5], at_least=False)
    assert 'class="bar unmet"' in caps
    assert sheet_title("R1: Les [Tilleuls]/Nord — a long residence name") == (
        "R1  Les  Tilleuls  Nord — a lon"
    )
    assert sheet_title("Units", ["units"]) == "Units (2)"
