"""Properties of the flux plan on random small instances (hypothesis).

- annual volumes are non-negative integers summing exactly to the rounded basis, and the
  conventions of a perimeter never get more than their rounded share of it;
- ``stock_share`` equals ``turnover_weighted`` when every contingent turns over alike;
- the monthly trajectory of every holder never decreases and ends at its annual volume;
- batch targets add up to the cumulative basis.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from fluxopt.flux import (
    METHODS,
    annual_volumes,
    batch_targets,
    convert,
    trajectory,
)
from fluxopt.flux.basis import round_half_up
from fluxopt.instance import Instance
from fluxopt.schema.problems import InvalidInputError
from test_flux_support import DEPARTMENT, convention, make_instance, residence, unit, vacancies

FAST = settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
STATUSES = ["flux", "flux", "flux", "excluded:mutation", "excluded:renewal", "stock:H0"]


@st.composite
def flux_tables(draw: st.DrawFn, equal_turnover: bool = False) -> dict[str, Any]:
    """Tables of a random instance whose shares fit (at most 1 on every commune)."""
    communes = [f"K{i}" for i in range(draw(st.integers(1, 3)))]
    epci = {c: draw(st.sampled_from(["E1", "E2"])) for c in communes}
    stock = {c: draw(st.integers(0, 400)) for c in communes}
    residences = [
        residence(f"R{c}", c, epci[c], stock[c], qpv=draw(st.booleans())) for c in communes
    ]
    count = draw(st.integers(1, 8))
    units = [
        unit(
            f"U{i}",
            f"R{draw(st.sampled_from(communes))}",
            rooms=draw(st.integers(1, 6)),
            financing=draw(st.sampled_from(["PLAI", "PLUS", "PLS"])),
            status=draw(st.sampled_from(STATUSES)),
        )
        for i in range(count)
    ]
    holders = draw(st.integers(1, 4))
    perimeters: list[str | None] = []
    for i in range(holders):
        commune = draw(st.sampled_from(communes))
        wants_local = i > 0 and draw(st.booleans()) and commune not in perimeters
        perimeters.append(commune if wants_local else None)
    department_part = draw(st.floats(0.0, 0.6))
    weights = [draw(st.floats(0.01, 1.0)) for _ in range(holders)]
    department_weight = sum(w for w, p in zip(weights, perimeters, strict=True) if p is None)
    total_stock = sum(stock.values())
    conventions, history = [], []
    rate = draw(st.integers(1, 3))
    for i in range(holders):
        holder = f"H{i}"
        commune = perimeters[i]
        if commune is not None:
            fraction = draw(st.floats(0.0, 0.4))
            kind, perimeter, perimeter_stock = "commune", commune, stock[commune]
            where = [commune]
        else:
            fraction = department_part * weights[i] / department_weight
            kind, perimeter, perimeter_stock = "department", DEPARTMENT, total_stock
            where = communes
        reserved = int(np.floor(fraction * perimeter_stock))
        volume = draw(st.one_of(st.none(), st.integers(0, 20))) if i % 2 else None
        conventions.append(
            convention(
                f"C{i}",
                holder,
                kind,
                perimeter,
                share=None if volume is not None else fraction,
                volume=volume,
                method=draw(st.sampled_from(METHODS)),
                reserved=reserved,
                rights=draw(st.integers(0, 3)),
            )
        )
        vacated = reserved * rate if equal_turnover else draw(st.integers(0, 12))
        place = draw(st.sampled_from(where))
        history += vacancies(holder, epci[place], place, vacated)
    history += vacancies("landlord", epci[communes[0]], communes[0], draw(st.integers(0, 20)))
    return {
        "residences": residences,
        "units": units,
        "holders": [("LL", "landlord")] + [(f"H{i}", "other") for i in range(holders)],
        "conventions": conventions,
        "history": history,
    }


def _instance(tables: dict[str, Any]) -> Instance:
    return make_instance(**tables)


def _department_basis(volumes: pd.DataFrame) -> int:
    return int(volumes.loc[volumes["convention_id"] == "", "basis_units"].iloc[0])


@FAST
@given(tables=flux_tables())
def test_volumes_are_non_negative_integers_summing_to_the_rounded_basis(
    tables: dict[str, Any],
) -> None:
    instance = _instance(tables)
    try:
        base = convert(instance)
    except InvalidInputError:
        # a convention signed under unique_rights may hold more one-off rights than the
        # forecast flux: that instance is rightly refused, and says nothing of the volumes
        reject()
    for method in METHODS:
        try:
            conversion = convert(instance, method, converted=base)
        except InvalidInputError:
            assert method == "unique_rights"  # one-off rights beyond a tiny forecast
            continue
        volumes = annual_volumes(instance, method, conversion=conversion)
        assert volumes["annual_volume"].dtype == np.int64
        assert (volumes["annual_volume"] >= 0).all()
        basis = _department_basis(volumes)
        shared = (conversion["fixed_volume"].isna() | conversion["capped"]).to_numpy()
        if shared.all():
            assert int(volumes["annual_volume"].sum()) == basis
        else:  # volumes written in conventions are kept even beyond the forecast
            assert int(volumes["annual_volume"].sum()) >= basis
        by_share = volumes.iloc[:-1][shared]
        for _, group in by_share.groupby(["perimeter_kind", "perimeter_id"]):
            bound = round_half_up(float((group["share"] * group["basis_units"]).sum()))
            assert int(group["annual_volume"].sum()) <= int(bound)


@FAST
@given(tables=flux_tables(equal_turnover=True))
def test_stock_share_equals_turnover_weighted_with_equal_turnovers(tables: dict[str, Any]) -> None:
    instance = _instance(tables)
    stock = convert(instance, "stock_share")["share"].to_numpy()
    weighted = convert(instance, "turnover_weighted")["share"].to_numpy()
    assert weighted == pytest.approx(stock, abs=1e-12)


@FAST
@given(tables=flux_tables())
def test_trajectory_is_monotone_and_ends_at_the_annual_volume(tables: dict[str, Any]) -> None:
    instance = _instance(tables)
    frame = trajectory(instance, "negotiated")
    for _, group in frame.groupby(["holder_id", "convention_id"]):
        targets = group.sort_values("month")["target_cumulative"].to_numpy()
        assert (np.diff(targets) >= -1e-12).all()
        assert targets[-1] == pytest.approx(group["annual_volume"].iloc[0])
    assert frame["month"].nunique() == 12


@FAST
@given(tables=flux_tables())
def test_batch_targets_add_up_to_the_cumulative_basis(tables: dict[str, Any]) -> None:
    instance = _instance(tables)
    targets = batch_targets(instance, "2026-01", method="negotiated")
    flux_units = int(instance.units["in_flux"].sum())
    # Every flux unit is shared out completely between its covering holders and the landlord.
    assert targets.holders["target_cumulative"].sum() == pytest.approx(flux_units)
    assert targets.segments["target_cumulative"].sum() == pytest.approx(flux_units)
    shares = targets.coverage[targets.coverage["in_flux"]].groupby("unit_id")["share"].sum()
    assert shares.to_numpy() == pytest.approx(np.ones(flux_units))
