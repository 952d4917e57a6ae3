"""Price and trade-off tables, the comparison table and page, and the SVG charts."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pandas as pd
import pytest

from fluxopt.constraints.ruleset import load_constraint_set
from fluxopt.scenarios.apply import apply_rules
from fluxopt.scenarios.compare import comparison_table, pivot, tradeoff_charts, write_reports
from fluxopt.scenarios.plots import bar_chart, line_chart, nice_ticks
from fluxopt.scenarios.price import (
    price_scenarios,
    price_table,
    tradeoff_scenarios,
    tradeoff_table,
)
from fluxopt.scenarios.spec import Scenario


def test_each_enforced_family_is_switched_off_in_turn() -> None:
    base = Scenario(name="s", quotas={"lec-non-q1-in-qpv": {"enabled": False}})
    rules = apply_rules(load_constraint_set("lec-default"), base)
    variants = price_scenarios(base, rules)
    assert variants[0] is base
    names = [v.name for v in variants[1:]]
    assert names == [
        "s without quota lec-q1-outside-qpv",
        "s without quota lec-priority-per-holder",
        "s without quota mixity-fragile-q1-cap",
        "s without channels",
        "s without flux",
        "s without segment mix",
    ]
    off = apply_rules(load_constraint_set("lec-default"), variants[1])
    assert [q.name for q in off.active_quotas] == [
        "lec-priority-per-holder",
        "mixity-fragile-q1-cap",
    ]
    assert not apply_rules(load_constraint_set("lec-default"), variants[4]).active_channels
    assert not apply_rules(load_constraint_set("lec-default"), variants[5]).families.flux.enabled


def rows_of(records: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame(records)


def test_the_price_is_the_objective_the_rule_adds() -> None:
    base = Scenario(name="s")
    rows = rows_of(
        [
            {"scenario": "s", "status": "optimal", "objective": 30.0, "units_filled": 10,
             "priority_housed": 4, "mean_wait_housed": 20.0, "quota:q:E1": 0.25},
            {"scenario": "s without flux", "status": "optimal", "objective": 22.5,
             "units_filled": 10, "priority_housed": 6, "mean_wait_housed": 18.0,
             "quota:q:E1": 0.30},
            {"scenario": "s without quota q", "status": "error", "error": "boom"},
        ]
    )  # fmt: skip
    table = price_table(rows, base).set_index("rule")
    assert table.loc["flux", "price"] == pytest.approx(7.5)
    assert table.loc["flux", "priority_housed_without"] == 6
    assert table.loc["flux", "change quota:q:E1"] == pytest.approx(0.05)
    assert table.loc["quota q", "status"] == "error"
    assert pd.isna(table.loc["quota q", "price"])


def test_the_tradeoff_reads_each_level() -> None:
    base = Scenario(name="s")
    variants = tradeoff_scenarios(base, "q", [0.3, 0.1])
    assert [v.quotas["q"].level for v in variants] == [0.3, 0.1]
    rows = rows_of(
        [
            {"scenario": variants[0].name, "status": "optimal", "objective": 9.0,
             "quota:q:E1": 0.30, "quota:q:E2": 0.20, "quota:q:met": 1.0},
            {"scenario": variants[1].name, "status": "optimal", "objective": 5.0,
             "quota:q:E1": 0.30, "quota:q:E2": 0.10, "quota:q:met": 1.0},
            {"scenario": "s", "status": "optimal", "objective": 7.0},
        ]
    )  # fmt: skip
    curve = tradeoff_table(rows, base, "q")
    assert list(curve["level"]) == [0.1, 0.3]
    assert list(curve["objective"]) == [5.0, 9.0]
    assert list(curve["attainment_min"]) == pytest.approx([0.1, 0.2])
    assert list(curve["groups_met"]) == pytest.approx([1.0, 0.5])
    capped = tradeoff_table(rows, base, "q", at_most=True)
    assert list(capped["groups_met"]) == pytest.approx([0.5, 1.0])


def sweep_rows() -> pd.DataFrame:
    return rows_of(
        [
            {"scenario": f"q={level} {method}", "kind": "batch", "status": "optimal",
             "objective": 10 + 40 * level, "priority_housed": 5, "units": 8.0,
             "units_filled": 8.0, "flux_attainment:H1": 1.0 - level, "quota:r:E1": level,
             "param:quotas.r.level": level, "param:method": method, "key": "k", "worker_pid": 1}
            for level in (0.1, 0.2, 0.3)
            for method in ("stock_share", "negotiated")
        ]
        + [{"scenario": "broken <b>", "kind": "batch", "status": "error", "error": "no <grid>"}]
    )  # fmt: skip


def test_the_comparison_table_puts_headline_columns_first() -> None:
    table = comparison_table(sweep_rows())
    columns = list(table.columns)
    assert columns[:3] == ["scenario", "kind", "status"]
    assert "key" not in columns
    assert "worker_pid" not in columns
    assert columns.index("flux_attainment:H1") < columns.index("quota:r:E1")
    assert columns.index("quota:r:E1") < columns.index("param:method") < columns.index("error")
    assert str(table["units"].dtype) == "Int64"
    flux = pivot(table, "flux_attainment:")
    assert list(flux.index) == ["H1"]
    assert flux.loc["H1", "q=0.3 negotiated"] == pytest.approx(0.7)


def test_the_reports_hold_every_scenario_and_escape_text(tmp_path: Path) -> None:
    paths = write_reports(sweep_rows(), tmp_path, "Sweep <test>")
    csv = pd.read_csv(paths["csv"])
    assert len(csv) == 7
    assert csv.loc[6, "error"] == "no <grid>"
    html = paths["html"].read_text(encoding="utf-8")
    assert "Sweep &lt;test&gt;" in html
    assert "broken &lt;b&gt;" in html
    assert "<b>" not in html
    assert html.count("<svg") >= 5
    assert "Trade-off curves" in html


def test_tradeoff_curves_have_one_line_per_other_override() -> None:
    charts = tradeoff_charts(sweep_rows().iloc[:6])
    assert len(charts) == 2  # objective and priority households against the level
    assert charts[0].count("<polyline") == 2  # one line per method
    assert "method=stock_share" in charts[0]


def test_ticks_cover_the_range_in_round_steps() -> None:
    assert nice_ticks(0, 10) == [0, 2, 4, 6, 8, 10]
    ticks = nice_ticks(0.13, 0.37)
    assert ticks[0] <= 0.13
    assert ticks[-1] >= 0.37
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert steps == {0.05}


def test_charts_skip_missing_values_and_scale_bars_from_zero() -> None:
    svg = bar_chart(["a", "b", "c"], [2.0, None, 4.0], "Bars")
    assert len(re.findall(r"<rect ", svg)) == 2
    heights = [float(h) for h in re.findall(r'height="([\d.]+)"', svg.split("</text>", 1)[1])]
    assert heights[1] == pytest.approx(2 * heights[0], rel=0.01)
    lines = line_chart({"x": [(1, 1.0), (0, 0.0), (2, float("nan"))]}, "Line", "level")
    assert lines.count("<circle") == 2
