"""Flux basis: realised counts and the yearly forecast, computed by hand on small instances."""

from __future__ import annotations

import pandas as pd
import pytest

from fluxopt.flux import flux_basis, forecast_basis, seasonal_profile
from fluxopt.schema.problems import FluxoptError
from test_flux_support import reference_instance, reference_tables, vacancies


def _row(frame: pd.DataFrame, kind: str, perimeter: str) -> pd.Series:
    hit = frame[(frame["perimeter_kind"] == kind) & (frame["perimeter_id"] == perimeter)]
    assert len(hit) == 1
    return hit.iloc[0]


def test_flux_basis_is_vacated_minus_withdrawn_per_epci() -> None:
    counts = flux_basis(reference_instance(), by=("epci",)).set_index("epci")
    # E1: U1 U2 U3 in the flux, U4 kept for a transfer; E2: U5 U6 in the flux, U7 in stock.
    assert counts.loc["E1"].tolist() == [4, 1, 0, 3]
    assert counts.loc["E2"].tolist() == [3, 0, 1, 2]


def test_flux_basis_total_and_month_filter() -> None:
    instance = reference_instance()
    total = flux_basis(instance, by=())
    assert total.iloc[0].to_dict() == {"vacated": 7, "excluded": 1, "stock": 1, "basis": 5}
    assert flux_basis(instance, months=["2026-02"], by=()).iloc[0]["vacated"] == 0


def test_flux_basis_rejects_an_unknown_grouping() -> None:
    with pytest.raises(FluxoptError, match="unknown unit column"):
        flux_basis(reference_instance(), by=("colour",))


def test_forecast_from_stock_and_observed_turnover() -> None:
    forecast = forecast_basis(reference_instance())
    e1, e2 = _row(forecast, "epci", "E1"), _row(forecast, "epci", "E2")
    # E1: 90 vacancies over 2 years = 45 a year on a stock of 400 (turnover 11.25 %);
    # one unit of four excluded: F = 400 × 0.1125 × 0.75 = 33.75, B = 34.
    assert e1["vacancies_per_year"] == pytest.approx(45.0)
    assert e1["turnover"] == pytest.approx(0.1125)
    assert e1["excluded_fraction"] == pytest.approx(0.25)
    assert e1["basis"] == pytest.approx(33.75)
    assert e1["basis_units"] == 34
    # E2: 30 / 2 = 15 a year on 200 (7.5 %); one unit of three in stock: F = 15 × 2/3 = 10.
    assert e2["turnover"] == pytest.approx(0.075)
    assert e2["basis"] == pytest.approx(10.0)
    # Department: 33.75 + 10 = 43.75, B = 44; communes by stock: A 300/400, B 100/400.
    whole = _row(forecast, "department", "99")
    assert whole["basis"] == pytest.approx(43.75)
    assert whole["basis_units"] == 44
    assert whole["stock"] == 600
    assert _row(forecast, "commune", "A")["basis"] == pytest.approx(0.75 * 33.75)
    assert _row(forecast, "commune", "B")["basis_units"] == 8  # 8.4375
    assert set(forecast["source"]) == {"history"}


def test_forecast_ignores_history_of_the_year_itself() -> None:
    tables = reference_tables()
    later = vacancies("landlord", "E1", "A", 30, years=(2026,))
    changed = forecast_basis(reference_instance(history=tables["history"] + later))
    assert _row(changed, "department", "99")["basis"] == pytest.approx(43.75)


def test_forecast_falls_back_to_the_instance_vacancies_annualised() -> None:
    forecast = forecast_basis(reference_instance(history=[]))
    # One month of units: E1 4 × 12 = 48 a year, 75 % in the flux: 36; E2 3 × 12 × 2/3 = 24.
    assert _row(forecast, "epci", "E1")["basis"] == pytest.approx(36.0)
    assert _row(forecast, "epci", "E2")["basis"] == pytest.approx(24.0)
    assert set(forecast["source"]) == {"instance"}


def test_forecast_falls_back_per_epci_without_history() -> None:
    only_e1 = [event for event in reference_tables()["history"] if event["epci"] == "E1"]
    forecast = forecast_basis(reference_instance(history=only_e1))
    assert _row(forecast, "epci", "E1")["source"] == "history"
    assert _row(forecast, "epci", "E2")["source"] == "instance"
    assert _row(forecast, "epci", "E2")["basis"] == pytest.approx(24.0)


def test_commune_weights_follow_units_when_a_commune_has_no_stock() -> None:
    tables = reference_tables()
    tables["residences"][1]["stock_units"] = 0  # RB, commune B
    tables["units"] = [u for u in tables["units"] if u["unit_id"] != "U3"]  # B has no unit
    forecast = forecast_basis(reference_instance(**tables))
    # E1 now has 3 units, all in A (one excluded): A takes the whole EPCI forecast.
    e1 = _row(forecast, "epci", "E1")
    assert _row(forecast, "commune", "A")["basis"] == pytest.approx(e1["basis"])
    assert _row(forecast, "commune", "B")["basis"] == pytest.approx(0.0)


def test_seasonal_profile_from_history_or_uniform() -> None:
    events = vacancies("landlord", "E1", "A", 2, years=(2025,))  # January and February 2025
    profile = seasonal_profile(reference_instance(history=events))
    assert profile.sum() == pytest.approx(1.0)
    assert profile.loc[1] == pytest.approx(0.5)
    assert profile.loc[2] == pytest.approx(0.5)
    assert profile.loc[3:].sum() == pytest.approx(0.0)
    uniform = seasonal_profile(reference_instance(history=[]))
    assert uniform.tolist() == pytest.approx([1 / 12] * 12)
