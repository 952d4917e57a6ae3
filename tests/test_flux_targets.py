"""Coverage, batch targets and trajectory, computed by hand on the reference scenario.

Negotiated shares: ST 0.25 and AL 0.20 on the department, CA 0.10 on commune A, so the
landlord's implicit share is 1 - 0.55 = 0.45 in commune A and 1 - 0.45 = 0.55 elsewhere.
The batch of February holds the flux units U1, U2 (commune A), U3 (B), U5, U6 (C); the
year to date holds four flux units oriented in January.
"""

from __future__ import annotations

import pandas as pd
import pytest

from fluxopt.flux import FluxTargets, batch_targets, coverage, trajectory
from fluxopt.instance import Instance
from fluxopt.schema.problems import FluxoptError, InvalidInputError
from test_flux_support import convention, reference_instance, reference_tables


def february() -> Instance:
    tables = reference_tables()
    for row in tables["units"]:
        row["available_on"] = "2026-02-10"
    return reference_instance(**tables, months=("2026-01", "2026-02"))


def january_orientations() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_id": ["Y1", "Y2", "Y3", "Y4"],
            "month": ["2026-01"] * 4,
            "commune": ["A", "A", "C", "B"],
            "epci": ["E1", "E1", "E2", "E1"],
            "segment": [
                "T3|non-QPV|PLUS",
                "T1-T2|non-QPV|PLUS",
                "T4|non-QPV|PLUS",
                "T3|non-QPV|PLAI",
            ],
            "holder_id": ["ST", "CA", "LL", "AL"],
        }
    )


def _holder(targets: FluxTargets, holder: str) -> pd.Series:
    rows = targets.holders[targets.holders["holder_id"] == holder]
    assert len(rows) == 1
    return rows.iloc[0]


def _segment(targets: FluxTargets, holder: str, segment: str) -> pd.Series:
    rows = targets.segments[
        (targets.segments["holder_id"] == holder) & (targets.segments["segment"] == segment)
    ]
    assert len(rows) == 1
    return rows.iloc[0]


# --- coverage --------------------------------------------------------------------------------


def test_coverage_of_flux_stock_and_excluded_units() -> None:
    cover = coverage(reference_instance(), method="negotiated")
    u1 = cover[cover["unit_id"] == "U1"]
    assert u1[["holder_id", "convention_id"]].to_numpy().tolist() == [
        ["AL", "C_AL"],
        ["CA", "C_CA"],
        ["ST", "C_ST"],
        ["LL", ""],
    ]
    assert u1["share"].tolist() == pytest.approx([0.2, 0.1, 0.25, 0.45])
    u3 = cover[cover["unit_id"] == "U3"]  # commune B: no commune convention
    assert u3["holder_id"].tolist() == ["AL", "ST", "LL"]
    assert u3["share"].iloc[-1] == pytest.approx(0.55)
    # Outside the flux: one channel each, share 1.
    u4 = cover[cover["unit_id"] == "U4"]
    assert u4[["holder_id", "convention_id", "share", "in_flux"]].to_numpy().tolist() == [
        ["LL", "", 1.0, False]
    ]
    u7 = cover[cover["unit_id"] == "U7"]
    assert u7[["holder_id", "convention_id", "share", "in_flux"]].to_numpy().tolist() == [
        ["ST", "", 1.0, False]
    ]
    assert list(cover.columns[:4]) == ["unit_id", "holder_id", "convention_id", "share"]


def test_coverage_shares_of_a_flux_unit_sum_to_one() -> None:
    cover = coverage(reference_instance(), method="stock_share")
    totals = cover[cover["in_flux"]].groupby("unit_id")["share"].sum()
    assert totals.to_numpy() == pytest.approx([1.0] * 5)


def test_coverage_of_given_units() -> None:
    units = pd.DataFrame({"unit_id": ["X"], "commune": ["C"], "epci": ["E2"]})
    cover = coverage(reference_instance(), units, method="negotiated")
    assert cover["holder_id"].tolist() == ["AL", "ST", "LL"]
    assert cover["in_flux"].all()


