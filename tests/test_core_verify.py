"""The independent verifier catches errors planted in decision tables.

One batch is solved once (and passes); each test then breaks its decision tables in one way
and checks that the verifier names the broken rule, the unit and the applicant (or the
group for a quota).
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
import pytest

from core_instances import (
    LANDLORD,
    MONTH,
    Q1_OUTSIDE_QPV,
    STATE_PRIORITY,
    Solved,
    applicant,
    build,
    convention,
    holder,
    locks,
    micro_rules,
    scores,
    solve,
    unit,
)
from fluxopt.constraints.ruleset import ConstraintSet
from fluxopt.instance import Instance
from fluxopt.verify import VerificationReport, verify

RULES = micro_rules(channels=(STATE_PRIORITY,), quotas=(Q1_OUTSIDE_QPV,))
Key = tuple[str, str, str, str]


@pytest.fixture(scope="module")
def batch() -> tuple[Instance, Solved]:
    """Units U1, U2 (commune A), U3 (commune B), U_ST (stock for the State), U_AL (stock
    for Action Logement, direct mode) and U_DEF (defence); the LEC quotas apply in E1 only.
    A2 is the only first-quartile
    applicant, P1 and P2 priority households, B1 and B2 wish commune B."""
    instance = build(
        [
            unit("U1"),
            unit("U2"),
            unit("U3", "RB"),
            unit("U_ST", status="stock:ST"),
            unit("U_AL", status="stock:AL"),
            unit("U_DEF", status="excluded:defense"),
        ],
        [
            applicant("A1"),
            applicant("A2", income=8000.0),
            applicant("A3"),
            applicant("A4"),
            applicant("P1", priority=True),
            applicant("P2", priority=True),
            applicant("B1", "B"),
            applicant("B2", "B"),
        ],
        [
            holder("ST", "state"),
            holder("CA", "commune"),
            holder("AL", "action_logement", "direct"),
        ],
        [
            convention("C_ST", "ST", 0.25),
            convention("C_CA", "CA", 0.1, perimeter_kind="commune", perimeter_id="A"),
            convention("C_AL", "AL", 0.2),
        ],
        lec_in_e2=False,
    )
    marks = scores(A1=10, A2=9, A3=8, A4=7, P1=6, P2=5, B1=4, B2=3)
    return instance, solve(instance, RULES, scores=marks)


def check(
    batch: tuple[Instance, Solved],
    edit: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame | None],
    rules: ConstraintSet = RULES,
    **options: object,
) -> VerificationReport:
    """Verify copies of the batch's tables after ``edit`` changed them (in place, or by
    returning a new shortlist)."""
    instance, solved = batch
    orientation = solved.allocation.decisions.orientation.copy()
    shortlist = solved.allocation.decisions.shortlist.copy()
    edited = edit(orientation, shortlist)
    if edited is not None:
        shortlist = edited
    return verify(instance, rules, orientation, shortlist, month=MONTH, **options)  # type: ignore[arg-type]


def keys(report: VerificationReport) -> set[Key]:
    return {(f.rule, f.severity, f.unit_id, f.applicant_id) for f in report.findings}


def first_of(shortlist: pd.DataFrame, unit_id: str) -> int:
    """Row position of a unit's first rank."""
    return int(shortlist.index[(shortlist["unit_id"] == unit_id) & (shortlist["rank"] == 1)][0])


def add_row(shortlist: pd.DataFrame, unit_id: str, applicant_id: str, rank: int) -> None:
    shortlist.loc[len(shortlist)] = {
        **shortlist.iloc[0].to_dict(),
        "unit_id": unit_id,
        "applicant_id": applicant_id,
        "rank": rank,
    }


def test_the_solved_batch_is_clean(batch: tuple[Instance, Solved]) -> None:
    _, solved = batch
    assert solved.report.violations == []
    assert solved.first["U_ST"] == "P1"
    assert solved.first["U3"] == "B1"
    assert "A2" in solved.first.values()  # the quota's first-quartile household
    assert solved.holder_of["U_AL"] == "AL"
    assert "U_AL" not in solved.lists
    assert "U_DEF" not in solved.lists
    assert solved.report.checked["units"] == 6


