"""Channels: a holder's unit goes to an applicant its channel admits, or to nobody.

Values (wished typology, first wish): ``0.6 · score / max score + 0.4``.
"""

from __future__ import annotations

import pytest

from core_instances import (
    AL_EMPLOYEES,
    LANDLORD,
    MONTH,
    STATE_AGENTS,
    STATE_PRIORITY,
    Row,
    applicant,
    build,
    column_names,
    convention,
    holder,
    micro_rules,
    row,
    scores,
    solve,
    unit,
)
from fluxopt.model.build import build_model
from fluxopt.problem import build_problem

INF = float("inf")
STATE = [holder("ST", "state")]
STATE_CONVENTION = [convention("C_ST", "ST", 0.5)]


def test_built_rows_of_a_minimal_instance() -> None:
    # U1 may go to the State (priority households), the State-agents contingent (State
    # agents), Action Logement in direct mode (nobody: it proposes its own) or the landlord.
    # One row per set of restricted holders: the applicants none of them admits, plus the
    # orientations to those holders and to the direct one, at most 1. U2 is kept in stock
    # for the State: its inadmissible pairs are not in the graph at all.
    instance = build(
        [unit("U1"), unit("U2", status="stock:ST")],
        [applicant("A1"), applicant("A2", priority=True), applicant("A3", state_agent=True)],
        [
            holder("ST", "state"),
            holder("SA", "state_agents"),
            holder("AL", "action_logement", "direct"),
        ],
        [
            convention("C_ST", "ST", 0.25),
            convention("C_SA", "SA", 0.05),
            convention("C_AL", "AL", 0.2),
        ],
    )
    rules = micro_rules(channels=(STATE_PRIORITY, STATE_AGENTS, AL_EMPLOYEES))
    model, _ = build_model(build_problem(instance, rules, month=MONTH))
    labels = model.rows["channel"].labels
    assert labels[["unit_id", "holders", "channel"]].to_numpy().tolist() == [
        ["U1", "ST", "state-priority"],
        ["U1", "SA", "state-agents"],
        ["U1", "ST+SA", "state-priority+state-agents"],
    ]
    assert row(model, "channel", unit_id="U1", holders="ST") == Row(
        {"first[U1,A1]": 1, "first[U1,A3]": 1, "orient[U1,ST]": 1, "orient[U1,AL]": 1}, -INF, 1
    )
    assert row(model, "channel", unit_id="U1", holders="SA") == Row(
        {"first[U1,A1]": 1, "first[U1,A2]": 1, "orient[U1,SA]": 1, "orient[U1,AL]": 1}, -INF, 1
    )
    assert row(model, "channel", unit_id="U1", holders="ST+SA") == Row(
        {"first[U1,A1]": 1, "orient[U1,ST]": 1, "orient[U1,SA]": 1, "orient[U1,AL]": 1}, -INF, 1
    )
    # The direct holder also takes the unit's single first rank.
    assert row(model, "shortlist:unit", unit_id="U1") == Row(
        {"first[U1,A1]": 1, "first[U1,A2]": 1, "first[U1,A3]": 1, "orient[U1,AL]": 1}, -INF, 1
    )
    names = column_names(model)
    assert [n for n in names if n.startswith("first[U2,")] == ["first[U2,A2]"]


def test_the_state_channel_binds() -> None:
    # U1 is kept in stock for the State. A1 scores best but is not a priority household.
    instance = build(
        [unit("U1", status="stock:ST")],
        [applicant("A1"), applicant("A2", priority=True)],
        STATE,
        STATE_CONVENTION,
    )
    marks = scores(A1=10, A2=5)
    solved = solve(instance, micro_rules(channels=(STATE_PRIORITY,)), scores=marks)
    assert solved.lists == {"U1": ["A2"]}
    assert solved.objective == pytest.approx(0.3)
    free = solve(instance, micro_rules(), scores=marks)
    assert free.lists == {"U1": ["A1", "A2"]}
    assert free.objective == pytest.approx(0.0, abs=1e-6)


def test_the_state_channel_does_not_bind_when_the_best_is_a_priority_household() -> None:
    instance = build(
        [unit("U1", status="stock:ST")],
        [applicant("A1", dalo=True), applicant("A2")],
        STATE,
        STATE_CONVENTION,
    )
    marks = scores(A1=10, A2=5)
    solved = solve(instance, micro_rules(channels=(STATE_PRIORITY,)), scores=marks)
    free = solve(instance, micro_rules(), scores=marks)
    assert solved.first == free.first == {"U1": "A1"}
    assert solved.objective == pytest.approx(free.objective)
    assert solved.lists == {"U1": ["A1"]}


