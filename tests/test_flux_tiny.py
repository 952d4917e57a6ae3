"""The four conversion methods computed by hand on the committed ``instances/tiny``.

The figures of tiny used below:

- stock (residences.stock_units): EPCI 990000001 = 221 + 315 (Montferrand-la-Forêt, 536)
  + 240 (Montigny-sur-Ognon) = 776; EPCI 990000002 = 291 (Mirebel); department "00": 1067;
- conventions: PREFET department, share 0.20, 190 reserved; STATE_AGENTS department, share
  0.05, stock_share, 66 reserved; ACTION_LOGEMENT department, share 0.23, 409 reserved,
  1 one-off right; COMMUNE_MONTFERRAND_LA_FORET commune, share 0.12, 65 reserved, 1 right;
- history: 202 vacancies over 2024-2025 (two years): 148 in 990000001, 54 in 990000002;
  by contingent PREFET 46, STATE_AGENTS 15, ACTION_LOGEMENT 74, the commune's 10 (all in
  Montferrand-la-Forêt), landlord 57;
- units of 2026-01: 990000001 six units, one excluded:mutation; 990000002 two units; so 7
  flux units, 4 of them in Montferrand-la-Forêt.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxopt.flux import annual_volumes, batch_targets, convert, coverage, forecast_basis
from fluxopt.instance import Instance, load_instance

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
PREFET, AGENTS, AL = "CONV_PREFET", "CONV_STATE_AGENTS", "CONV_ACTION_LOGEMENT"
COMMUNE = "CONV_COMMUNE_MONTFERRAND_LA_FORET"
pytestmark = pytest.mark.skipif(not TINY.is_dir(), reason="instances/tiny is not there")


@pytest.fixture(scope="module")
def tiny() -> Instance:
    return load_instance(TINY)


def _shares(instance: Instance, method: str | None) -> dict[str, float]:
    table = convert(instance, method)
    return dict(zip(table["convention_id"], table["share"], strict=True))


def _volumes(instance: Instance, method: str | None) -> dict[str, int]:
    table = annual_volumes(instance, method)
    return dict(zip(table["holder_id"], table["annual_volume"], strict=True))


def test_forecast_basis_of_tiny(tiny: Instance) -> None:
    forecast = forecast_basis(tiny).set_index(["perimeter_kind", "perimeter_id"])
    # 990000001: 148 / 2 = 74 a year, 1 unit of 6 excluded: 74 × 5/6 = 61.667.
    assert forecast.loc[("epci", "990000001"), "basis"] == pytest.approx(74 * 5 / 6)
    # 990000002: 54 / 2 = 27 a year, nothing excluded.
    assert forecast.loc[("epci", "990000002"), "basis"] == pytest.approx(27.0)
    # Department: 61.667 + 27 = 88.667 → 89.
    assert forecast.loc[("department", "00"), "basis_units"] == 89
    # Montferrand-la-Forêt: 536 / 776 of its EPCI: 42.59 → 43.
    commune = forecast.loc[("commune", "Montferrand-la-Forêt")]
    assert commune["basis"] == pytest.approx(74 * 5 / 6 * 536 / 776)
    assert commune["basis_units"] == 43


def test_stock_share_on_tiny(tiny: Instance) -> None:
    shares = _shares(tiny, "stock_share")
    # 190/1067, 66/1067, 409/1067 and 65/536.
    assert shares[PREFET] == pytest.approx(190 / 1067)
    assert shares[AGENTS] == pytest.approx(66 / 1067)
    assert shares[AL] == pytest.approx(409 / 1067)
    assert shares[COMMUNE] == pytest.approx(65 / 536)
    # Department quotas on B = 89: 15.85 + 5.51 + 34.12 = 55.47 → 55; floors 15 + 5 + 34,
    # one more unit to PREFET (.85). Commune: 0.1213 × 43 = 5.21 → 5. Landlord 89 − 60.
    assert _volumes(tiny, "stock_share") == {
        "PREFET": 16,
        "STATE_AGENTS": 5,
        "ACTION_LOGEMENT": 34,
        "COMMUNE_MONTFERRAND_LA_FORET": 5,
        "LANDLORD": 29,
    }


def test_turnover_weighted_on_tiny(tiny: Instance) -> None:
    shares = _shares(tiny, "turnover_weighted")
    # s_c t_c = (R_c / 1067) × (n_c / 2 / R_c) ∝ n_c: the reserved total 665/1067 is split
    # in proportion to the vacancies 46, 15 and 74 (of 135).
    reserved = 665 / 1067
    assert shares[PREFET] == pytest.approx(reserved * 46 / 135)
    assert shares[AGENTS] == pytest.approx(reserved * 15 / 135)
    assert shares[AL] == pytest.approx(reserved * 74 / 135)
    # The commune's convention is alone on its perimeter: unchanged, 65/536.
    assert shares[COMMUNE] == pytest.approx(65 / 536)
    # Quotas 18.90 + 6.16 + 30.41 = 55.47 → 55: floors 18 + 6 + 30, one more to PREFET.
    assert _volumes(tiny, "turnover_weighted") == {
        "PREFET": 19,
        "STATE_AGENTS": 6,
        "ACTION_LOGEMENT": 30,
        "COMMUNE_MONTFERRAND_LA_FORET": 5,
        "LANDLORD": 29,
    }


def test_unique_rights_on_tiny(tiny: Instance) -> None:
    shares = _shares(tiny, "unique_rights")
    # One right over one year on top of the stock share: AL 409/1067 + 1/88.667,
    # the commune 65/536 + 1/42.59.
    department = 74 * 5 / 6 + 27
    commune = 74 * 5 / 6 * 536 / 776
    assert shares[AL] == pytest.approx(409 / 1067 + 1 / department)
    assert shares[COMMUNE] == pytest.approx(65 / 536 + 1 / commune)
    assert shares[PREFET] == pytest.approx(190 / 1067)
    # Department: 15.85 + 5.51 + 35.12 = 56.47 → 56, floors 15 + 5 + 35, one more to
    # PREFET (.85); commune 0.1447 × 43 = 6.22 → 6; landlord 89 − 62 = 27.
    assert _volumes(tiny, "unique_rights") == {
        "PREFET": 16,
        "STATE_AGENTS": 5,
        "ACTION_LOGEMENT": 35,
        "COMMUNE_MONTFERRAND_LA_FORET": 6,
        "LANDLORD": 27,
    }


def test_negotiated_on_tiny(tiny: Instance) -> None:
    assert _shares(tiny, "negotiated") == pytest.approx(
        {PREFET: 0.2, AGENTS: 0.05, AL: 0.23, COMMUNE: 0.12}
    )
    # 17.8 + 4.45 + 20.47 = 42.72 → 43: floors 17 + 4 + 20, two more units to the largest
    # remainders .8 (PREFET) and .47 (AL); commune 0.12 × 43 = 5.16 → 5; landlord 41.
    assert _volumes(tiny, "negotiated") == {
        "PREFET": 18,
        "STATE_AGENTS": 4,
        "ACTION_LOGEMENT": 21,
        "COMMUNE_MONTFERRAND_LA_FORET": 5,
        "LANDLORD": 41,
    }


def test_own_methods_on_tiny(tiny: Instance) -> None:
    # STATE_AGENTS converts its 66 reserved units by stock share; the others are negotiated:
    # 17.8 + 5.51 + 20.47 = 43.78 → 44, floors 17 + 5 + 20 and two more units to .8 and .51.
    assert _volumes(tiny, None) == {
        "PREFET": 18,
        "STATE_AGENTS": 6,
        "ACTION_LOGEMENT": 20,
        "COMMUNE_MONTFERRAND_LA_FORET": 5,
        "LANDLORD": 40,
    }


def test_january_targets_on_tiny(tiny: Instance) -> None:
    targets = batch_targets(tiny, "2026-01")
    held = targets.holders.set_index("holder_id")
    # 7 flux units: PREFET 0.2 × 7, STATE_AGENTS 66/1067 × 7, AL 0.23 × 7; the commune
    # 0.12 × 4 (its units); the landlord the rest of the 7.
    assert held.loc["PREFET", "target_cumulative"] == pytest.approx(1.4)
    assert held.loc["STATE_AGENTS", "target_cumulative"] == pytest.approx(66 / 1067 * 7)
    assert held.loc["ACTION_LOGEMENT", "target_cumulative"] == pytest.approx(1.61)
    assert held.loc["COMMUNE_MONTFERRAND_LA_FORET", "basis_batch"] == 4
    assert held.loc["COMMUNE_MONTFERRAND_LA_FORET", "target_cumulative"] == pytest.approx(0.48)
    rest = 7 - 1.4 - 66 / 1067 * 7 - 1.61 - 0.48
    assert held.loc["LANDLORD", "target_cumulative"] == pytest.approx(rest)


def test_coverage_of_tiny(tiny: Instance) -> None:
    cover = coverage(tiny)
    excluded = cover[cover["unit_id"] == "U202601-0002"]
    assert excluded[["holder_id", "share", "in_flux"]].to_numpy().tolist() == [
        ["LANDLORD", 1.0, False]
    ]
    in_montferrand = cover[cover["unit_id"] == "U202601-0003"]
    assert set(in_montferrand["holder_id"]) == {
        "PREFET",
        "STATE_AGENTS",
        "ACTION_LOGEMENT",
        "COMMUNE_MONTFERRAND_LA_FORET",
        "LANDLORD",
    }
    per_unit = cover[cover["in_flux"]].groupby("unit_id")["share"].sum()
    assert per_unit.to_numpy() == pytest.approx([1.0] * 7)