# --- batch targets ---------------------------------------------------------------------------


def test_batch_targets_per_holder() -> None:
    targets = batch_targets(february(), "2026-02", january_orientations(), method="negotiated")
    assert targets.landlord_id == "LL"
    st_row = _holder(targets, "ST")
    # ST: 0.25 × (4 to date + 5 in the batch) = 2.25; oriented 1 so far: need 1.25.
    assert (st_row["basis_ytd"], st_row["basis_batch"], st_row["oriented_ytd"]) == (4, 5, 1)
    assert st_row["target_ytd"] == pytest.approx(1.0)
    assert st_row["target_cumulative"] == pytest.approx(2.25)
    assert st_row["need"] == pytest.approx(1.25)
    # AL: 0.20 × 9 = 1.8, oriented 1: need 0.8.
    assert _holder(targets, "AL")["need"] == pytest.approx(0.8)
    # CA: commune A only, 2 to date + 2 in the batch: 0.10 × 4 = 0.4, oriented 1: ahead.
    ca = _holder(targets, "CA")
    assert (ca["basis_ytd"], ca["basis_batch"]) == (2, 2)
    assert ca["need"] == pytest.approx(-0.6)
    # Landlord: 0.45 on the 4 units of A (2 + 2), 0.55 on the 5 others (2 + 3):
    # to date 0.45 × 2 + 0.55 × 2 = 2.0; cumulative 2.0 + 0.45 × 2 + 0.55 × 3 = 4.55.
    ll = _holder(targets, "LL")
    assert ll["convention_id"] == ""
    assert ll["target_ytd"] == pytest.approx(2.0)
    assert ll["target_cumulative"] == pytest.approx(4.55)
    assert ll["need"] == pytest.approx(3.55)
    assert targets.holders["target_cumulative"].sum() == pytest.approx(9.0)
    assert list(targets.holders.columns[:4]) == [
        "holder_id",
        "convention_id",
        "perimeter_kind",
        "perimeter_id",
    ]


def test_batch_targets_per_segment() -> None:
    targets = batch_targets(february(), "2026-02", january_orientations(), method="negotiated")
    # CA in small units of commune A: Y2 to date (oriented to CA), U1 in the batch.
    small = _segment(targets, "CA", "T1-T2|non-QPV|PLUS")
    assert (small["basis_ytd"], small["basis_batch"], small["oriented_ytd"]) == (1, 1, 1)
    assert small["target_cumulative"] == pytest.approx(0.2)
    assert small["need"] == pytest.approx(-0.8)
    middle = _segment(targets, "CA", "T3|non-QPV|PLUS")
    assert middle["need"] == pytest.approx(0.2)
    # ST in T3 PLUS outside QPV: Y1 (its own) and U2: 0.25 × 2 - 1 = -0.5.
    assert _segment(targets, "ST", "T3|non-QPV|PLUS")["need"] == pytest.approx(-0.5)
    per_holder = targets.segments.groupby("holder_id")["target_cumulative"].sum()
    held = targets.holders.set_index("holder_id")["target_cumulative"]
    assert per_holder.reindex(held.index).to_numpy() == pytest.approx(held.to_numpy())


def test_rerunning_a_batch_does_not_count_its_units_twice() -> None:
    orientations = january_orientations()
    again = pd.concat(
        [orientations, orientations.iloc[[0]].assign(unit_id="U1", month="2026-02")],
        ignore_index=True,
    )
    first = batch_targets(february(), "2026-02", orientations, method="negotiated")
    second = batch_targets(february(), "2026-02", again, method="negotiated")
    pd.testing.assert_frame_equal(first.holders, second.holders)