def test_a_state_unit_without_priority_candidate_goes_to_nobody() -> None:
    instance = build(
        [unit("U1", status="stock:ST")], [applicant("A1"), applicant("A2")], STATE, STATE_CONVENTION
    )
    solved = solve(instance, micro_rules(channels=(STATE_PRIORITY,)))
    assert solved.holder_of == {"U1": "ST"}
    assert solved.lists == {}
    assert solved.objective == pytest.approx(0.0, abs=1e-6)  # no candidate: not fillable


def test_hand_computed_optimum_with_the_flux_forcing_a_state_unit() -> None:
    # U1 and U2 (commune A, same segment); the State's share 0.5 with tolerance 0 gives it
    # exactly one of the two (a flux slack would cost 200). A1: score 10, not priority
    # (value 1); A2: score 5, priority (0.7); A3: score 0 (0.4).
    # Optimum: one unit to the State with A2 first (loss 0.3), the other to the landlord
    # with A1 first (loss 0): 0.3.
    instance = build(
        [unit("U1"), unit("U2")],
        [applicant("A1"), applicant("A2", priority=True), applicant("A3")],
        STATE,
        [convention("C_ST", "ST", 0.5, tolerance=0.0)],
    )
    solved = solve(
        instance,
        micro_rules(flux=True, channels=(STATE_PRIORITY,)),
        scores=scores(A1=10, A2=5, A3=0),
    )
    assert solved.objective == pytest.approx(0.3)
    state_unit = next(u for u, h in solved.holder_of.items() if h == "ST")
    landlord_unit = next(u for u, h in solved.holder_of.items() if h == LANDLORD)
    assert solved.lists[state_unit] == ["A2"]
    assert solved.lists[landlord_unit] == ["A1", "A3"]


def test_each_channel_and_exclusion_gets_its_own_public() -> None:
    # Every unit is in commune A and outside the flux: kept in stock for a holder, or
    # withdrawn (internal transfers, urban-renewal relocations, defence). Scores (max 100)
    # put the applicants nobody restricts first; each unit's first is the best of its public.
    holders = [
        holder("ST", "state"),
        holder("ALD", "action_logement"),
        holder("AL", "action_logement", "direct"),
        holder("CA", "commune"),
    ]
    units = [
        unit("U_ST", status="stock:ST"),
        unit("U_ALD", status="stock:ALD"),
        unit("U_AL", status="stock:AL"),
        unit("U_CA", status="stock:CA"),
        unit("U_MUT", status="excluded:mutation"),
        unit("U_REN", status="excluded:renewal"),
        unit("U_DEF", status="excluded:defense"),
    ]
    people: dict[str, tuple[dict[str, bool], float]] = {
        "N1": ({}, 100),
        "N2": ({}, 90),
        "N3": ({}, 80),
        "P1": ({"priority": True}, 50),
        "P2": ({"priority": True}, 45),
        "E1": ({"employer_action_logement": True}, 40),
        "E2": ({"employer_action_logement": True}, 35),
        "T1": ({"is_transfer": True}, 30),
        "T2": ({"is_transfer": True}, 25),
        "R1": ({"renewal_relocation": True}, 20),
        "R2": ({"renewal_relocation": True}, 15),
    }
    instance = build(
        units,
        [{**applicant(a), **flags} for a, (flags, _) in people.items()],
        holders,
        [convention("C_ST", "ST", 0.25)],
    )
    solved = solve(
        instance,
        micro_rules(channels=(STATE_PRIORITY, AL_EMPLOYEES)),
        scores=scores(**{a: s for a, (_, s) in people.items()}),
    )
    assert solved.holder_of == {
        "U_ST": "ST",
        "U_ALD": "ALD",
        "U_AL": "AL",
        "U_CA": "CA",
        "U_MUT": LANDLORD,
        "U_REN": LANDLORD,
        "U_DEF": LANDLORD,
    }
    channel = solved.allocation.decisions.orientation.set_index("unit_id")["channel"]
    assert channel["U_ST"] == "stock"
    assert channel["U_MUT"] == "excluded:mutation"
    lists = solved.lists
    assert set(lists) == {"U_ST", "U_ALD", "U_CA", "U_MUT", "U_REN"}
    publics = {
        "U_ST": {"P1", "P2"},
        "U_ALD": {"E1", "E2"},
        "U_MUT": {"T1", "T2"},
        "U_REN": {"R1", "R2"},
    }
    assert {u: lists[u][0] for u in publics} == {
        "U_ST": "P1",
        "U_ALD": "E1",
        "U_MUT": "T1",
        "U_REN": "R1",
    }
    assert all(set(lists[u]) <= public for u, public in publics.items())
    assert lists["U_CA"][0] == "N1"
    # Losses 1 - (0.6 s / 100 + 0.4): N1 0, P1 0.3, E1 0.36, T1 0.42, R1 0.48; the direct
    # holder's unit 0.5; the defence unit has no candidate and costs nothing.
    assert solved.objective == pytest.approx(0.3 + 0.36 + 0.42 + 0.48 + 0.5)
