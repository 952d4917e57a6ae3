"""A simulated year on instances/tiny: vacancies, arrivals, outcomes and the year to date."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fluxopt.allocate import SolveSettings
from fluxopt.constraints.ruleset import load_constraint_set
from fluxopt.instance import Instance, load_instance
from fluxopt.scenarios.simulate import (
    SimulationResult,
    arriving_applicants,
    draw_outcomes,
    simulate,
    uniform_draws,
    year_units,
)
from fluxopt.scenarios.spec import SimulationSpec

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
SETTINGS = SolveSettings(time_limit=10)
MONTHS = 3


@pytest.fixture(scope="module")
def tiny() -> Instance:
    return load_instance(TINY)


@pytest.fixture(scope="module")
def year(tiny: Instance) -> SimulationResult:
    rules = load_constraint_set("lec-default")
    return simulate(tiny, rules, SimulationSpec(months=MONTHS, seed=3), SETTINGS)


def test_every_unit_is_let_or_comes_back_next_month(year: SimulationResult) -> None:
    months = year.months
    assert list(months["month"]) == ["2026-01", "2026-02", "2026-03"]
    done = months["attributed"] + months["let_outside"] + months["returned"]
    assert (done == months["units"]).all()
    # tiny holds January's 8 vacancies; each later month gets 8 new ones plus the returns
    assert months["units"].iloc[0] == 8
    assert (
        months["units"].iloc[1:].to_numpy() == 8 + months["returned"].iloc[:-1].to_numpy()
    ).all()
    assert year.units_left == months["returned"].iloc[-1]
    assert (months["violations"] == 0).all()


def test_arrivals_join_the_next_batch_and_housed_applicants_leave(year: SimulationResult) -> None:
    months = year.months
    housed_before = months["attributed"].cumsum().shift(fill_value=0)
    arrived_before = months["arrivals"].cumsum().shift(fill_value=0)
    assert (months["applicants"] == 30 + arrived_before - housed_before).all()
    assert (months["arrivals"] == 8).all()
    assert year.housed["applicant_id"].is_unique
    assert year.housed["unit_id"].is_unique


def test_the_year_to_date_carries_every_lease_and_flux_orientation(
    year: SimulationResult,
) -> None:
    ytd = year.ytd
    assert len(ytd.attributions) == len(year.housed) == year.months["attributed"].sum()
    assert set(ytd.attributions["unit_id"]) == set(year.housed["unit_id"])
    assert ytd.orientations["unit_id"].is_unique
    # flux: each holder's oriented units over the year are its orientations in the ledger
    counted = ytd.orientations["holder_id"].value_counts()
    per_holder = year.flux.groupby("holder_id")["oriented"].sum()
    for holder, oriented in per_holder.items():
        assert oriented == counted.get(holder, 0)
    assert year.flux["target"].sum() == pytest.approx(len(ytd.orientations))
    # quota attainment over the year counts every lease
    q1 = year.report.quotas[year.report.quotas["rule"] == "lec-q1-outside-qpv"]
    leases = ytd.attributions
    outside = leases[~leases["qpv"].astype(bool) & leases["lec_applies"].astype(bool)]
    assert q1["denominator"].sum() == len(outside)
    assert q1["numerator"].sum() == (outside["q1"] | outside["renewal_relocation"]).sum()


def test_without_refusals_every_first_ranked_accepts(tiny: Instance) -> None:
    rules = load_constraint_set("lec-default")
    result = simulate(tiny, rules, SimulationSpec(months=1, refusal_rate=0.0), SETTINGS)
    assert (result.housed["rank"] == 1).all()
    assert len(result.housed) > 0


def test_the_same_seed_gives_the_same_year(tiny: Instance, year: SimulationResult) -> None:
    rules = load_constraint_set("lec-default")
    again = simulate(tiny, rules, SimulationSpec(months=MONTHS, seed=3), SETTINGS)
    pd.testing.assert_frame_equal(
        again.months.drop(columns=["seconds"]), year.months.drop(columns=["seconds"])
    )
    pd.testing.assert_frame_equal(again.housed, year.housed)


def test_outcomes_follow_the_ranks() -> None:
    orientation = pd.DataFrame(
        {
            "unit_id": ["U1", "U2", "U3", "U4"],
            "channel": ["flux", "flux", "excluded:defense", "flux"],
            "holder_mode": ["delegated", "delegated", "delegated", "direct"],
        }
    )
    shortlist = pd.DataFrame(
        {
            "unit_id": ["U1", "U1", "U1", "U2"],
            "rank": [1, 2, 3, 1],
            "applicant_id": ["A", "B", "C", "D"],
        }
    )
    spec = SimulationSpec(refusal_rate=0.5, seed=11)
    draws = uniform_draws(shortlist["unit_id"], shortlist["rank"], spec.seed)
    outcome = draw_outcomes(orientation, shortlist, spec)
    accepts = draws >= 0.5
    assert sorted(outcome.let_outside) == ["U3", "U4"]
    expected_u1 = next((a for a, ok in zip("ABC", accepts[:3], strict=True) if ok), None)
    got = dict(zip(outcome.accepted["unit_id"], outcome.accepted["applicant_id"], strict=True))
    assert got.get("U1") == expected_u1
    assert got.get("U2") == ("D" if accepts[3] else None)
    stop = list("ABC").index(expected_u1) if expected_u1 else 3
    assert sorted(outcome.refused) == sorted(list("ABC")[:stop] + ([] if accepts[3] else ["D"]))


def test_draws_depend_on_seed_unit_and_rank_only() -> None:
    units = pd.Series(["U1", "U2", "U1"])
    ranks = pd.Series([1, 1, 2])
    first = uniform_draws(units, ranks, 5)
    assert first[0] == uniform_draws(pd.Series(["U1"]), pd.Series([1]), 5)[0]
    assert not np.allclose(first, uniform_draws(units, ranks, 6))
    assert ((first >= 0) & (first < 1)).all()
    many = uniform_draws(pd.Series([f"U{i}" for i in range(4000)]), pd.Series([1] * 4000), 0)
    assert abs(many.mean() - 0.5) < 0.02


def test_resampled_vacancies_and_arrivals_fall_in_their_month(tiny: Instance) -> None:
    rng = np.random.default_rng(0)
    months = ["2026-01", "2026-02", "2026-03"]
    units = year_units(tiny, months, rng)
    month = units["available_on"].dt.strftime("%Y-%m")
    assert month.value_counts().to_dict() == dict.fromkeys(months, 8)
    assert units["unit_id"].is_unique
    base = set(tiny.tables["units"]["unit_id"])
    assert set(units.loc[month == "2026-01", "unit_id"]) == base
    arrivals = arriving_applicants(tiny, months, 5, rng)
    assert len(arrivals) == 15
    assert arrivals["applicant_id"].is_unique
    assert not set(arrivals["applicant_id"]) & set(tiny.tables["applicants"]["applicant_id"])
    assert (arrivals["filed_on"].dt.strftime("%Y-%m").value_counts() == 5).all()
    assert (arrivals["refusals"] == 0).all()
