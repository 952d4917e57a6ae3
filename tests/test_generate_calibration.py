"""Calibration of the synthetic instances on the figures of domain.md (medium and demo).

Each test states the target and its tolerance. Shares that the generator draws as exact
counts get tight tolerances; shares that come out of independent draws get looser ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fluxopt.constraints.ruleset import EligibilityRule
from fluxopt.eligibility import eligible_pairs
from fluxopt.generate import PRESETS, generate
from fluxopt.generate.ceilings import ceilings_table, household_ceiling
from fluxopt.generate.holders import holder_specs
from fluxopt.generate.sampling import stream
from fluxopt.generate.territory import make_territory
from fluxopt.instance import Instance

Q1_2021_MIN, Q1_2021_MAX, Q1_2021_MEAN = 5_964.0, 12_087.0, 8_436.0


@pytest.fixture(scope="module")
def medium() -> Instance:
    return generate("medium", 1)


@pytest.fixture(scope="module")
def demo() -> Instance:
    return generate("demo", 1)


@pytest.fixture(scope="module", params=["medium", "demo"])
def both(request: pytest.FixtureRequest, medium: Instance, demo: Instance) -> Instance:
    return medium if request.param == "medium" else demo


def _share(mask: pd.Series) -> float:
    return float(mask.astype(float).mean())


# --- units ------------------------------------------------------------------------------


def test_room_mix(both: Instance) -> None:
    shares = both.units["rooms"].clip(upper=5).value_counts(normalize=True)
    for rooms, target in {1: 7.4, 2: 20.2, 3: 37.0, 4: 27.8, 5: 7.5}.items():
        assert shares.get(rooms, 0.0) * 100 == pytest.approx(target, abs=1.5), rooms
    assert _share(both.units["rooms"] == 6) <= 0.02


def test_qpv_share(medium: Instance, demo: Instance) -> None:
    assert _share(medium.units["qpv"]) == pytest.approx(0.31, abs=0.01)
    assert _share(demo.units["qpv"]) == pytest.approx(0.40, abs=0.01)


def test_financing_mix(both: Instance) -> None:
    shares = both.units["financing"].value_counts(normalize=True)
    for financing, target in {"PLAI": 0.20, "PLUS": 0.70, "PLS": 0.08, "PLI": 0.02}.items():
        assert shares[financing] == pytest.approx(target, abs=0.01), financing


def test_rents(both: Instance) -> None:
    units = both.units
    rate = units["rent"] / units["surface_m2"]
    assert rate.mean() == pytest.approx(6.5, abs=0.15)
    assert rate.std() > 0.5
    by_financing = rate.groupby(units["financing"]).mean()
    assert by_financing["PLAI"] < by_financing["PLUS"] < by_financing["PLS"]
    assert rate[units["qpv"]].mean() < rate[~units["qpv"]].mean()
    charges = units["charges"] / units["surface_m2"]
    assert charges.between(1.15, 1.85).all()


def test_surfaces_by_rooms(both: Instance) -> None:
    means = both.units.groupby("rooms")["surface_m2"].mean()
    for rooms, target in {1: 30, 2: 47, 3: 65, 4: 80, 5: 95}.items():
        assert means[rooms] == pytest.approx(target, rel=0.10), rooms


def test_construction_years_and_new_builds(both: Instance) -> None:
    units, year = both.units, both.config.year
    assert units["built_year"].between(1950, year).all()
    assert units["built_year"].std() > 10
    assert units["construction_period"].nunique() >= 4
    assert 0.03 <= _share(units["new_build"]) <= 0.05
    assert (units.loc[units["new_build"], "built_year"] == year).all()


def test_floors_elevators_accessibility(both: Instance) -> None:
    units = both.units
    assert _share(units["accessible"]) == pytest.approx(0.10, abs=0.01)
    reachable = (units["floor"] == 0) | units["elevator"]
    assert reachable[units["accessible"]].all()
    assert units["floor"].between(0, 12).all()
    assert (units.loc[units["floor"] >= 5, "elevator"]).all()


def test_availability_spread_over_months(demo: Instance) -> None:
    months = demo.units["month"].value_counts()
    assert sorted(months.index) == ["2026-01", "2026-02", "2026-03"]
    assert (months == 80).all()
    assert demo.units["available_on"].dt.day.nunique() > 20


def test_flux_status(both: Instance) -> None:
    status = both.units["flux_status"]
    shares = status.value_counts(normalize=True)
    assert 0.85 <= shares["flux"] <= 0.90
    assert shares["excluded:mutation"] == pytest.approx(0.06, abs=0.01)
    assert shares["excluded:renewal"] == pytest.approx(0.03, abs=0.01)
    assert 0 < shares["excluded:defense"] <= 0.01
    assert 0 < shares["stock:DEFENSE"] <= 0.02
    assert both.units.loc[status == "excluded:renewal", "qpv"].all()


# --- residences -------------------------------------------------------------------------


def test_stock_gives_nine_percent_turnover(both: Instance) -> None:
    stock = both.residences["stock_units"].sum()
    preset = PRESETS[both.name]
    yearly_vacancies = 12 * preset.units_per_month
    assert yearly_vacancies / stock == pytest.approx(0.09, abs=0.005)


def test_demo_stock_like_a_departmental_landlord(demo: Instance) -> None:
    assert demo.residences["stock_units"].sum() == pytest.approx(10_700, rel=0.03)


def test_fragile_residences_and_caps(both: Instance) -> None:
    residences = both.residences
    fragile = residences["fragile"]
    assert 0.10 <= _share(fragile) <= 0.15
    assert _share(residences.loc[fragile, "qpv"]) >= 0.6
    capped = residences["cap_q1_share"].notna()
    assert capped.sum() >= 3
    assert fragile[capped].all()
    assert residences.loc[capped, "cap_q1_share"].between(0.3, 0.4).all()


def test_units_belong_to_residences(both: Instance) -> None:
    assert set(both.units["residence_id"]) <= set(both.residences["residence_id"])
    residence = both.residences.set_index("residence_id")
    for column in ("commune", "epci", "qpv"):
        expected = both.units["residence_id"].map(residence[column])
        assert (both.tables["units"][column] == expected).all(), column


# --- territory and thresholds -----------------------------------------------------------


def test_thresholds_in_the_real_range(medium: Instance, demo: Instance) -> None:
    for instance in (medium, demo, generate("medium", 2)):
        thresholds = instance.thresholds["q1_threshold"]
        assert thresholds.between(Q1_2021_MIN, Q1_2021_MAX).all(), instance.name
        assert thresholds.mean() == pytest.approx(Q1_2021_MEAN, rel=0.15), instance.name


def test_a_quarter_of_each_epci_is_first_quartile(both: Instance) -> None:
    q1 = both.applicants.groupby("home_epci")["q1"].mean()
    assert len(q1) == len(both.thresholds)
    for epci, share in q1.items():
        assert share == pytest.approx(0.25, abs=0.01), epci


def test_lec_applies_where_there_is_a_qpv(both: Instance) -> None:
    with_qpv = set(both.residences.loc[both.residences["qpv"], "epci"])
    lec = both.thresholds.set_index("epci")["lec_applies"]
    for epci, applies in lec.items():
        assert applies == (epci in with_qpv)
    assert not lec.all()  # one EPCI without QPV in each preset


def test_demo_is_doubs_like(demo: Instance) -> None:
    config = demo.config
    assert config.territory.department == "25"
    assert config.territory.name == "Doubs"
    assert config.months == ("2026-01", "2026-02", "2026-03")
    assert config.year == 2026
    names = set(demo.thresholds["epci_name"])
    assert "Pays de Montbéliard Agglomération" in names
    assert len(names) == 3
    assert demo.thresholds["epci"].str.fullmatch(r"99\d{7}").all()
    assert 15 <= demo.residences["commune"].nunique() <= 25
    applicants = demo.applicants
    assert len(applicants) == 9_864
    assert _share(applicants["is_transfer"]) == pytest.approx(0.47, abs=0.002)
    assert _share(applicants["wait_months"] < 12) == pytest.approx(0.70, abs=0.002)
    assert applicants["wait_months"].max() > 36


def test_medium_sizes(medium: Instance) -> None:
    assert len(medium.units) == 300
    assert len(medium.applicants) == 10_000
    assert len(medium.thresholds) == 4
    assert medium.config.months == ("2026-01",)
    assert _share(medium.applicants["is_transfer"]) == pytest.approx(0.30, abs=0.002)


# --- applicants -------------------------------------------------------------------------


def test_household_sizes_and_composition(both: Instance) -> None:
    applicants = both.applicants
    shares = applicants["household_size"].clip(upper=5).value_counts(normalize=True)
    for size, target in {1: 0.40, 2: 0.25, 3: 0.15, 4: 0.11, 5: 0.09}.items():
        assert shares[size] == pytest.approx(target, abs=0.005), size
    assert (applicants["adults"] + applicants["children"] == applicants["household_size"]).all()
    single = applicants["single_parent"]
    assert (applicants.loc[single, "household_size"] >= 2).all()
    assert 0.15 <= _share(single) <= 0.30


def test_incomes_against_ceilings(both: Instance) -> None:
    applicants = both.applicants
    category = applicants["category"].to_numpy()
    size = applicants["household_size"].to_numpy()
    income = applicants["annual_income"].to_numpy()
    plai = household_ceiling(both.ceilings, "PLAI", category, size)
    plus = household_ceiling(both.ceilings, "PLUS", category, size)
    assert 0.70 <= (income <= plai).mean() <= 0.75
    assert 0.02 <= (income > plus).mean() <= 0.07


def test_ceilings_are_the_2025_values() -> None:
    table = ceilings_table().set_index(["financing", "category"])["ceiling"]
    assert [table["PLUS", c] for c in (1, 2, 3, 4)] == [23_201, 30_984, 37_259, 44_982]
    assert table["PLAI", 1] == 12_759
    for category in range(1, 7):
        assert table["PLS", category] == pytest.approx(1.30 * table["PLUS", category], abs=1)
        assert table["PLI", category] == pytest.approx(1.40 * table["PLUS", category], abs=1)
        assert table["PLAI", category] < table["PLUS", category]
    assert (np.diff([table["PLUS", c] for c in range(1, 7)]) > 0).all()


def test_priority_flags(both: Instance) -> None:
    applicants = both.applicants
    assert 0.20 <= _share(applicants["priority"]) <= 0.25
    assert 0.02 <= _share(applicants["dalo"]) <= 0.04
    assert applicants.loc[applicants["dalo"], "priority"].all()
    assert 0.01 <= _share(applicants["renewal_relocation"]) <= 0.02
    assert applicants.loc[applicants["renewal_relocation"], "is_transfer"].all()
    for criterion in ("homeless", "threatened_eviction", "domestic_violence"):
        flagged = applicants[criterion]
        rate_with = _share(applicants.loc[flagged, "priority"])
        rate_without = _share(applicants.loc[~flagged, "priority"])
        assert rate_with > 2 * rate_without, criterion


def test_employment_flags(both: Instance) -> None:
    applicants = both.applicants
    employer = applicants["employer_action_logement"]
    agent = applicants["state_agent"]
    assert 0.12 <= _share(employer) <= 0.22  # 25-35 % of the ~55 % who work
    assert 0.03 <= _share(agent) <= 0.05
    assert not (employer & agent).any()


def test_access_needs_follow_disability(both: Instance) -> None:
    applicants = both.applicants
    needs = applicants["needs_access"]
    disabled = applicants["disability"]
    assert _share(needs) == pytest.approx(0.05, abs=0.003)
    assert _share(needs[disabled]) > 5 * _share(needs[~disabled])
    assert 0.05 <= _share(disabled) <= 0.12


def test_criteria_rates(both: Instance) -> None:
    rates = {c: _share(both.applicants[c]) for c in ("homeless", "hosted", "indecent_housing")}
    assert 0.02 <= rates["homeless"] <= 0.07
    assert 0.15 <= rates["hosted"] <= 0.35
    assert 0.01 <= rates["indecent_housing"] <= 0.06


def test_current_dwelling(both: Instance) -> None:
    applicants = both.applicants
    unhoused = applicants["homeless"] | applicants["hosted"]
    assert (applicants.loc[unhoused, "rooms_now"] == 0).all()
    assert (applicants.loc[unhoused, "housing_cost_now"] == 0).all()
    transfers = applicants["is_transfer"]
    assert (applicants.loc[transfers, "rooms_now"] >= 1).all()
    assert (applicants.loc[transfers, "housing_cost_now"] > 0).all()
    assert _share(applicants["refusals"] == 0) >= 0.9


def test_wished_communes(both: Instance) -> None:
    applicants = both.applicants
    wishes = applicants["wished_communes"].str.split(";")
    count = wishes.map(len)
    assert count.between(1, 4).all()
    assert (wishes.map(lambda items: len(set(items))) == count).all()
    here = set(both.residences["commune"])
    outside = wishes.map(lambda items: any(c not in here for c in items))
    assert 0.03 <= _share(outside) <= 0.05
    first = applicants["first_wish"].value_counts(normalize=True)
    top = first.head(3).sum()
    assert top >= 0.35  # concentrated on the main towns
    assert first.iloc[0] > 3 * first.median()


def test_wished_rooms_follow_household_size(both: Instance) -> None:
    applicants = both.applicants
    wished = applicants["wished_rooms"]
    assert _share(wished.isna()) == pytest.approx(0.10, abs=0.005)
    allowed = {1: {1, 2}, 2: {2, 3}, 3: {3, 4}, 4: {3, 4}, 5: {4, 5}, 6: {5, 6}}
    stated = applicants[wished.notna()]
    size = stated["household_size"].clip(upper=6)
    ok = [int(r) in allowed[int(s)] for s, r in zip(size, stated["wished_rooms"], strict=True)]
    assert all(ok)


def test_max_rent(both: Instance) -> None:
    applicants = both.applicants
    stated = applicants["max_rent"].notna()
    assert _share(stated) == pytest.approx(0.5, abs=0.005)
    ratio = applicants.loc[stated, "max_rent"] / (applicants.loc[stated, "annual_income"] / 12)
    assert 0.25 <= ratio.median() <= 0.35


def test_filing_dates(medium: Instance) -> None:
    applicants = medium.applicants
    assert applicants["expires_on"].isna().all()
    assert (applicants["filed_on"] <= pd.Timestamp("2026-01-01")).all()
    assert _share(applicants["wait_months"] < 12) == pytest.approx(0.60, abs=0.002)
    transfers = applicants["is_transfer"]
    waits = applicants["wait_months"]
    assert waits[transfers].mean() > waits[~transfers].mean()


def test_candidate_graph_is_sparse_but_fed(medium: Instance) -> None:
    """Eligible applicants per unit: tens to a few hundred (the engine's default rules)."""
    units = medium.units
    per_unit = np.zeros(len(units), dtype=int)
    rule = EligibilityRule()
    for chunk in eligible_pairs(units, medium.applicants, medium.ceilings, medium.thresholds, rule):
        per_unit += np.bincount(chunk.unit, minlength=len(units))
    assert (per_unit > 0).mean() >= 0.98
    assert 20 <= np.median(per_unit) <= 500
    assert np.percentile(per_unit, 10) >= 10
    assert per_unit.sum() < 0.05 * len(units) * len(medium.applicants)


# --- holders and conventions ------------------------------------------------------------


def test_holder_shares(both: Instance) -> None:
    holders = both.holders.set_index("holder_id")
    conventions = both.conventions.merge(both.holders, on="holder_id")
    share = conventions.groupby("kind")["share"].max()
    assert share["state"] <= 0.25
    assert share["state_agents"] == pytest.approx(0.05)
    assert 0.20 <= share["action_logement"] <= 0.30
    assert 0.03 <= share["department"] <= 0.05
    assert 0.10 <= share["commune"] <= 0.20
    assert 0.05 <= share["epci"] <= 0.10
    assert holders.loc["LANDLORD", "kind"] == "landlord"
    assert (holders["mode"] == "direct").sum() in (1, 2, 3)
    assert (holders["mode"] == "delegated").sum() > len(holders) / 2
    kinds = conventions.set_index("holder_id")["perimeter_kind"]
    assert (conventions.loc[conventions["kind"] == "commune", "perimeter_kind"] == "commune").all()
    assert (
        kinds[conventions["kind"].isin(["state", "action_logement"]).to_numpy()] == "department"
    ).all()


def test_convention_details(both: Instance) -> None:
    conventions = both.conventions
    residences = both.residences
    assert (conventions["method"] == "negotiated").mean() > 0.5
    assert conventions["tolerance"].isin([1.0, 2.0]).all()
    assert (conventions["deadline_days"] == 30).all()
    assert (conventions["unique_rights"] > 0).sum() >= 2
    stock = {
        "department": residences["stock_units"].sum(),
        **residences.groupby("epci")["stock_units"].sum().to_dict(),
        **residences.groupby("commune")["stock_units"].sum().to_dict(),
    }
    perimeter_stock = [
        stock["department" if kind == "department" else pid]
        for kind, pid in zip(
            conventions["perimeter_kind"], conventions["perimeter_id"], strict=True
        )
    ]
    ratio = conventions["reserved_units"] / (conventions["share"] * np.array(perimeter_stock))
    assert ratio.between(0.4, 2.5).all()
    assert ratio.std() > 0.05  # the conversion methods disagree


def test_large_has_twelve_holders() -> None:
    preset = PRESETS["large"]
    territory = make_territory(preset, 1)
    specs = holder_specs(preset, territory, stream(1, "holders"))
    assert len(specs) == 12
    assert {s.kind for s in specs} >= {"state", "state_agents", "action_logement", "landlord"}


# --- history ----------------------------------------------------------------------------


def test_history_volume_and_years(both: Instance) -> None:
    history = both.history
    years = history["date"].dt.year
    assert set(years) == {2024, 2025}
    vacancies = history[history["event"] == "vacancy"]
    stock = both.residences["stock_units"].sum()
    assert len(vacancies) / 2 / stock == pytest.approx(0.09, abs=0.01)
    attributions = history[history["event"] == "attribution"]
    assert 0.85 * len(vacancies) <= len(attributions) <= len(vacancies)
    contingents = set(history["contingent"])
    assert contingents <= set(both.conventions["holder_id"]) | {"landlord"}
    assert "landlord" in contingents


def test_history_turnover_differs_by_contingent(both: Instance) -> None:
    history = both.history
    vacancies = history[history["event"] == "vacancy"]
    reserved = both.conventions.set_index("holder_id")["reserved_units"]
    turnover = vacancies.groupby("contingent").size() / 2
    state = turnover["PREFET"] / reserved["PREFET"]
    action_logement = turnover["ACTION_LOGEMENT"] / reserved["ACTION_LOGEMENT"]
    assert state > action_logement
    rooms = vacancies.groupby("contingent")["rooms"].mean()
    assert rooms["PREFET"] < rooms["landlord"]


def test_history_attributions(medium: Instance, demo: Instance) -> None:
    for instance in (medium, demo):
        history = instance.history
        attributions = history[history["event"] == "attribution"]
        outside = attributions[~attributions["qpv"]]
        assert 0.13 <= _share(outside["q1"]) <= 0.21
        assert attributions[["q1", "priority", "wait_months"]].notna().all().all()
        vacancies = history[history["event"] == "vacancy"]
        assert vacancies[["q1", "priority", "wait_months"]].isna().all().all()
        state = attributions["contingent"] == "PREFET"
        assert _share(attributions.loc[state, "priority"]) > 0.6
    wait = demo.history.loc[demo.history["event"] == "attribution", "wait_months"]
    assert wait.mean() == pytest.approx(6.2, abs=0.4)