def test_an_applicant_on_two_lists(batch: tuple[Instance, Solved]) -> None:
    _, solved = batch
    twice = solved.first["U1"]

    def edit(_: pd.DataFrame, shortlist: pd.DataFrame) -> None:
        shortlist.loc[first_of(shortlist, "U2"), "applicant_id"] = twice

    report = check(batch, edit)
    assert ("shortlist", "violation", "", twice) in keys(report)
    assert not report.ok


def test_an_ineligible_pair(batch: tuple[Instance, Solved]) -> None:
    def edit(_: pd.DataFrame, shortlist: pd.DataFrame) -> None:
        shortlist.loc[first_of(shortlist, "U3"), "applicant_id"] = "A3"

    report = check(batch, edit)
    found = [f for f in report.violations if f.rule == "eligibility"]
    assert [(f.unit_id, f.applicant_id, f.message) for f in found] == [
        ("U3", "A3", "commune B is not wished")
    ]


def test_a_wrong_channel(batch: tuple[Instance, Solved]) -> None:
    def edit(_: pd.DataFrame, shortlist: pd.DataFrame) -> None:
        shortlist.loc[first_of(shortlist, "U_ST"), "applicant_id"] = "A4"

    report = check(batch, edit)
    assert ("channel:state-priority", "violation", "U_ST", "A4") in keys(report)


def test_a_unit_oriented_to_a_holder_that_does_not_cover_it(
    batch: tuple[Instance, Solved],
) -> None:
    def edit(orientation: pd.DataFrame, _: pd.DataFrame) -> None:
        orientation.loc[orientation["unit_id"] == "U3", "holder_id"] = "CA"

    report = check(batch, edit)
    [finding] = [f for f in report.violations if f.rule == "orientation"]
    assert finding.unit_id == "U3"
    assert "'CA' may not receive it" in finding.message


def test_a_withdrawn_unit_kept_by_another_holder(batch: tuple[Instance, Solved]) -> None:
    def edit(orientation: pd.DataFrame, _: pd.DataFrame) -> None:
        orientation.loc[orientation["unit_id"] == "U_DEF", "holder_id"] = "ST"
        orientation.loc[orientation["unit_id"] == "U_ST", "holder_id"] = LANDLORD

    report = check(batch, edit)
    assert {f.unit_id for f in report.violations if f.rule == "orientation"} == {"U_DEF", "U_ST"}


@pytest.mark.parametrize("hard", [False, True])
def test_a_quota_shortfall_is_reported_with_its_group(
    batch: tuple[Instance, Solved], hard: bool
) -> None:
    # Swapping the only first-quartile first rank (A2) with another applicant (A3) leaves
    # 0 of 3 attributions of E1 outside QPV: 0.25 * 3 = 0.75 missing.
    def edit(_: pd.DataFrame, shortlist: pd.DataFrame) -> None:
        people = shortlist["applicant_id"].copy()
        shortlist.loc[people == "A2", "applicant_id"] = "A3"
        shortlist.loc[people == "A3", "applicant_id"] = "A2"

    rules = micro_rules(
        channels=(STATE_PRIORITY,), quotas=(Q1_OUTSIDE_QPV.model_copy(update={"hard": hard}),)
    )
    report = check(batch, edit, rules)
    [finding] = [f for f in report.findings if f.rule == "quota:lec-q1-outside-qpv"]
    assert (finding.severity, finding.group) == ("violation" if hard else "shortfall", "epci E1")
    assert finding.amount == pytest.approx(0.75)
    assert report.ok is not hard
    quota = report.quotas.set_index("group").loc["E1"]
    assert (quota["numerator"], quota["denominator"], bool(quota["met"])) == (0.0, 3.0, False)


