r"""Integer annual volumes: each convention's share of the forecast basis, rounded fairly.

For a perimeter *P* with integer forecast basis :math:`B_P` (see
:func:`fluxopt.flux.basis.forecast_basis`), a share-based convention *c* has the quota
:math:`q_c = s_c B_P`. The conventions of *P* together receive

.. math::

    T_P = \operatorname{round}\Big(\sum_{c \in P} q_c\Big) \le B_P

units, never more, distributed by the largest-remainder rule: each gets
:math:`\lfloor q_c \rfloor`, and the :math:`T_P - \sum_c \lfloor q_c \rfloor` units
left go one each to the largest fractional parts (ties: table order). A negotiated
convention that states an ``annual_volume`` keeps it as is, unless the forecast cannot hold
it (``capped`` in :func:`fluxopt.flux.conversion.convert`): it is then rounded as the share
it was capped to. The landlord receives the rest
of the department's basis, :math:`B - \sum_P T_P - \sum \text{fixed volumes}`, so all
volumes sum exactly to :math:`B`. When nested perimeters (a commune inside a
department-wide convention) make the rounded totals overshoot :math:`B`, the perimeters
rounded up the most give back one unit each until they fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fluxopt.flux.basis import forecast_basis, round_half_up
from fluxopt.flux.conversion import convert
from fluxopt.flux.perimeter import landlord_ids
from fluxopt.instance import Instance

VOLUME_COLUMNS = [
    "holder_id",
    "convention_id",
    "perimeter_kind",
    "perimeter_id",
    "method",
    "share",
    "basis",
    "basis_units",
    "quota",
    "annual_volume",
]


def largest_remainder(quotas: np.ndarray | list[float], total: int) -> np.ndarray:
    r"""Round non-negative ``quotas`` to integers summing exactly to ``total``.

    Each quota gets its floor; the ``total - sum(floor)`` units left go one each to the
    largest fractional parts, ties to the earlier quota. ``total`` must lie between
    :math:`\sum \lfloor q_i \rfloor` and that sum plus the number of quotas.

    Example: quotas (2.6, 3.3, 1.1) and total 7: floors (2, 3, 1) leave one unit, which
    goes to the largest remainder 0.6, giving (3, 3, 1).
    """
    values = np.asarray(quotas, dtype="float64")
    groups = np.zeros(len(values), dtype="int64")
    return grouped_largest_remainder(values, np.full(len(values), total), groups)


def grouped_largest_remainder(
    quotas: np.ndarray, totals: np.ndarray, groups: np.ndarray
) -> np.ndarray:
    """:func:`largest_remainder` within each group; ``totals`` repeats each group's total."""
    values = np.round(np.asarray(quotas, dtype="float64"), 9)
    floors = np.floor(values)
    frame = pd.DataFrame(
        {"group": np.asarray(groups), "fraction": values - floors, "floor": floors}
    )
    left = np.asarray(totals, dtype="float64") - frame.groupby("group")["floor"].transform("sum")
    if (left < 0).any() or (left > frame.groupby("group")["floor"].transform("size")).any():
        raise ValueError(
            "each total must lie between the sum of floors and that sum plus the count"
        )
    rank = frame.groupby("group")["fraction"].rank(method="first", ascending=False)
    return (floors + (rank.to_numpy() <= left.to_numpy())).astype("int64")


