"""Flux: each holder's cumulative oriented volume within tolerance of its target.

The State's convention gives it a share of the department's flux; the landlord keeps the
rest (tolerance 1). Values: ``0.6 · score / max score + 0.4``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core_instances import (
    LANDLORD,
    MONTH,
    STATE_PRIORITY,
    W_FLUX,
    W_UNFILLED,
    Row,
    applicant,
    build,
    column,
    convention,
    holder,
    micro_rules,
    row,
    scores,
    solve,
    unit,
)
from fluxopt.constraints.flux import integer_band
from fluxopt.constraints.ruleset import FluxRule
from fluxopt.model.build import build_model
from fluxopt.problem import build_problem
from fluxopt.ytd import ORIENTATION_COLUMNS, YearToDate

STATE = [holder("ST", "state")]
SEGMENT = "T1-T2|non-QPV|PLUS"
MARKS = scores(A1=10, A2=5)
PEOPLE = [applicant("A1"), applicant("A2", priority=True)]


def test_built_rows_of_a_minimal_instance() -> None:
    # Two flux units in A, the State's share 0.5 with tolerance 0: need 1, band [1, 1];
    # the landlord's remainder: need 1, tolerance 1, band [0, 2]. U3 is withdrawn from the
    # flux (internal transfer) and counts for nobody.
    instance = build(
        [unit("U1"), unit("U2"), unit("U3", status="excluded:mutation")],
        [applicant("A1")],
        STATE,
        [convention("C_ST", "ST", 0.5, tolerance=0.0)],
    )
    model, _ = build_model(build_problem(instance, micro_rules(flux=True), month=MONTH))
    labels = model.rows["flux:position"].labels
    assert labels.to_dict("records") == [
        {"holder_id": "ST", "convention_id": "C_ST", "need": 1.0, "tolerance": 0.0},
        {"holder_id": LANDLORD, "convention_id": "", "need": 1.0, "tolerance": 1.0},
    ]
    assert row(model, "flux:position", holder_id="ST") == Row(
        {
            "orient[U1,ST]": 1,
            "orient[U2,ST]": 1,
            "flux:under[ST,C_ST]": 1,
            "flux:over[ST,C_ST]": -1,
        },
        1.0,
        1.0,
    )
    assert row(model, "flux:position", holder_id=LANDLORD) == Row(
        {
            f"orient[U1,{LANDLORD}]": 1,
            f"orient[U2,{LANDLORD}]": 1,
            f"flux:under[{LANDLORD},]": 1,
            f"flux:over[{LANDLORD},]": -1,
        },
        0.0,
        2.0,
    )
    for name in ("flux:under[ST,C_ST]", f"flux:over[{LANDLORD},]"):
        j = column(model, name)
        assert (model.cost[j], model.col_lower[j], model.col_upper[j]) == (W_FLUX, 0.0, np.inf)
        assert not model.integer[j]
    assert row(model, "flux:segment", holder_id="ST", segment=SEGMENT) == Row(
        {
            "orient[U1,ST]": 1,
            "orient[U2,ST]": 1,
            f"segment:under[ST,C_ST,{SEGMENT}]": 1,
            f"segment:over[ST,C_ST,{SEGMENT}]": -1,
        },
        0.0,
        2.0,
    )
    hard = micro_rules(flux=FluxRule(hard=True, segment_mix=False))
    model, _ = build_model(build_problem(instance, hard, month=MONTH))
    assert "flux:segment" not in model.rows
    assert model.col_upper[column(model, "flux:under[ST,C_ST]")] == 0.0


@pytest.mark.parametrize(
    ("need", "tolerance", "band"),
    [
        (1.0, 0.0, (1.0, 1.0)),
        (2.0, 1.0, (1.0, 3.0)),
        (1.5, 0.0, (1.0, 2.0)),  # no integer in [1.5, 1.5]: the two around it
        (1.3, 0.2, (1.0, 2.0)),
        (0.5, 1.0, (0.0, 1.0)),
        (-0.4, 0.5, (0.0, 0.0)),
    ],
)
def test_integer_band(need: float, tolerance: float, band: tuple[float, float]) -> None:
    lower, upper = integer_band(np.array([need]), np.array([tolerance]))
    assert (lower[0], upper[0]) == band


def test_the_flux_binds() -> None:
    # The State's share is the whole flux (tolerance 0): U1 must go to it, hence to the
    # priority household A2 (loss 0.3), although A1 scores better.
    instance = build([unit("U1")], PEOPLE, STATE, [convention("C_ST", "ST", 1.0, tolerance=0.0)])
    rules = micro_rules(flux=True, channels=(STATE_PRIORITY,))
    solved = solve(instance, rules, scores=MARKS)
    assert (solved.holder_of, solved.first) == ({"U1": "ST"}, {"U1": "A2"})
    assert solved.objective == pytest.approx(0.3)
    free = solve(instance, micro_rules(channels=(STATE_PRIORITY,)), scores=MARKS)
    assert (free.holder_of, free.first) == ({"U1": LANDLORD}, {"U1": "A1"})
    assert free.objective == pytest.approx(0.0, abs=1e-6)


def test_the_flux_does_not_bind_within_tolerance() -> None:
    # Share 0.5 of one unit with tolerance 1: the State may receive it or not.
    instance = build([unit("U1")], PEOPLE, STATE, [convention("C_ST", "ST", 0.5)])
    on = solve(instance, micro_rules(flux=True, channels=(STATE_PRIORITY,)), scores=MARKS)
    off = solve(instance, micro_rules(channels=(STATE_PRIORITY,)), scores=MARKS)
    assert on.first == off.first == {"U1": "A1"}
    assert on.holder_of == off.holder_of == {"U1": LANDLORD}
    assert on.objective == pytest.approx(off.objective)
    assert on.report.flux["within"].all()


def test_hand_computed_optimum_with_an_unreachable_target() -> None:
    # The State's share is the whole flux but no candidate is a priority household. U1 to
    # the State would stay empty (10,000); to the landlord with A1 (loss 0) it leaves the
    # State one unit short: 200. The landlord's need 0 with tolerance 1 allows the unit.
    instance = build(
        [unit("U1")], [applicant("A1")], STATE, [convention("C_ST", "ST", 1.0, tolerance=0.0)]
    )
    solved = solve(instance, micro_rules(flux=True, channels=(STATE_PRIORITY,)))
    assert solved.holder_of == {"U1": LANDLORD}
    assert solved.objective == pytest.approx(W_FLUX)
    flux = solved.report.flux.set_index("holder_id")
    assert (flux.loc["ST", "oriented"], flux.loc["ST", "gap"]) == (0.0, -1.0)
    assert not flux.loc["ST", "within"]
    findings = [(f.rule, f.severity, f.group, f.amount) for f in solved.report.shortfalls]
    assert ("flux", "shortfall", "holder ST C_ST", 1.0) in findings
    # Hard, the target wins over filling the unit.
    hard = solve(instance, micro_rules(flux=FluxRule(hard=True), channels=(STATE_PRIORITY,)))
    assert hard.holder_of == {"U1": "ST"}
    assert hard.lists == {}
    assert hard.objective == pytest.approx(W_UNFILLED)


def test_year_to_date_orientations_raise_the_need() -> None:
    # February batch. Two January units went to the landlord: the State's target is
    # 0.5 * 3 = 1.5, band [1, 2], so the February unit must go to it (to A2). Without the
    # year to date its need is 0.5, band [0, 1], and A1 keeps the unit with the landlord.
    instance = build(
        [unit("U1", day="2026-02-10")],
        PEOPLE,
        STATE,
        [convention("C_ST", "ST", 0.5, tolerance=0.0)],
        months=("2026-01", "2026-02"),
    )
    past = pd.DataFrame(
        [
            {
                "unit_id": f"J{i}",
                "month": "2026-01",
                "commune": "A",
                "epci": "E1",
                "segment": SEGMENT,
                "holder_id": LANDLORD,
            }
            for i in (1, 2)
        ],
        columns=list(ORIENTATION_COLUMNS),
    )
    rules = micro_rules(flux=True, channels=(STATE_PRIORITY,))
    ytd = YearToDate(orientations=past)
    behind = solve(instance, rules, month="2026-02", scores=MARKS, ytd=ytd)
    assert (behind.holder_of, behind.first) == ({"U1": "ST"}, {"U1": "A2"})
    need = behind.allocation.problem.conventions.set_index("holder_id")["need"]
    assert need["ST"] == pytest.approx(1.5)
    fresh = solve(instance, rules, month="2026-02", scores=MARKS)
    assert (fresh.holder_of, fresh.first) == ({"U1": LANDLORD}, {"U1": "A1"})
