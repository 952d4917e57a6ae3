"""Each kind of grid entry, scored on small hand-built applicant tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from fluxopt.scoring import Grid, score


def applicants(**columns: Any) -> pd.DataFrame:
    """A table of applicants a1, a2, ... with the given columns."""
    count = len(next(iter(columns.values())))
    return pd.DataFrame({"applicant_id": [f"a{i + 1}" for i in range(count)], **columns})


def grid(**entries: Any) -> Grid:
    return Grid.model_validate({"name": "test", **entries})


def totals(result: Any) -> list[float]:
    return result.total.tolist()


def test_criterion_adds_its_points_when_met() -> None:
    table = applicants(dalo=[True, False], homeless=[True, True])
    result = score(
        grid(
            criteria=[
                {"name": "dalo", "expression": "dalo", "points": 30},
                {"name": "homeless", "expression": "homeless", "points": 17.5},
            ]
        ),
        table,
    )
    assert totals(result) == [47.5, 17.5]
    assert result.breakdown.loc["a1", "dalo"] == 30
    assert result.breakdown.loc["a2", "dalo"] == 0
    assert result.total.index.name == "applicant_id"


def test_criterion_expression_combines_columns() -> None:
    table = applicants(household_size=[4, 4, 2], rooms_now=[2, 3, 1])
    entry = {
        "name": "crowded",
        "expression": "household_size >= 4 and rooms_now <= 2",
        "points": 4,
    }
    assert totals(score(grid(criteria=[entry]), table)) == [4, 0, 0]


def test_missing_value_scores_zero_and_is_flagged() -> None:
    table = applicants(household_size=[4, 4], rooms_now=pd.array([2, None], dtype="Int64"))
    entry = {"name": "crowded", "expression": "household_size >= 4 and rooms_now <= 2", "points": 4}
    result = score(grid(criteria=[entry]), table)
    assert totals(result) == [4, 0]
    assert result.missing["crowded"].tolist() == [False, True]


def test_ordered_weights_double_from_the_last_criterion() -> None:
    scheme = grid(
        ordered={
            "base": 10,
            "criteria": [
                {"name": "first", "expression": "dalo"},
                {"name": "second", "expression": "homeless"},
                {"name": "third", "expression": "hosted"},
            ],
        }
    )
    assert scheme.ordered_weights() == {"first": 40.0, "second": 20.0, "third": 10.0}
    table = applicants(
        dalo=[True, False, False, False],
        homeless=[False, True, True, False],
        hosted=[False, True, False, True],
    )
    assert totals(score(scheme, table)) == [40, 30, 20, 10]


def test_ordered_auto_base_is_the_power_of_ten_above_the_tie_break_range() -> None:
    scheme = grid(
        ordered={
            "criteria": [
                {"name": "a", "expression": "dalo"},
                {"name": "b", "expression": "homeless"},
            ]
        },
        wait={"points_per_month": 2, "cap": 40},
        refusal={"points_per_refusal": -5, "lowest": -15, "consequence": "minus 5 each"},
    )
    # tie-break ranges over [-15, 40]: 55 points wide, so the base is 100
    assert scheme.additive_range() == (-15.0, 40.0)
    assert scheme.ordered_base() == 100
    assert scheme.ordered_weights() == {"a": 200.0, "b": 100.0}
    without_tie_break = grid(ordered={"criteria": [{"name": "a", "expression": "dalo"}]})
    assert without_tie_break.ordered_weights() == {"a": 1.0}


def test_ordered_criterion_outranks_everything_below() -> None:
    scheme = grid(
        ordered={
            "criteria": [
                {"name": "a", "expression": "dalo"},
                {"name": "b", "expression": "homeless"},
            ]
        },
        wait={"points_per_month": 1, "cap": 99},
    )
    table = applicants(dalo=[True, False], homeless=[False, True], wait_months=[0.0, 500.0])
    low, high = totals(score(scheme, table))
    # a: 200 + 0 wait; b: 100 + 99 wait (capped) = 199
    assert (low, high) == (200, 199)


def test_bracket_bands_are_closed_below_and_open_above() -> None:
    entry = {
        "name": "burden",
        "expression": "housing_cost_now * 12 / annual_income",
        "bands": [{"min": 0.3, "max": 0.4, "points": 2}, {"min": 0.4, "points": 6}],
    }
    table = applicants(
        housing_cost_now=[250.0, 300.0, 400.0, 100.0, np.nan, 0.0, 50.0],
        annual_income=[10000.0, 12000.0, 12000.0, 12000.0, 9000.0, 0.0, 0.0],
    )
    result = score(grid(brackets=[entry]), table)
    # ratios: 0.3, 0.3, 0.4, 0.1, missing, 0/0 missing, +inf (top open band)
    assert totals(result) == [2, 2, 6, 0, 0, 0, 6]
    assert result.missing["burden"].tolist() == [False] * 4 + [True, True, False]


def test_bracket_with_an_open_bottom_band() -> None:
    entry = {
        "name": "income",
        "expression": "income_per_uc",
        "bands": [{"max": 6000, "points": 3}, {"min": 6000, "max": 9000, "points": 1}],
    }
    table = applicants(income_per_uc=[5999.0, 6000.0, 9000.0])
    assert totals(score(grid(brackets=[entry]), table)) == [3, 1, 0]


def test_wait_counts_whole_months_up_to_the_cap() -> None:
    table = applicants(wait_months=[0.0, 2.9, 11.99, 40.0])
    whole = grid(wait={"points_per_month": 1.5, "cap": 24})
    assert totals(score(whole, table)) == [0, 3, 16.5, 24]
    exact = grid(wait={"points_per_month": 1, "whole_months": False})
    assert totals(score(exact, table)) == pytest.approx([0, 2.9, 11.99, 40.0])


def test_refusal_penalty_stops_at_its_lowest() -> None:
    table = applicants(refusals=[0, 1, 2, 5])
    scheme = grid(
        criteria=[{"name": "base", "expression": "refusals >= 0", "points": 10}],
        refusal={"points_per_refusal": -4, "lowest": -10, "consequence": "4 points each"},
    )
    result = score(scheme, table)
    assert totals(result) == [10, 6, 2, 0]
    penalties = result.breakdown["refusals"].to_numpy()
    assert penalties.tolist() == [0, -4, -8, -10]
    assert not np.signbit(penalties[0]), "no refusal gives 0, not -0"


def test_highest_group_keeps_only_the_first_best_member() -> None:
    scheme = grid(
        groups={"housing": {"mode": "highest"}},
        criteria=[
            {"name": "homeless", "expression": "homeless", "points": 17, "group": "housing"},
            {"name": "hosted", "expression": "hosted", "points": 6, "group": "housing"},
            {
                "name": "eviction",
                "expression": "threatened_eviction",
                "points": 17,
                "group": "housing",
            },
            {"name": "disability", "expression": "disability", "points": 4},
        ],
    )
    table = applicants(
        homeless=[True, False, True, False],
        hosted=[True, True, False, False],
        threatened_eviction=[True, False, False, True],
        disability=[True, False, False, False],
    )
    result = score(scheme, table, keep_raw=True)
    assert totals(result) == [21, 6, 17, 17]
    # a1 meets homeless 17, hosted 6 and eviction 17: the first best (homeless) counts
    assert result.breakdown.loc["a1"].tolist() == [17, 0, 0, 4]
    assert result.raw is not None
    assert result.raw.loc["a1"].tolist() == [17, 6, 17, 4]


def test_highest_group_cap() -> None:
    scheme = grid(
        groups={"resources": {"mode": "highest", "cap": 4}},
        criteria=[
            {"name": "low", "expression": "income_per_uc < 6000", "points": 3, "group": "resources"}
        ],
        brackets=[
            {
                "name": "burden",
                "expression": "burden",
                "group": "resources",
                "bands": [{"min": 0.3, "max": 0.5, "points": 2}, {"min": 0.5, "points": 6}],
            }
        ],
    )
    table = applicants(income_per_uc=[5000.0, 5000.0, 9000.0], burden=[0.35, 0.6, 0.0])
    result = score(scheme, table)
    # a1: max(3, 2) = 3; a2: max(3, 6) = 6 capped at 4; a3: nothing
    assert totals(result) == [3, 4, 0]
    assert result.breakdown.loc["a2"].tolist() == [0, 4]


def test_sum_group_cap_is_shared_in_grid_order() -> None:
    scheme = grid(
        groups={"family": {"mode": "sum", "cap": 6}},
        criteria=[
            {"name": "disability", "expression": "disability", "points": 4, "group": "family"},
            {"name": "single", "expression": "single_parent", "points": 3, "group": "family"},
            {"name": "job", "expression": "job_mobility", "points": 1, "group": "family"},
        ],
    )
    table = applicants(
        disability=[True, True, False],
        single_parent=[True, False, True],
        job_mobility=[True, True, True],
    )
    result = score(scheme, table)
    assert totals(result) == [6, 5, 4]
    # a1: 4 + 3 + 1 = 8 capped at 6: disability 4, single parent 2, job 0
    assert result.breakdown.loc["a1"].tolist() == [4, 2, 0]


def test_sum_group_without_cap_adds_up() -> None:
    scheme = grid(
        groups={"family": {"mode": "sum"}},
        criteria=[
            {"name": "disability", "expression": "disability", "points": 4, "group": "family"},
            {"name": "single", "expression": "single_parent", "points": 3, "group": "family"},
        ],
    )
    table = applicants(disability=[True], single_parent=[True])
    assert totals(score(scheme, table)) == [7]


def test_transfer_applicants_use_the_transfer_scheme() -> None:
    scheme = grid(
        criteria=[{"name": "homeless", "expression": "homeless", "points": 17}],
        wait={"name": "seniority", "points_per_month": 1},
        transfer={
            "criteria": [
                {
                    "name": "underoccupied",
                    "expression": "rooms_now >= household_size + 2",
                    "points": 5,
                }
            ],
            "wait": {"name": "seniority", "points_per_month": 2},
        },
    )
    table = applicants(
        is_transfer=[False, True, True],
        homeless=[True, True, False],
        rooms_now=[0, 4, 2],
        household_size=[1, 1, 2],
        wait_months=[3.0, 3.0, 1.0],
    )
    result = score(scheme, table)
    assert list(result.breakdown.columns) == ["homeless", "seniority", "underoccupied"]
    assert totals(result) == [20, 11, 2]
    assert result.transfer.tolist() == [False, True, True]
    assert result.breakdown.loc["a2", "homeless"] == 0


def test_without_a_transfer_scheme_everyone_uses_the_main_one() -> None:
    scheme = grid(criteria=[{"name": "homeless", "expression": "homeless", "points": 17}])
    table = applicants(is_transfer=[False, True], homeless=[True, True])
    assert totals(score(scheme, table)) == [17, 17]


def test_absent_declared_columns_take_their_default() -> None:
    scheme = grid(
        criteria=[
            {"name": "dalo", "expression": "dalo", "points": 30},
            {"name": "crowded", "expression": "rooms_now <= 1", "points": 4},
        ]
    )
    result = score(scheme, applicants(household_size=[2, 3]))
    # dalo defaults to false; rooms_now has no default, so it is missing
    assert totals(result) == [0, 0]
    assert result.missing["crowded"].tolist() == [True, True]
    assert not result.missing["dalo"].any()


def test_extra_columns_of_the_table_may_be_used() -> None:
    scheme = grid(
        criteria=[{"name": "cohabitation", "expression": "end_of_cohabitation", "points": 2}]
    )
    table = applicants(end_of_cohabitation=[True, False])
    assert totals(score(scheme, table)) == [2, 0]


def test_disabled_entries_are_left_out() -> None:
    scheme = grid(
        criteria=[
            {"name": "dalo", "expression": "dalo", "points": 30},
            {"name": "homeless", "expression": "homeless", "points": 17, "enabled": False},
        ],
        ordered={
            "criteria": [
                {"name": "off", "expression": "dalo", "enabled": False},
                {"name": "on", "expression": "hosted"},
            ]
        },
    )
    result = score(scheme, applicants(dalo=[True], homeless=[True], hosted=[True]))
    assert list(result.breakdown.columns) == ["on", "dalo"]
    # the ordered block's range: dalo 0..30, so base 100 and the single weight is 100
    assert totals(result) == [130]


def test_scores_keep_ties_and_are_deterministic() -> None:
    scheme = grid(criteria=[{"name": "dalo", "expression": "dalo", "points": 30}])
    table = applicants(dalo=[True, True, False])
    first, second = score(scheme, table), score(scheme, table)
    assert totals(first) == [30, 30, 0]
    pd.testing.assert_series_equal(first.total, second.total)


def test_breakdown_rows_add_up_to_the_total() -> None:
    rng = np.random.default_rng(3)
    count = 200
    table = applicants(
        homeless=rng.random(count) < 0.2,
        hosted=rng.random(count) < 0.4,
        disability=rng.random(count) < 0.1,
        single_parent=rng.random(count) < 0.2,
        wait_months=rng.uniform(0, 80, count),
        refusals=rng.integers(0, 3, count),
    )
    scheme = grid(
        groups={"housing": {"mode": "highest"}, "family": {"mode": "sum", "cap": 5}},
        criteria=[
            {"name": "homeless", "expression": "homeless", "points": 17, "group": "housing"},
            {"name": "hosted", "expression": "hosted", "points": 6, "group": "housing"},
            {"name": "disability", "expression": "disability", "points": 4, "group": "family"},
            {"name": "single", "expression": "single_parent", "points": 3, "group": "family"},
        ],
        wait={"points_per_month": 0.5, "cap": 20},
        refusal={"points_per_refusal": -3, "lowest": -5, "consequence": "3 each"},
    )
    result = score(scheme, table)
    np.testing.assert_allclose(result.breakdown.sum(axis=1), result.total)
    low, high = scheme.additive_range()
    assert result.total.between(low, high).all()
    assert result.table().columns[0] == "score"


def test_index_may_already_be_the_applicant_id() -> None:
    table = applicants(dalo=[True, False]).set_index("applicant_id")
    scheme = grid(criteria=[{"name": "dalo", "expression": "dalo", "points": 1}])
    assert score(scheme, table).total.to_dict() == {"a1": 1.0, "a2": 0.0}
