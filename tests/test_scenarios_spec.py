"""Scenario and sweep files, and how a scenario's overrides land on the rules and tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from fluxopt.constraints.ruleset import load_constraint_set
from fluxopt.instance import load_instance
from fluxopt.scenarios.apply import apply_instance, apply_rules, measuring_rules
from fluxopt.scenarios.spec import Scenario, load_sweep, parse_sweep
from fluxopt.schema.problems import FluxoptError, InvalidInputError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "models" / "scenarios"
TINY = ROOT / "instances" / "tiny"


@pytest.fixture(scope="module")
def lec():
    return load_constraint_set("lec-default")


def test_listed_scenarios_start_from_the_defaults() -> None:
    _, scenarios = parse_sweep(
        {
            "defaults": {"time_limit": 7, "quotas": {"lec-q1-outside-qpv": {"hard": True}}},
            "scenarios": [
                {"name": "a"},
                {"name": "b", "time_limit": 3, "quotas": {"lec-q1-outside-qpv": 0.3}},
            ],
        }
    )
    first, second = scenarios
    assert first.time_limit == 7
    assert first.quotas["lec-q1-outside-qpv"].hard is True
    assert second.time_limit == 3
    # a bare number is the level; the default's other keys are kept
    assert second.quotas["lec-q1-outside-qpv"].level == 0.3
    assert second.quotas["lec-q1-outside-qpv"].hard is True


def test_a_product_gives_one_scenario_per_combination() -> None:
    _, scenarios = parse_sweep(
        {
            "scenarios": [{"name": "as-is"}],
            "product": {
                "name": "q1={quotas.lec-q1-outside-qpv} {method}",
                "axes": {
                    "quotas.lec-q1-outside-qpv": [0.15, 0.25, 0.35],
                    "method": ["stock_share", "negotiated"],
                },
            },
        }
    )
    assert len(scenarios) == 1 + 3 * 2
    assert scenarios[1].name == "q1=0.15 stock_share"
    levels = {(s.quotas["lec-q1-outside-qpv"].level, s.method) for s in scenarios[1:]}
    assert levels == {(q, m) for q in (0.15, 0.25, 0.35) for m in ("stock_share", "negotiated")}


def test_generated_names_default_to_the_axis_values() -> None:
    _, scenarios = parse_sweep({"product": {"axes": {"simulate.refusal_rate": [0.1, 0.2]}}})
    assert [s.name for s in scenarios] == ["refusal_rate=0.1", "refusal_rate=0.2"]
    assert all(s.kind == "simulation" for s in scenarios)
    assert scenarios[1].simulate is not None
    assert scenarios[1].simulate.refusal_rate == 0.2


def test_every_problem_of_a_sweep_file_is_reported_at_once() -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse_sweep(
            {
                "scenarios": [
                    {"name": "a", "methd": "stock_share"},
                    {"name": "b", "method": "by_magic"},
                    {"name": "c", "quotas": {"lec-q1-outside-qpv": 1.5}},
                    {"name": "c"},
                ]
            },
            "bad.yaml",
        )
    text = str(caught.value)
    assert len(caught.value.errors) == 4
    assert "scenarios[0].methd" in text
    assert "scenarios[1].method" in text
    assert "scenarios[2].quotas.lec-q1-outside-qpv.level" in text
    assert "'c' is used twice" in text


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "declares no scenario"),
        ({"product": {"axes": {"colour": [1, 2]}}}, "not a scenario field"),
        ({"product": {"axes": {"method": []}}}, "has no values"),
        ({"scenarios": [{"name": "x"}], "sceanrios": []}, "Extra inputs are not permitted"),
        ({"scenarios": [{"name": "x", "month": "2026-02", "simulate": {}}]}, "from January"),
    ],
)
def test_malformed_sweeps_are_refused(raw: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        parse_sweep(raw)


def test_the_example_sweeps_are_valid() -> None:
    files = sorted(EXAMPLES.glob("*.yaml"))
    assert len(files) >= 3
    for path in files:
        _, scenarios = load_sweep(path)
        assert scenarios
    _, methods = load_sweep(EXAMPLES / "conversion-methods-year.yaml")
    assert {s.method for s in methods} == {
        "stock_share",
        "turnover_weighted",
        "unique_rights",
        "negotiated",
    }
    assert all(s.simulate is not None and s.simulate.months == 12 for s in methods)
    _, levels = load_sweep(EXAMPLES / "q1-quota-sweep.yaml")
    assert [s.quotas["lec-q1-outside-qpv"].level for s in levels] == [
        0.15,
        0.20,
        0.25,
        0.30,
        0.35,
    ]


def test_changes_list_only_the_overrides() -> None:
    scenario = Scenario(name="x", method="negotiated", quotas={"q": {"level": 0.3}})
    assert scenario.changes() == {"method": "negotiated", "quotas.q.level": 0.3}
    assert Scenario(name="y").changes() == {}
    assert scenario.spec() == Scenario(name="other", method="negotiated", quotas={"q": 0.3}).spec()


def test_quota_levels_replace_the_rules_own_direction(lec) -> None:
    scenario = Scenario(
        name="x",
        quotas={
            "lec-q1-outside-qpv": {"level": 0.4, "hard": True},
            "mixity-fragile-q1-cap": {"level": 0.3},
            "lec-non-q1-in-qpv": {"enabled": False},
        },
    )
    rules = apply_rules(lec, scenario)
    by_name = {q.name: q for q in rules.families.quotas}
    assert by_name["lec-q1-outside-qpv"].at_least == 0.4
    assert by_name["lec-q1-outside-qpv"].hard
    assert by_name["mixity-fragile-q1-cap"].at_most == 0.3
    assert by_name["mixity-fragile-q1-cap"].at_least is None
    assert not by_name["lec-non-q1-in-qpv"].enabled
    assert (
        by_name["lec-priority-per-holder"]
        == {q.name: q for q in lec.families.quotas}["lec-priority-per-holder"]
    )


def test_families_weights_method_and_tolerances(lec) -> None:
    scenario = Scenario(
        name="x",
        method="unique_rights",
        families={"channels": False, "segment_mix": False, "quotas": False},
        channels={"state-priority": True},
        quotas={"lec-q1-outside-qpv": {"enabled": True}},
        weights={"quota": 500, "value": 2},
        segment_tolerance=2.5,
        shortlist_size=2,
    )
    rules = apply_rules(lec, scenario)
    assert rules.families.flux.method == "unique_rights"
    assert not rules.families.flux.segment_mix
    assert rules.families.flux.enabled
    assert rules.families.flux.segment_tolerance == 2.5
    assert rules.families.shortlist.size == 2
    # the per-rule switch wins over the family's
    assert [c.name for c in rules.active_channels] == ["state-priority"]
    assert [q.name for q in rules.active_quotas] == ["lec-q1-outside-qpv"]
    assert rules.weights.quota == 500
    assert rules.weights.value == 2
    assert rules.weights.unfilled == lec.weights.unfilled


def test_an_unknown_rule_name_names_the_known_ones(lec) -> None:
    with pytest.raises(FluxoptError, match=r"unknown quota rule.*'lec-q1'.*lec-q1-outside-qpv"):
        apply_rules(lec, Scenario(name="x", quotas={"lec-q1": 0.3}))
    with pytest.raises(FluxoptError, match="unknown channel rule"):
        apply_rules(lec, Scenario(name="x", channels={"nobody": False}))


def test_an_override_the_constraint_set_refuses_is_an_error(lec) -> None:
    with pytest.raises(FluxoptError, match=r"invalid constraint set.*unfilled"):
        apply_rules(lec, Scenario(name="x", weights={"unfilled": 0}))


def test_measuring_rules_switch_every_quota_on_and_soft(lec) -> None:
    off = apply_rules(
        lec, Scenario(name="x", quotas={"lec-q1-outside-qpv": {"enabled": False, "hard": True}})
    )
    measured = measuring_rules(off)
    rule = {q.name: q for q in measured.families.quotas}["lec-q1-outside-qpv"]
    assert rule.enabled
    assert not rule.hard
    assert len(measured.active_quotas) == len(lec.families.quotas)


def test_tolerance_applies_to_every_convention() -> None:
    instance = load_instance(TINY)
    changed = apply_instance(instance, Scenario(name="x", tolerance=3))
    assert (changed.conventions["tolerance"] == 3.0).all()
    assert apply_instance(instance, Scenario(name="y")) is instance