def test_batch_is_the_month_or_the_given_units() -> None:
    instance = february()
    assert _holder(batch_targets(instance, "2026-01"), "ST")["basis_batch"] == 0
    chosen = batch_targets(instance, "2026-02", unit_ids=["U1", "U5", "U7"])
    assert _holder(chosen, "ST")["basis_batch"] == 2
    assert _holder(chosen, "CA")["basis_batch"] == 1
    assert sorted(chosen.coverage["unit_id"].unique()) == ["U1", "U5", "U7"]
    everything = batch_targets(instance, None)
    assert _holder(everything, "ST")["basis_batch"] == 5
    with pytest.raises(FluxoptError, match="units not in the instance: U99"):
        batch_targets(instance, "2026-02", unit_ids=["U1", "U99"])


def test_batch_targets_of_a_yearly_volume() -> None:
    tables = reference_tables()
    tables["conventions"][2] = convention("C_CA", "CA", "commune", "A", volume=2)
    targets = batch_targets(reference_instance(**tables), "2026-01")
    # 2 units a year on a forecast of 25.3125 for commune A, which has 2 flux units now.
    assert _holder(targets, "CA")["target_cumulative"] == pytest.approx(2 * 2 / 25.3125)


def test_own_methods_by_default_and_override() -> None:
    tables = reference_tables()
    tables["conventions"][0]["method"] = "stock_share"
    instance = reference_instance(**tables)
    own = batch_targets(instance, "2026-01")
    assert _holder(own, "ST")["share"] == pytest.approx(0.2)
    assert _holder(own, "ST")["method"] == "stock_share"
    forced = batch_targets(instance, "2026-01", method="negotiated")
    assert _holder(forced, "ST")["share"] == pytest.approx(0.25)


# --- year-to-date input ----------------------------------------------------------------------


def test_year_to_date_problems_are_listed() -> None:
    wrong = january_orientations()
    wrong.loc[1, "holder_id"] = "NOBODY"
    wrong.loc[2, "month"] = "January"
    with pytest.raises(InvalidInputError) as caught:
        batch_targets(february(), "2026-02", wrong)
    text = "\n".join(str(p) for p in caught.value.errors)
    assert "ytd, row 2 (Y2), column holder_id: 'NOBODY' is not in holders" in text
    assert "row 3 (Y3), column month" in text


def test_year_to_date_empty_cell_is_one_problem() -> None:
    wrong = january_orientations()
    wrong.loc[0, "holder_id"] = ""
    with pytest.raises(InvalidInputError) as caught:
        batch_targets(february(), "2026-02", wrong)
    assert [(p.row, p.column, p.message) for p in caught.value.errors] == [
        (1, "holder_id", "required value is empty")
    ]


def test_year_to_date_missing_column() -> None:
    with pytest.raises(InvalidInputError, match="column segment: required column is missing"):
        batch_targets(february(), "2026-02", january_orientations().drop(columns="segment"))


def test_month_must_be_written_as_year_and_month() -> None:
    with pytest.raises(FluxoptError, match="is not written YYYY-MM"):
        batch_targets(february(), "02/2026")


# --- trajectory ------------------------------------------------------------------------------


def test_trajectory_reaches_the_annual_volume_in_december() -> None:
    frame = trajectory(reference_instance(), "negotiated")
    st_rows = frame[frame["holder_id"] == "ST"].sort_values("month")
    assert st_rows["month"].tolist() == [f"2026-{m:02d}" for m in range(1, 13)]
    assert st_rows["target_cumulative"].iloc[-1] == pytest.approx(11.0)
    assert st_rows["target_cumulative"].is_monotonic_increasing
    ll_rows = frame[frame["holder_id"] == "LL"]
    assert ll_rows["basis_cumulative"].max() == pytest.approx(44.0)


def test_trajectory_is_even_without_history() -> None:
    frame = trajectory(reference_instance(history=[]), "negotiated")
    st_rows = frame[frame["holder_id"] == "ST"].set_index("month")
    volume = st_rows["annual_volume"].iloc[0]
    assert st_rows.loc["2026-06", "target_cumulative"] == pytest.approx(volume / 2)
