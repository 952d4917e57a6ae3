"""Derived columns, checked against values computed by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from conftest import write_hand_instance
from fluxopt.derive import (
    DAYS_PER_MONTH,
    construction_period,
    consumption_units,
    derive_applicants,
    derive_units,
    household_category,
    room_group,
    wait_months,
)
from fluxopt.instance import Instance, load_instance
from fluxopt.schema.declaration import schema

BESANCON, MONTBELIARD = "200067106", "242504496"


@pytest.fixture(scope="module")
def hand(tmp_path_factory: pytest.TempPathFactory) -> Instance:
    """The hand-made instance, loaded once for the module (tests only read it)."""
    return load_instance(write_hand_instance(tmp_path_factory.mktemp("derive") / "hand"))


def ints(*values: int) -> pd.Series:
    return pd.Series(values, dtype="int64")


def test_consumption_units() -> None:
    # 1 for the first person, 0.5 per other adult, 0.3 per child under 14
    units = consumption_units(ints(1, 2, 1, 2, 3), ints(0, 0, 2, 3, 1))
    assert units.tolist() == pytest.approx([1.0, 1.5, 1.6, 2.4, 2.3])


def test_household_category_with_disability_and_cap() -> None:
    size = ints(1, 2, 3, 5, 6, 8, 8)
    disabled = pd.Series([False, True, False, True, True, False, True], dtype="boolean")
    assert household_category(size, disabled).tolist() == [1, 3, 3, 6, 6, 6, 6]


def test_household_category_treats_unknown_disability_as_none() -> None:
    disabled = pd.Series([pd.NA, True], dtype="boolean")
    assert household_category(ints(2, 2), disabled).tolist() == [2, 3]


def test_wait_months() -> None:
    filed = pd.Series(pd.to_datetime(["2025-01-01", "2025-12-01", "2026-03-01"]))
    months = wait_months(filed, dt.date(2026, 1, 1))
    assert months.tolist() == pytest.approx([365 / 30.4375, 31 / 30.4375, 0.0])
    assert pytest.approx(30.4375) == DAYS_PER_MONTH


def test_room_groups() -> None:
    assert room_group(ints(1, 2, 3, 4, 5, 6)).tolist() == [
        "T1-T2",
        "T1-T2",
        "T3",
        "T4",
        "T5+",
        "T5+",
    ]


def test_construction_periods_at_their_bounds() -> None:
    years = ints(1900, 1948, 1949, 1974, 1975, 1999, 2000, 2012, 2013, 2026)
    assert construction_period(years).tolist() == [
        "before 1949",
        "before 1949",
        "1949-1974",
        "1949-1974",
        "1975-1999",
        "1975-1999",
        "2000-2012",
        "2000-2012",
        "2013 and later",
        "2013 and later",
    ]


def test_units_take_the_residence_values_and_segments(hand: Instance) -> None:
    units = hand.units.set_index("unit_id")
    assert units.loc["U1", ["commune", "epci", "qpv", "fragile"]].tolist() == [
        "Besançon",
        BESANCON,
        False,
        False,
    ]
    assert units.loc["U3", ["commune", "epci", "qpv", "fragile"]].tolist() == [
        "Besançon",
        BESANCON,
        True,
        True,
    ]
    assert units["segment"].to_dict() == {
        "U1": "T1-T2|non-QPV|PLUS",
        "U2": "T3|non-QPV|PLAI",
        "U3": "T4|QPV|PLUS",
        "U4": "T1-T2|QPV|PLAI",
        "U5": "T3|non-QPV|PLS",
        "U6": "T5+|non-QPV|PLUS",
    }
    assert units["in_flux"].tolist() == [True, True, False, False, True, True]
    assert units["month"].unique().tolist() == ["2026-01"]
    assert units["construction_period"].tolist() == [
        "1975-1999",
        "1975-1999",
        "1949-1974",
        "1949-1974",
        "2013 and later",
        "2013 and later",
    ]
    assert units["qpv"].dtype == bool


def test_applicants_income_category_wait_and_first_quartile(hand: Instance) -> None:
    applicants = hand.applicants.set_index("applicant_id")
    uc = [1.0, 1.6, 2.1, 1.5, 2.4, 1.0, 1.3, 2.7, 1.8, 1.5]
    income = [9500, 14000, 31000, 21000, 26000, 18000, 12000, 33000, 40000, 8000]
    assert applicants["consumption_units"].tolist() == pytest.approx(uc)
    assert applicants["income_per_uc"].tolist() == pytest.approx(
        [i / u for i, u in zip(income, uc, strict=True)]
    )
    # A04 (2 persons) and A08 (6 persons) have a disabled member
    assert applicants["category"].tolist() == [1, 3, 4, 3, 5, 1, 2, 6, 3, 2]
    assert applicants["home_epci"].tolist() == [
        BESANCON,
        BESANCON,
        MONTBELIARD,
        BESANCON,
        BESANCON,
        MONTBELIARD,
        BESANCON,
        MONTBELIARD,
        BESANCON,
        MONTBELIARD,
    ]
    # thresholds: 9000 €/UC in Besançon, 8500 €/UC in Montbéliard
    # A02: 14000 / 1.6 = 8750 <= 9000; A10: 8000 / 1.5 = 5333 <= 8500;
    # A07: 12000 / 1.3 = 9231 > 9000
    assert applicants["q1"].tolist() == [
        False,
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
    ]
    # A01 filed on 2025-03-10: 297 days before the reference date 2026-01-01
    assert applicants.loc["A01", "wait_months"] == pytest.approx(297 / 30.4375)
    assert applicants["first_wish"].tolist()[:2] == ["Besançon", "Besançon"]


def _applicants(hand: Instance, **changes: list[object]) -> pd.DataFrame:
    frame = hand.tables["applicants"].iloc[:3].copy()
    for column, values in changes.items():
        frame[column] = values
    return frame


def test_first_quartile_is_inclusive_at_the_threshold(hand: Instance) -> None:
    # one adult, no child: UC = 1, so income per UC = income
    frame = _applicants(
        hand,
        household_size=[1, 1, 1],
        adults=[1, 1, 1],
        children=[0, 0, 0],
        annual_income=[8999.0, 9000.0, 9001.0],
        wished_communes=["Besançon"] * 3,
    )
    derived = derive_applicants(frame, hand.residences, hand.thresholds, dt.date(2026, 1, 1))
    assert derived["q1"].tolist() == [True, True, False]


def test_home_epci_is_that_of_the_first_wish_in_the_territory(hand: Instance) -> None:
    frame = _applicants(
        hand,
        wished_communes=["Dole;Montbéliard;Besançon", "Dole;Lons-le-Saunier", " Besançon ; Dole"],
    )
    derived = derive_applicants(frame, hand.residences, hand.thresholds, dt.date(2026, 1, 1))
    assert derived["first_wish"].tolist() == ["Dole", "Dole", "Besançon"]
    assert derived.loc[0, "home_epci"] == MONTBELIARD
    assert pd.isna(derived.loc[1, "home_epci"])
    assert pd.isna(derived.loc[1, "q1"])
    assert derived.loc[2, "home_epci"] == BESANCON


def test_derived_columns_are_those_declared(hand: Instance) -> None:
    specs = schema()
    for name, derived in (("units", hand.units), ("applicants", hand.applicants)):
        added = [c for c in derived.columns if c not in hand.tables[name].columns]
        assert sorted(added) == sorted(specs[name].derived), name
        kinds = {
            "str": pd.api.types.is_string_dtype,
            "float": pd.api.types.is_float_dtype,
            "int": pd.api.types.is_integer_dtype,
            "bool": pd.api.types.is_bool_dtype,
        }
        for column, spec in specs[name].derived.items():
            assert kinds[spec.dtype](derived[column].dtype), (name, column)


def test_derivation_does_not_change_the_input_tables(hand: Instance) -> None:
    units = hand.tables["units"].copy()
    applicants = hand.tables["applicants"].copy()
    derive_units(hand.tables["units"], hand.residences)
    derive_applicants(
        hand.tables["applicants"], hand.residences, hand.thresholds, dt.date(2026, 1, 1)
    )
    pd.testing.assert_frame_equal(hand.tables["units"], units)
    pd.testing.assert_frame_equal(hand.tables["applicants"], applicants)
    assert "segment" not in hand.tables["units"].columns
