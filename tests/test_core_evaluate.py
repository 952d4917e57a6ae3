"""The objective of any decision tables under a batch's model (``objective_of``).

Every solve of these tests already checks that ``objective_of`` gives back the solver's
objective (see :func:`core_instances.solve`); here it is checked on the committed tiny
instance under the default rules, on decisions changed by hand, and on decisions that the
model cannot express.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from core_instances import (
    Q1_OUTSIDE_QPV,
    W_QUOTA,
    Solved,
    applicant,
    build,
    micro_rules,
    scores,
    solve,
    unit,
)
from fluxopt.constraints.ruleset import load_constraint_set
from fluxopt.decisions import Decisions
from fluxopt.evaluate import decision_columns, objective_of
from fluxopt.instance import load_instance
from fluxopt.schema.problems import FluxoptError

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"


@pytest.fixture(scope="module")
def micro() -> Solved:
    """U1 and U2 in commune A; A1 (score 10) and A3 (score 0) are not first quartile, A2
    (score 5) is; the first-quartile quota of E1 applies."""
    instance = build(
        [unit("U1"), unit("U2")],
        [applicant("A1"), applicant("A2", income=8000.0), applicant("A3")],
    )
    return solve(instance, micro_rules(quotas=(Q1_OUTSIDE_QPV,)), scores=scores(A1=10, A2=5, A3=0))


def evaluate(
    solved: Solved, shortlist: pd.DataFrame, orientation: pd.DataFrame | None = None
) -> float:
    allocation = solved.allocation
    decisions = Decisions(
        orientation=allocation.decisions.orientation if orientation is None else orientation,
        shortlist=shortlist,
    )
    return objective_of(allocation.problem, allocation.model, allocation.variables, decisions)


def test_objective_of_fluxopt_decisions_on_tiny_with_every_family() -> None:
    instance = load_instance(TINY)
    solved = solve(instance, load_constraint_set("lec-default"))
    allocation = solved.allocation
    assert allocation.status.has_solution
    value = objective_of(
        allocation.problem, allocation.model, allocation.variables, allocation.decisions
    )
    assert value == pytest.approx(solved.objective, rel=1e-6)
    first, orient = decision_columns(allocation.problem, allocation.variables, allocation.decisions)
    assert first.sum() == len(allocation.decisions.first_ranked)
    assert orient.sum() == len(allocation.decisions.orientation)


def test_hand_changed_decisions_are_priced_by_the_model(micro: Solved) -> None:
    # Optimum: A1 and A2 first (losses 0 and 0.3, one first-quartile household of two).
    assert sorted(micro.first.values()) == ["A1", "A2"]
    assert micro.objective == pytest.approx(0.3)
    shortlist = micro.allocation.decisions.shortlist
    # A3 instead of A2: losses 0 + 0.6, and the quota misses 0.25 * 2 = 0.5 (100).
    swapped = shortlist.copy()
    people = swapped["applicant_id"].copy()
    swapped.loc[people == "A2", "applicant_id"] = "A3"
    swapped.loc[people == "A3", "applicant_id"] = "A2"
    assert evaluate(micro, swapped) == pytest.approx(0.6 + 0.5 * W_QUOTA)
    # Without A2's unit's list: that unit is left empty (10,000) and the quota misses
    # 0.25 of A1's single attribution (50).
    emptied = micro.allocation.decisions.first_ranked.set_index("applicant_id").loc["A2", "unit_id"]
    assert evaluate(micro, shortlist[shortlist["unit_id"] != emptied]) == pytest.approx(
        10_000 + 0.25 * W_QUOTA
    )


def test_decisions_the_model_cannot_express(micro: Solved) -> None:
    shortlist = micro.allocation.decisions.shortlist
    outside = shortlist.copy()
    outside.loc[outside["rank"] == 1, "applicant_id"] = "NOBODY"
    with pytest.raises(FluxoptError, match="outside the candidate graph"):
        evaluate(micro, outside)
    orientation = micro.allocation.decisions.orientation.copy()
    orientation["holder_id"] = "FAR"
    with pytest.raises(FluxoptError, match="may not receive it"):
        evaluate(micro, shortlist, orientation)
    twice = shortlist.copy()
    twice.loc[twice["rank"] == 1, "applicant_id"] = "A1"
    with pytest.raises(FluxoptError, match="break a hard rule"):
        evaluate(micro, twice)
