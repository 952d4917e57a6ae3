"""Diagnosis of a failed solve: the hard rules in conflict are named, never a stack trace."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core_instances import (
    LANDLORD,
    MONTH,
    Q1_OUTSIDE_QPV,
    SETTINGS,
    STATE_PRIORITY,
    applicant,
    attributions,
    build,
    convention,
    holder,
    locks,
    micro_rules,
    unit,
)
from fluxopt.allocate import allocate
from fluxopt.constraints.ruleset import FluxRule
from fluxopt.diagnose import (
    RELAXED_COST,
    InfeasibleRulesError,
    conflicts,
    explain_failure,
    freed,
    slack_blocks,
)
from fluxopt.model.blocks import LinearModel
from fluxopt.model.build import build_model
from fluxopt.model.variables import Variables
from fluxopt.problem import build_problem
from fluxopt.schema.problems import FluxoptError
from fluxopt.solvers.base import SolveResult, Status
from fluxopt.ytd import ORIENTATION_COLUMNS, YearToDate

HARD_Q1 = Q1_OUTSIDE_QPV.model_copy(update={"hard": True})


def model_with_every_slack() -> tuple[LinearModel, Variables]:
    instance = build(
        [unit("U1")],
        [applicant("A1"), applicant("A2", priority=True)],
        [holder("ST", "state")],
        [convention("C_ST", "ST", 0.5)],
    )
    rules = micro_rules(flux=True, channels=(STATE_PRIORITY,), quotas=(HARD_Q1,))
    problem = build_problem(instance, rules, month=MONTH, locks=locks(("U1", "orient", "ST")))
    return build_model(problem)


def test_slack_blocks_and_freed_model() -> None:
    model, _ = model_with_every_slack()
    assert slack_blocks(model) == [
        "flux:under",
        "flux:over",
        "segment:under",
        "segment:over",
        "quota:lec-q1-outside-qpv:shortfall",
        "locks:slack",
    ]
    relaxed = freed(model)
    for name, was_hard in (
        ("quota:lec-q1-outside-qpv:shortfall", True),
        ("locks:slack", True),
        ("flux:under", False),
    ):
        block = model.columns[name]
        span = slice(block.start, block.stop)
        assert np.all(relaxed.col_upper[span] == np.inf)
        expected = RELAXED_COST if was_hard else model.cost[span]
        assert np.all(relaxed.cost[span] == expected)
    assert relaxed.matrix is model.matrix


def test_conflicts_name_the_block_and_its_labels() -> None:
    model, _ = model_with_every_slack()
    x = np.zeros(model.num_cols)
    block = model.columns["quota:lec-q1-outside-qpv:shortfall"]
    x[block.start] = 0.75
    soft = model.columns["flux:under"]
    x[soft.start] = 1.0  # a soft slack is not a conflict
    assert conflicts(model, x) == [
        "quota:lec-q1-outside-qpv (rule lec-q1-outside-qpv, group E1, level 0.25): off by 0.75"
    ]


def test_an_infeasible_hard_quota() -> None:
    # Four past attributions without a first-quartile household need 0.25 * 5 = 1.25 from
    # the batch's single unit, whose only candidate is not one. Relaxed, the cheapest
    # breach leaves U1 empty: the quota is off by 0.25 * 4 = 1.
    instance = build([unit("U1")], [applicant("A1")])
    rules = micro_rules(quotas=(HARD_Q1,))
    with pytest.raises(InfeasibleRulesError) as caught:
        allocate(instance, rules, month=MONTH, ytd=attributions([{}] * 4), settings=SETTINGS)
    assert caught.value.conflicts == [
        "quota:lec-q1-outside-qpv (rule lec-q1-outside-qpv, group E1, level 0.25): off by 1.00"
    ]
    text = str(caught.value)
    assert text.startswith("the hard rules cannot all be met")
    assert "Traceback" not in text


def test_an_infeasible_hard_flux() -> None:
    # February: two January units went to the landlord, yet the State's share is the whole
    # flux with tolerance 0. Its target 3 cannot be reached with one unit (2 short), and the
    # landlord, at 2 for a target of 0 (tolerance 1), is 1 over.
    instance = build(
        [unit("U1", day="2026-02-10")],
        [applicant("A1")],
        [holder("ST", "state")],
        [convention("C_ST", "ST", 1.0, tolerance=0.0)],
        months=("2026-01", "2026-02"),
    )
    past = pd.DataFrame(
        [["J1", "2026-01", "A", "E1", "T1-T2|non-QPV|PLUS", LANDLORD]] * 2,
        columns=list(ORIENTATION_COLUMNS),
    ).assign(unit_id=["J1", "J2"])
    rules = micro_rules(flux=FluxRule(hard=True, segment_mix=False))
    with pytest.raises(InfeasibleRulesError) as caught:
        allocate(
            instance,
            rules,
            month="2026-02",
            ytd=YearToDate(orientations=past),
            settings=SETTINGS,
        )
    assert caught.value.conflicts == [
        "flux (holder_id ST, convention_id C_ST): off by 2.00",
        f"flux (holder_id {LANDLORD}, convention_id ): off by 1.00",
    ]


def test_other_failures_are_short_messages() -> None:
    instance = build([unit("U1")], [applicant("A1")])
    problem = build_problem(instance, micro_rules(), month=MONTH)
    model, _ = build_model(problem)
    timed_out = SolveResult(Status.TIME_LIMIT, None, None, None, 10.0, "highs")
    error = explain_failure(problem, model, timed_out, SETTINGS)
    assert type(error) is FluxoptError
    assert str(error).startswith("no solution within the time limit of 10 s")
    broken = SolveResult(Status.ERROR, None, None, None, 0.1, "highs", message="boom")
    assert str(explain_failure(problem, model, broken, SETTINGS)) == (
        "the solver failed: error (boom)"
    )
