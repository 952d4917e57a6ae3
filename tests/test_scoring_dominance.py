"""Property: an ordered grid keeps its dominance on any applicants.

Meeting a higher ordered criterion always outranks any combination of lower criteria and
tie-break points: if applicants a and b first differ, in priority order, on criterion i and
a meets it, then score(a) > score(b). The grids are random too (number of ordered criteria,
additive criteria with groups, a bracket, a capped wait and a floored refusal penalty), with
the auto base or an explicit base above the additive range.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from fluxopt.scoring import Grid, score

points = st.integers(min_value=-10, max_value=40).map(float)


@st.composite
def ordered_grids(draw: st.DrawFn) -> dict[str, Any]:
    ordered = draw(st.integers(min_value=1, max_value=8))
    extra = draw(st.integers(min_value=0, max_value=5))
    groups = {"g1": {"mode": "highest"}, "g2": {"mode": "sum", "cap": 12.0}}
    criteria = [
        {
            "name": f"x{k}",
            "expression": f"x{k}",
            "points": draw(points),
            "group": draw(st.sampled_from([None, "g1", "g2"])),
        }
        for k in range(extra)
    ]
    used = {c["group"] for c in criteria}
    spec: dict[str, Any] = {
        "name": "random",
        "ordered": {"criteria": [{"name": f"o{k}", "expression": f"o{k}"} for k in range(ordered)]},
        "criteria": criteria,
        "groups": {name: value for name, value in groups.items() if name in used},
        "brackets": [
            {
                "name": "band",
                "expression": "v",
                "bands": [
                    {"max": 0.3, "points": draw(points)},
                    {"min": 0.3, "max": 0.7, "points": draw(points)},
                    {"min": 0.7, "points": draw(points)},
                ],
            }
        ],
    }
    if draw(st.booleans()):
        spec["wait"] = {
            "points_per_month": draw(st.sampled_from([0.25, 1.0, 3.0])),
            "cap": draw(st.sampled_from([6.0, 36.0, 120.0])),
        }
    if draw(st.booleans()):
        spec["refusal"] = {
            "points_per_refusal": -draw(st.sampled_from([1.0, 5.0])),
            "lowest": -draw(st.sampled_from([5.0, 20.0])),
            "consequence": "points off",
        }
    if draw(st.booleans()):
        low, high = Grid.model_validate(spec).additive_range()
        spec["ordered"]["base"] = high - low + draw(st.sampled_from([0.5, 1.0, 17.0]))
    return spec


@st.composite
def grids_and_applicants(draw: st.DrawFn) -> tuple[Grid, pd.DataFrame]:
    grid = Grid.model_validate(draw(ordered_grids()))
    count = draw(st.integers(min_value=2, max_value=40))
    seed = draw(st.integers(min_value=0, max_value=2**32 - 1))
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {"applicant_id": [f"a{i}" for i in range(count)]}
    assert grid.ordered is not None
    for criterion in grid.ordered.criteria:
        columns[criterion.expression] = rng.random(count) < draw(st.sampled_from([0.1, 0.5]))
    for criterion in grid.criteria:
        columns[criterion.expression] = rng.random(count) < 0.5
    columns["v"] = np.where(rng.random(count) < 0.1, np.nan, rng.random(count))
    columns["wait_months"] = rng.uniform(0, 200, count)
    columns["refusals"] = rng.integers(0, 6, count)
    return grid, pd.DataFrame(columns)


@settings(max_examples=150, deadline=None)
@given(grids_and_applicants())
def test_a_higher_ordered_criterion_outranks_all_lower_ones(
    case: tuple[Grid, pd.DataFrame],
) -> None:
    grid, table = case
    assert grid.ordered is not None
    flags = table[[c.expression for c in grid.ordered.criteria]].to_numpy()
    totals = score(grid, table).total.to_numpy()
    for a in range(len(table)):
        for b in range(len(table)):
            differs = np.flatnonzero(flags[a] != flags[b])
            if differs.size and flags[a, differs[0]]:
                assert totals[a] > totals[b], (a, b, flags[a], flags[b], totals[a], totals[b])


@settings(max_examples=100, deadline=None)
@given(grids_and_applicants())
def test_the_additive_part_stays_within_its_range(case: tuple[Grid, pd.DataFrame]) -> None:
    grid, table = case
    result = score(grid, table)
    ordered = list(grid.ordered_weights())
    additive = result.total - result.breakdown[ordered].sum(axis=1)
    low, high = grid.additive_range()
    assert (additive >= low - 1e-9).all()
    assert (additive <= high + 1e-9).all()
    weights = list(grid.ordered_weights().values())
    for i, weight in enumerate(weights):
        assert weight - sum(weights[i + 1 :]) > high - low