def annual_volumes(
    instance: Instance,
    method: str | None = None,
    year: int | None = None,
    horizon_years: float = 1.0,
    conversion: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each convention's integer yearly volume, and the landlord's remainder.

    Parameters
    ----------
    instance
        The instance.
    method
        Conversion method for every convention; default: each convention's own.
    year
        Year to forecast; default: the instance's year.
    horizon_years
        Horizon over which one-off rights are drawn down (method ``unique_rights``).
    conversion
        A table already returned by :func:`~fluxopt.flux.conversion.convert` for the
        same method, year and horizon.

    Returns
    -------
    pandas.DataFrame
        One row per convention then one for the landlord: ``holder_id``,
        ``convention_id`` (empty for the landlord), ``perimeter_kind``, ``perimeter_id``,
        ``method``, ``share``, ``basis`` (:math:`F_P`), ``basis_units`` (:math:`B_P`),
        ``quota`` (:math:`s_c B_P`, or the fixed volume) and ``annual_volume`` (integer).
    """
    table = convert(instance, method, year, horizon_years) if conversion is None else conversion
    department = instance.config.territory.department
    if len(table):
        whole = table[["department_basis", "department_basis_units"]].iloc[0]
        department_basis, basis_units = float(whole.iloc[0]), int(whole.iloc[1])
    else:
        forecast = forecast_basis(instance, year)
        row = forecast[forecast["perimeter_kind"] == "department"].iloc[0]
        department_basis, basis_units = float(row["basis"]), int(row["basis_units"])
    fixed = (table["fixed_volume"].notna() & ~table["capped"]).to_numpy()
    fixed_volume = np.where(fixed, table["fixed_volume"].fillna(0).astype("int64").to_numpy(), 0)
    quota = np.where(
        fixed, fixed_volume, table["share"].to_numpy() * table["basis_units"].to_numpy()
    )
    perimeter = (table["perimeter_kind"] + ":" + table["perimeter_id"]).to_numpy()
    shared = pd.DataFrame({"perimeter": perimeter, "quota": quota})[~fixed]
    exact = shared.groupby("perimeter", sort=False)["quota"].sum()
    floored = pd.Series(np.floor(np.round(shared["quota"].to_numpy(), 9)), index=shared.index)
    floors = floored.groupby(shared["perimeter"], sort=False).sum()
    totals = pd.Series(round_half_up(exact.to_numpy()), index=exact.index)
    overshoot = int(totals.sum() + fixed_volume.sum() - basis_units)
    if overshoot > 0:
        totals = _give_back(totals, exact, floors, overshoot)
    volume = fixed_volume.astype("int64").copy()
    if len(shared):
        rows = np.flatnonzero(~fixed)
        volume[rows] = grouped_largest_remainder(
            shared["quota"].to_numpy(),
            totals.reindex(shared["perimeter"]).to_numpy(),
            shared["perimeter"].to_numpy(),
        )
    out = pd.DataFrame(
        {
            "holder_id": table["holder_id"],
            "convention_id": table["convention_id"],
            "perimeter_kind": table["perimeter_kind"],
            "perimeter_id": table["perimeter_id"],
            "method": table["method"],
            "share": table["share"],
            "basis": table["basis"],
            "basis_units": table["basis_units"],
            "quota": quota.astype("float64"),
            "annual_volume": volume,
        }
    )
    rest = max(basis_units - int(volume.sum()), 0)
    landlord = pd.DataFrame(
        {
            "holder_id": [landlord_ids(instance.holders)[0]],
            "convention_id": [""],
            "perimeter_kind": ["department"],
            "perimeter_id": [department],
            "method": ["remainder"],
            "share": [rest / basis_units if basis_units else 0.0],
            "basis": [department_basis],
            "basis_units": [basis_units],
            "quota": [max(basis_units - float(np.sum(quota)), 0.0)],
            "annual_volume": [rest],
        }
    )
    result = pd.concat([out, landlord], ignore_index=True)
    return result.astype({"annual_volume": "int64", "basis_units": "int64"})[VOLUME_COLUMNS]


def _give_back(totals: pd.Series, exact: pd.Series, floors: pd.Series, overshoot: int) -> pd.Series:
    """Lower the perimeters' totals, most rounded-up first, by ``overshoot`` units in all."""
    totals = totals.copy()
    order = (totals - exact).sort_values(ascending=False, kind="stable").index
    for key in order:
        if overshoot <= 0:
            break
        step = min(int(totals[key] - floors[key]), overshoot)
        totals[key] -= step
        overshoot -= step
    return totals
