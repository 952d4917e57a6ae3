"""Locks: human overrides (orient a unit, require or exclude an applicant) are honoured.

Values: ``0.6 · score / max score + 0.4``; with scores 10, 5 and 0 the losses are 0, 0.3
and 0.6.
"""

from __future__ import annotations

import pytest

from core_instances import (
    LANDLORD,
    MONTH,
    STATE_PRIORITY,
    W_UNFILLED,
    Row,
    applicant,
    build,
    column,
    convention,
    holder,
    locks,
    micro_rules,
    row,
    scores,
    solve,
    unit,
)
from fluxopt.allocate import allocate
from fluxopt.instance import Instance
from fluxopt.model.build import build_model
from fluxopt.problem import build_problem
from fluxopt.schema.problems import InvalidInputError

MARKS = scores(A1=10, A2=5, A3=0, A4=0)
RULES = micro_rules(channels=(STATE_PRIORITY,))


def state_instance() -> Instance:
    """U1 (commune A) may go to the State or the landlord; A1 scores best, A2 is a priority
    household, A3 scores least; A4 wishes commune B only."""
    return build(
        [unit("U1"), unit("U2", "RB")],
        [
            applicant("A1"),
            applicant("A2", priority=True),
            applicant("A3"),
            applicant("A4", "B"),
        ],
        [holder("ST", "state")],
        [convention("C_ST", "ST", 0.5)],
    )


def test_built_rows_of_the_locks() -> None:
    # One row per orient or require lock: the locked column plus a slack fixed to 0
    # (kept for the diagnosis), at least 1. An exclude lock removes the pair instead.
    instance = state_instance()
    table = locks(("U1", "orient", "ST"), ("U1", "require", "A2"), ("U1", "exclude", "A3"))
    problem = build_problem(instance, RULES, month=MONTH, scores=MARKS, locks=table)
    model, _ = build_model(problem)
    labels = model.rows["locks"].labels
    assert labels[["unit_id", "action"]].to_numpy().tolist() == [
        ["U1", "orient"],
        ["U1", "require"],
    ]
    assert row(model, "locks", action="orient") == Row(
        {"orient[U1,ST]": 1.0, "locks:slack[U1,orient,ST,]": 1.0}, 1.0, float("inf")
    )
    assert row(model, "locks", action="require") == Row(
        {"first[U1,A2]": 1.0, "locks:slack[U1,require,,A2]": 1.0}, 1.0, float("inf")
    )
    slack = column(model, "locks:slack[U1,orient,ST,]")
    assert (model.col_upper[slack], model.cost[slack]) == (0.0, W_UNFILLED)
    assert "U1" not in set(problem.pair_frame().query("applicant_id == 'A3'")["unit_id"])


def test_an_orient_lock_binds() -> None:
    # Free, U1 stays with the landlord and A1; locked to the State it takes A2.
    instance = state_instance()
    free = solve(instance, RULES, scores=MARKS)
    assert (free.holder_of["U1"], free.first["U1"]) == (LANDLORD, "A1")
    table = locks(("U1", "orient", "ST"))
    locked = solve(instance, RULES, scores=MARKS, locks=table)
    assert (locked.holder_of["U1"], locked.first["U1"]) == ("ST", "A2")
    assert locked.objective == pytest.approx(free.objective + 0.3)


def test_require_and_exclude_locks_bind() -> None:
    instance = state_instance()
    required = solve(instance, RULES, scores=MARKS, locks=locks(("U1", "require", "A3")))
    assert required.first["U1"] == "A3"
    assert required.objective == pytest.approx(0.6 + 0.6)  # A3 on U1, A4 on U2
    excluded = solve(instance, RULES, scores=MARKS, locks=locks(("U1", "exclude", "A1")))
    assert excluded.first["U1"] == "A2"
    assert "A1" not in excluded.lists["U1"]


def test_locks_that_agree_with_the_optimum_change_nothing() -> None:
    instance = state_instance()
    free = solve(instance, RULES, scores=MARKS)
    table = locks(("U1", "orient", LANDLORD), ("U1", "require", "A1"), ("U2", "exclude", "A1"))
    locked = solve(instance, RULES, scores=MARKS, locks=table)
    assert locked.holder_of == free.holder_of
    assert locked.first == free.first
    assert locked.objective == pytest.approx(free.objective)


def test_hand_computed_optimum_with_a_required_applicant_elsewhere() -> None:
    # A1 is required on U2 (commune B is her second wish: 0.6 + 0.125 + 0.15 = 0.875, loss
    # 0.125), so U1 takes A2 (loss 0.3): 0.425 in all.
    instance = build(
        [unit("U1"), unit("U2", "RB")],
        [applicant("A1", "A;B"), applicant("A2"), applicant("A3")],
    )
    solved = solve(instance, micro_rules(), scores=MARKS, locks=locks(("U2", "require", "A1")))
    assert solved.first == {"U1": "A2", "U2": "A1"}
    assert solved.objective == pytest.approx(0.125 + 0.3)


def test_a_lock_on_an_ineligible_pair_is_invalid_input() -> None:
    instance = state_instance()
    with pytest.raises(InvalidInputError) as caught:
        allocate(instance, RULES, month=MONTH, locks=locks(("U2", "require", "A1")))
    [problem] = caught.value.problems
    assert "A1 is not eligible for unit U2" in problem.message
    assert problem.table == "locks"


@pytest.mark.parametrize(
    ("lock", "message"),
    [
        (("U1", "orient", "NOBODY"), "holder 'NOBODY' is unknown"),
        (("U9", "orient", "ST"), "unit 'U9' is not in the batch"),
        (("U1", "require", "A9"), "applicant 'A9' is unknown"),
        (("U1", "promote", "A1"), "unknown action 'promote'"),
        (("U2", "orient", "FAR"), "holder 'FAR' is unknown"),
    ],
)
def test_bad_locks_are_reported(lock: tuple[str, str, str], message: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        build_problem(state_instance(), RULES, month=MONTH, locks=locks(lock))
    assert [p.message for p in caught.value.problems] == [message]


def test_an_orient_lock_to_a_holder_that_does_not_cover_the_unit() -> None:
    instance = build(
        [unit("U1", "RB")],
        [applicant("A1", "B")],
        [holder("CA", "commune")],
        [convention("C_CA", "CA", 0.1, perimeter_kind="commune", perimeter_id="A")],
    )
    with pytest.raises(InvalidInputError) as caught:
        allocate(instance, micro_rules(), month=MONTH, locks=locks(("U1", "orient", "CA")))
    assert [p.message for p in caught.value.problems] == ["holder CA cannot receive unit U1"]
