"""The four stock-to-flux conversion methods, computed by hand, and the bad inputs they reject.

Reference scenario (see ``test_flux_support``): stock 600 in the department, 300 in commune
A; ST holds 120 reserved units, AL 90 (and 12 one-off rights), CA 30 in commune A. Over
2024-2025 the history records 24 vacancies of ST's contingent, 9 of AL's and 6 of CA's; the
forecast basis of the department is F = 43.75.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from fluxopt.flux import (
    conversion_table,
    convert,
    negotiated,
    stock_share,
    turnover_weighted,
    unique_rights,
)
from fluxopt.flux.conversion import contingent_turnover
from fluxopt.schema.problems import FluxoptError, InvalidInputError
from test_flux_support import (
    DEPARTMENT,
    REFERENCE_HOLDERS,
    convention,
    reference_instance,
    reference_tables,
    unit,
)


def _shares(table: pd.DataFrame, column: str = "share") -> dict[str, float]:
    return dict(zip(table["convention_id"], table[column], strict=True))


# --- the method functions on their docstring examples -------------------------------------


def test_stock_share_example() -> None:
    assert stock_share([30, 0, 5], [200, 200, 0]).tolist() == pytest.approx([0.15, 0.0, 0.0])


def test_turnover_weighted_example_keeps_the_total() -> None:
    # Stock shares 0.20 and 0.10, turnovers 6 % and 12 %, mean 8 %: w = (0.15, 0.15).
    result = turnover_weighted([0.2, 0.1], [0.06 / 0.08, 0.12 / 0.08], ["P", "P"])
    assert result.tolist() == pytest.approx([0.15, 0.15])


def test_turnover_weighted_renormalises_per_perimeter() -> None:
    result = turnover_weighted([0.2, 0.1, 0.3], [2.0, 1.0, 5.0], ["P", "P", "Q"])
    # P: weights 0.4 and 0.1 rescaled to the total 0.3: 0.24 and 0.06; Q alone keeps 0.3.
    assert result.tolist() == pytest.approx([0.24, 0.06, 0.3])


def test_unique_rights_example() -> None:
    # 0.10 + 12 / (2 × 120) = 0.15; a perimeter without basis keeps the stock share.
    assert unique_rights([0.1, 0.1], [12, 12], [120, 0], 2.0).tolist() == pytest.approx([0.15, 0.1])


def test_negotiated_example() -> None:
    result = negotiated([np.nan, 0.3], [18, np.nan], [120.0, 120.0])
    assert result.tolist() == pytest.approx([0.15, 0.3])


# --- the four methods on the reference scenario -------------------------------------------


def test_stock_share_on_the_reference() -> None:
    shares = _shares(convert(reference_instance(), "stock_share"))
    # ST 120/600, AL 90/600, CA 30/300 (the stock of commune A).
    assert shares == pytest.approx({"C_ST": 0.2, "C_AL": 0.15, "C_CA": 0.1})


def test_contingent_turnover_on_the_reference() -> None:
    instance = reference_instance()
    turnover = contingent_turnover(instance).set_index(instance.conventions["convention_id"])
    # ST: 24 vacancies / 2 years / 120 = 0.10; AL: 9 / 2 / 90 = 0.05;
    # mean of the department: (12 + 4.5) / (120 + 90) = 0.0785714.
    assert turnover.loc["C_ST", "turnover"] == pytest.approx(0.1)
    assert turnover.loc["C_AL", "turnover"] == pytest.approx(0.05)
    assert turnover.loc["C_ST", "mean_turnover"] == pytest.approx(16.5 / 210)
    assert turnover.loc["C_ST", "turnover_ratio"] == pytest.approx(0.1 * 210 / 16.5)
    # CA is alone on commune A: 6 / 2 / 30 = 0.10, its own mean, ratio 1.
    assert turnover.loc["C_CA", "turnover"] == pytest.approx(0.1)
    assert turnover.loc["C_CA", "turnover_ratio"] == pytest.approx(1.0)


def test_turnover_weighted_on_the_reference() -> None:
    shares = _shares(convert(reference_instance(), "turnover_weighted"))
    # Department: s·t = 0.2 × 0.10 = 0.02 and 0.15 × 0.05 = 0.0075; total share 0.35 kept:
    # ST = 0.35 × 0.02 / 0.0275 = 0.254545, AL = 0.35 × 0.0075 / 0.0275 = 0.095455.
    assert shares["C_ST"] == pytest.approx(0.35 * 0.02 / 0.0275)
    assert shares["C_AL"] == pytest.approx(0.35 * 0.0075 / 0.0275)
    assert shares["C_ST"] + shares["C_AL"] == pytest.approx(0.35)
    assert shares["C_CA"] == pytest.approx(0.1)


def test_unique_rights_on_the_reference_adds_to_the_stock_share() -> None:
    shares = _shares(convert(reference_instance(), "unique_rights"))
    # AL: 0.15 + 12 / (1 × 43.75) = 0.424286; the others have no one-off rights.
    assert shares["C_AL"] == pytest.approx(0.15 + 12 / 43.75)
    assert shares["C_ST"] == pytest.approx(0.2)
    two_years = _shares(convert(reference_instance(), "unique_rights", horizon_years=2.0))
    assert two_years["C_AL"] == pytest.approx(0.15 + 6 / 43.75)


def test_negotiated_on_the_reference() -> None:
    shares = _shares(convert(reference_instance(), "negotiated"))
    assert shares == pytest.approx({"C_ST": 0.25, "C_AL": 0.2, "C_CA": 0.1})


def test_conversion_table_has_every_method_side_by_side() -> None:
    table = conversion_table(reference_instance())
    for column in ("share_stock_share", "share_turnover_weighted", "share_unique_rights"):
        assert column in table
    assert table["perimeter_stock"].tolist() == [600, 600, 300]
    assert table["basis"].tolist() == pytest.approx([43.75, 43.75, 0.75 * 33.75])


# --- fallbacks and the choice of method ----------------------------------------------------


def test_unobserved_contingent_takes_the_mean_turnover() -> None:
    history = [e for e in reference_tables()["history"] if e["contingent"] != "AL"]
    shares = _shares(convert(reference_instance(history=history), "turnover_weighted"))
    # AL has no recorded vacancy: t_AL = mean = 12 / 210; ST's ratio = 0.10 / (12/210) = 1.75.
    # s·ρ: ST 0.2 × 1.75 = 0.35, AL 0.15 × 1 = 0.15; total 0.35 kept: 0.245 and 0.105.
    assert shares["C_ST"] == pytest.approx(0.245)
    assert shares["C_AL"] == pytest.approx(0.105)


def test_without_history_turnover_weighted_is_stock_share() -> None:
    instance = reference_instance(history=[])
    weighted = convert(instance, "turnover_weighted")["share"]
    assert weighted.tolist() == pytest.approx(convert(instance, "stock_share")["share"].tolist())


def test_each_convention_uses_its_own_method_by_default() -> None:
    tables = reference_tables()
    tables["conventions"][1]["method"] = "unique_rights"
    table = convert(reference_instance(**tables))
    assert _shares(table) == pytest.approx({"C_ST": 0.25, "C_AL": 0.15 + 12 / 43.75, "C_CA": 0.1})
    assert table["method"].tolist() == ["negotiated", "unique_rights", "negotiated"]
    overridden = convert(reference_instance(**tables), "stock_share")
    assert overridden["method"].tolist() == ["stock_share"] * 3


def test_own_method_with_nothing_to_convert_keeps_the_written_share() -> None:
    tables = reference_tables()
    tables["conventions"][2] |= {"method": "stock_share", "reserved_units": 0}
    table = convert(reference_instance(**tables))
    assert _shares(table)["C_CA"] == pytest.approx(0.1)
    assert table["method"].tolist()[2] == "negotiated"
    # Asked explicitly, stock_share gives what there is to convert: nothing.
    assert _shares(convert(reference_instance(**tables), "stock_share"))["C_CA"] == 0.0


def test_annual_volume_is_a_share_of_the_forecast_basis() -> None:
    tables = reference_tables()
    tables["conventions"][2] = convention("C_CA", "CA", "commune", "A", volume=2, reserved=30)
    table = convert(reference_instance(**tables))
    # Commune A expects F = 0.75 × 33.75 = 25.3125 flux units a year: 2 / 25.3125.
    assert _shares(table)["C_CA"] == pytest.approx(2 / 25.3125)
    assert table["fixed_volume"].tolist()[2] == 2
    assert not table["capped"].any()


def test_annual_volume_beyond_the_forecast_is_capped_to_the_room_left() -> None:
    tables = reference_tables()
    tables["conventions"][2] = convention("C_CA", "CA", "commune", "A", volume=30)
    table = convert(reference_instance(**tables))
    # 30 / 25.3 > 1: capped to 1 - 0.25 - 0.20 = 0.55 on commune A.
    assert _shares(table)["C_CA"] == pytest.approx(0.55)
    assert table["capped"].tolist() == [False, False, True]


# --- bad inputs ------------------------------------------------------------------------------


def _problems(error: InvalidInputError) -> str:
    return "\n".join(str(problem) for problem in error.errors)


def test_holder_without_convention_is_reported() -> None:
    holders = [*REFERENCE_HOLDERS, ("XX", "other")]
    with pytest.raises(InvalidInputError) as caught:
        convert(reference_instance(holders=holders))
    assert "holder 'XX' has no convention" in _problems(caught.value)


def test_holder_with_units_in_stock_only_needs_no_convention() -> None:
    tables = reference_tables()
    tables["holders"] = [*REFERENCE_HOLDERS, ("DEF", "other")]
    tables["units"] = [*tables["units"], unit("U8", "RC", status="stock:DEF")]
    assert len(convert(reference_instance(**tables))) == 3


def test_landlord_problems_are_all_reported_at_once() -> None:
    holders = [*REFERENCE_HOLDERS, ("LL2", "landlord"), ("XX", "other")]
    with pytest.raises(InvalidInputError) as caught:
        convert(reference_instance(holders=holders))
    text = _problems(caught.value)
    assert "second holder of kind landlord" in text
    assert "holder 'XX' has no convention" in text
    with pytest.raises(InvalidInputError, match="no holder has kind 'landlord'"):
        convert(reference_instance(holders=REFERENCE_HOLDERS[1:]))


def test_landlord_with_a_convention_is_reported() -> None:
    tables = reference_tables()
    tables["conventions"].append(convention("C_LL", "LL", "epci", "E2", share=0.1))
    with pytest.raises(InvalidInputError, match="the landlord 'LL' has a convention"):
        convert(reference_instance(**tables))


def test_overlapping_conventions_of_one_holder_are_reported() -> None:
    tables = reference_tables()
    tables["conventions"].append(convention("C_ST2", "ST", "epci", "E1", share=0.05))
    with pytest.raises(InvalidInputError, match="overlapping conventions C_ST, C_ST2"):
        convert(reference_instance(**tables))


def test_shares_over_one_on_a_commune_are_reported_with_the_commune() -> None:
    tables = reference_tables()
    tables["conventions"][2]["share"] = 0.6  # 0.25 + 0.20 + 0.60 on commune A
    with pytest.raises(InvalidInputError) as caught:
        convert(reference_instance(**tables))
    text = _problems(caught.value)
    assert "commune A (EPCI E1) sum to 1.050" in text
    assert "commune B" not in text


def test_shares_over_one_depend_on_the_method() -> None:
    tables = reference_tables()
    tables["conventions"][2]["reserved_units"] = 300  # all of commune A's stock
    instance = reference_instance(**tables)
    assert len(convert(instance, "negotiated")) == 3
    with pytest.raises(InvalidInputError, match=r"sum to 1\.350 under method stock_share"):
        convert(instance, "stock_share")


def test_negative_stock_is_rejected_when_loading() -> None:
    tables = reference_tables()
    tables["residences"][0]["stock_units"] = -5
    with pytest.raises(InvalidInputError, match="stock_units"):
        reference_instance(**tables)


def test_negative_stock_is_rejected_even_in_an_unvalidated_instance() -> None:
    instance = reference_instance()
    residences = instance.residences.assign(stock_units=[300, -100, 200])
    forged = dataclasses.replace(instance, tables={**instance.tables, "residences": residences})
    with pytest.raises(InvalidInputError, match=r"stock_units is negative \(-100\)"):
        convert(forged)


def test_reserved_units_without_stock_are_reported() -> None:
    tables = reference_tables()
    tables["residences"][0]["stock_units"] = 0  # commune A has no stock left
    with pytest.raises(InvalidInputError, match="commune A has no stock"):
        convert(reference_instance(**tables), "stock_share")


def test_unknown_method_is_a_short_error() -> None:
    with pytest.raises(FluxoptError, match="unknown conversion method 'stock'") as caught:
        convert(reference_instance(), "stock")
    assert not isinstance(caught.value, InvalidInputError)


def test_horizon_must_be_positive() -> None:
    with pytest.raises(FluxoptError, match="horizon"):
        convert(reference_instance(), "unique_rights", horizon_years=0.0)


def test_department_of_another_territory_is_reported() -> None:
    instance = reference_instance()
    conventions = instance.conventions.assign(perimeter_id=["25", DEPARTMENT, "A"])
    forged = dataclasses.replace(instance, tables={**instance.tables, "conventions": conventions})
    with pytest.raises(InvalidInputError, match="department '25' is not the instance's department"):
        convert(forged)