def test_ranks_and_list_sizes(batch: tuple[Instance, Solved]) -> None:
    _, solved = batch
    lists = solved.lists
    full = next(u for u, people in lists.items() if len(people) == 3)

    def gap(_: pd.DataFrame, shortlist: pd.DataFrame) -> pd.DataFrame:
        return shortlist[(shortlist["unit_id"] != full) | (shortlist["rank"] != 2)]

    report = check(batch, gap)
    assert any(f.message == "ranks [1, 3] are not 1..n" for f in report.violations)

    def overfull(_: pd.DataFrame, shortlist: pd.DataFrame) -> None:
        add_row(shortlist, full, "B2", 4)

    report = check(batch, overfull)
    assert any(f.message == "4 candidates, more than 3" for f in report.violations)


def test_lists_for_units_that_admit_nobody(batch: tuple[Instance, Solved]) -> None:
    def edit(_: pd.DataFrame, shortlist: pd.DataFrame) -> None:
        add_row(shortlist, "U_AL", "B2", 1)
        add_row(shortlist, "U_DEF", "B2", 1)

    report = check(batch, edit)
    assert ("shortlist", "violation", "U_AL", "") in keys(report)
    assert ("channel:excluded:defense", "violation", "U_DEF", "B2") in keys(report)


def test_units_missing_or_outside_the_batch(batch: tuple[Instance, Solved]) -> None:
    def edit(orientation: pd.DataFrame, _: pd.DataFrame) -> None:
        orientation.loc[orientation["unit_id"] == "U1", "unit_id"] = "U9"

    report = check(batch, edit)
    messages = {(f.unit_id, f.message) for f in report.violations if f.rule == "orientation"}
    assert messages == {("U1", "unit appears 0 times"), ("U9", "unit is not in the batch")}


def test_a_unit_oriented_twice(batch: tuple[Instance, Solved]) -> None:
    def edit(orientation: pd.DataFrame, _: pd.DataFrame) -> None:
        orientation.loc[len(orientation)] = orientation.iloc[0].to_dict()

    report = check(batch, edit)
    assert ("U1", "unit appears 2 times") in {(f.unit_id, f.message) for f in report.violations}


def test_an_unknown_applicant(batch: tuple[Instance, Solved]) -> None:
    def edit(_: pd.DataFrame, shortlist: pd.DataFrame) -> None:
        shortlist.loc[first_of(shortlist, "U3"), "applicant_id"] = "NOBODY"

    assert ("shortlist", "violation", "", "NOBODY") in keys(check(batch, edit))


def test_locks_not_honoured(batch: tuple[Instance, Solved]) -> None:
    _, solved = batch
    first = solved.first["U1"]
    table = locks(("U1", "orient", "CA"), ("U1", "require", "A4"), ("U1", "exclude", first))
    report = check(batch, lambda _o, _s: None, locks=table)
    found = {(f.message, f.applicant_id) for f in report.violations if f.rule == "locks"}
    assert found >= {
        ("required applicant is not ranked first", "A4"),
        ("excluded applicant is listed", first),
    }
    if solved.holder_of["U1"] != "CA":
        assert ("not oriented to CA", "") in found


def test_an_unknown_holder_is_reported(batch: tuple[Instance, Solved]) -> None:
    def edit(orientation: pd.DataFrame, _: pd.DataFrame) -> None:
        orientation.loc[orientation["unit_id"] == "U1", "holder_id"] = "TYPO"

    report = check(batch, edit)
    assert ("orientation", "violation", "U1", "") in keys(report)


def test_the_report_text(batch: tuple[Instance, Solved]) -> None:
    def edit(_: pd.DataFrame, shortlist: pd.DataFrame) -> None:
        shortlist.loc[first_of(shortlist, "U3"), "applicant_id"] = "A3"

    report = check(batch, edit)
    lines = report.text().splitlines()
    assert lines[0].startswith(
        f"{len(report.violations)} violation(s), {len(report.shortfalls)} shortfall(s); "
        "checked units: 6"
    )
    assert "[violation] eligibility (unit U3, applicant A3): commune B is not wished" in lines
    assert len(lines) == 1 + len(report.findings)
