r"""Targets of a monthly batch and the yearly trajectory of each holder.

Batch targets (design §5)
    For a convention *c* with share :math:`s_c` on perimeter *P*, the cumulative target
    after the batch of month *m* is its share of the cumulative flux basis of *P*: the
    flux units oriented earlier in the year (year-to-date, from the ledger) plus the flux
    units of the batch,

    .. math::

        \text{target}_c = s_c \, (b^{\text{ytd}}_P + b^{\text{batch}}_P), \qquad
        \text{need}_c = \text{target}_c - \text{oriented}^{\text{ytd}}_c

    A negotiated convention stating a yearly volume :math:`V_c` uses the effective share
    :math:`V_c / F_P` (its volume over the perimeter's forecast yearly basis), i.e.
    :math:`\text{target}_c = V_c (b^{\text{ytd}}_P + b^{\text{batch}}_P) / F_P`. The
    landlord's target sums its implicit share :math:`1 - \sum_{c \ni u} s_c` over the
    units *u* of the cumulative basis. A negative need means the holder is ahead.

Segment targets
    The same rule within each segment (room group × QPV or not × financing): a holder's
    target in a segment is its share of the segment's cumulative basis, so that no holder
    receives only the least wanted units.

Trajectory
    Over the year ahead, a holder's cumulative target at the end of month *m* is its
    integer annual volume times the share of the yearly basis expected by then (the
    seasonal profile of :func:`fluxopt.flux.basis.seasonal_profile`); it never decreases.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fluxopt.flux.basis import seasonal_profile
from fluxopt.flux.conversion import convert
from fluxopt.flux.coverage import coverage, covering_shares, landlord_shares
from fluxopt.flux.perimeter import landlord_ids
from fluxopt.flux.volumes import annual_volumes
from fluxopt.instance import Instance
from fluxopt.schema.declaration import schema
from fluxopt.schema.problems import FluxoptError, ProblemLog

YTD_COLUMNS = ("unit_id", "month", "commune", "epci", "segment", "holder_id")
"""Columns of the year-to-date input: flux units already oriented earlier in the year."""

HOLDER_COLUMNS = [
    "holder_id",
    "convention_id",
    "perimeter_kind",
    "perimeter_id",
    "method",
    "share",
    "tolerance",
    "basis_ytd",
    "basis_batch",
    "target_ytd",
    "target_cumulative",
    "oriented_ytd",
    "need",
]
SEGMENT_COLUMNS = [
    "holder_id",
    "convention_id",
    "segment",
    "basis_ytd",
    "basis_batch",
    "target_ytd",
    "target_cumulative",
    "oriented_ytd",
    "need",
]
MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_ROWS_LISTED = 20


@dataclass(frozen=True, eq=False)
class FluxTargets:
    """What a batch must achieve: per holder, per segment, and who may take each unit.

    Attributes
    ----------
    holders
        One row per convention and one for the landlord (empty ``convention_id``):
        the columns of :data:`HOLDER_COLUMNS`. ``target_ytd`` is the target on the
        year-to-date basis alone, so ``oriented_ytd - target_ytd`` is the position to date.
    segments
        One row per (convention or landlord, segment) with a cumulative basis or an
        orientation: the columns of :data:`SEGMENT_COLUMNS`.
    coverage
        :func:`fluxopt.flux.coverage.coverage` of the batch's units.
    landlord_id
        The holder of kind ``landlord``.
    month
        The batch month (``None``: every unit of the instance).
    method
        The conversion method applied (``None``: each convention's own).
    """

    holders: pd.DataFrame
    segments: pd.DataFrame
    coverage: pd.DataFrame
    landlord_id: str
    month: str | None = None
    method: str | None = None


def check_ytd(ytd: pd.DataFrame | None, instance: Instance) -> pd.DataFrame:
    """Check the year-to-date input and return it as text columns (empty when ``None``).

    Raises :class:`~fluxopt.schema.problems.InvalidInputError` for missing columns, empty
    cells, months not written ``YYYY-MM`` and holders that are not in the holders table.
    """
    if ytd is None:
        return pd.DataFrame({name: pd.Series(dtype="str") for name in YTD_COLUMNS})
    log = ProblemLog()
    missing = [name for name in YTD_COLUMNS if name not in ytd.columns]
    for name in missing:
        log.error("ytd", "required column is missing", f"add a column {name!r}", column=name)
    log.raise_if_errors("year-to-date orientations")
    frame = ytd[list(YTD_COLUMNS)].reset_index(drop=True)
    empty = frame.isna() | (frame.astype(str).apply(lambda col: col.str.strip()) == "")
    frame = frame.astype(str)
    known = set(instance.holders["holder_id"].astype(str))
    unknown = ~empty["holder_id"] & ~frame["holder_id"].isin(known)
    malformed = ~empty["month"] & ~frame["month"].str.match(MONTH_PATTERN)
    rules = [
        ("holder_id", unknown, "{!r} is not in holders", "use a holder_id of the holders table"),
        ("month", malformed, "{!r} is not YYYY-MM", "write the month as YYYY-MM, e.g. 2026-01"),
    ]
    for column in YTD_COLUMNS:
        rules.append((column, empty[column], "required value is empty", f"fill in {column}"))
    for column, bad, message, hint in rules:
        positions = np.flatnonzero(bad.to_numpy())
        for position in positions[:MAX_ROWS_LISTED]:
            value = frame[column].iloc[position]
            log.error(
                "ytd",
                message.format(value),
                hint,
                row=int(position) + 1,
                column=column,
                key=frame["unit_id"].iloc[position],
            )
        if len(positions) > MAX_ROWS_LISTED:
            log.error(
                "ytd",
                f"{len(positions) - MAX_ROWS_LISTED} more rows like these",
                hint,
                column=column,
            )
    log.raise_if_errors("year-to-date orientations")
    return frame


def batch_targets(
    instance: Instance,
    month: str | None,
    ytd: pd.DataFrame | None = None,
    method: str | None = None,
    horizon_years: float = 1.0,
    unit_ids: list[str] | None = None,
    conversion: pd.DataFrame | None = None,
) -> FluxTargets:
    """Targets of the batch of ``month`` given the orientations earlier in the year.

    Parameters
    ----------
    instance
        The instance; the batch is its units available in ``month`` (``units.month``), or
        all its units when ``month`` is ``None``.
    month
        The batch month, ``YYYY-MM``.
    ytd
        Flux units oriented earlier in the year (columns :data:`YTD_COLUMNS`), or ``None``.
        Rows for units of the batch itself are ignored, so re-running a batch counts them once.
    method
        Conversion method applied to every convention (default: each convention's own).
    horizon_years
        Horizon over which one-off rights are drawn down (method ``unique_rights``).
    unit_ids
        The batch's units, when given explicitly (``month`` then only names the batch).
    conversion
        A table already returned by :func:`~fluxopt.flux.conversion.convert` for the same
        method and horizon (``method`` and ``horizon_years`` are then not used again).

    Returns
    -------
    FluxTargets
        See the module docstring for the rules.
    """
    if month is not None and not MONTH_PATTERN.match(month):
        raise FluxoptError(f"month {month!r} is not written YYYY-MM")
    table = (
        convert(instance, method, horizon_years=horizon_years) if conversion is None else conversion
    )
    landlord = landlord_ids(instance.holders)[0]
    units = instance.units
    if unit_ids is not None:
        unknown = sorted(set(unit_ids) - set(units["unit_id"].astype(str)))
        if unknown:
            raise FluxoptError(f"units not in the instance: {', '.join(unknown[:10])}")
        batch = units[units["unit_id"].isin(set(unit_ids))]
    elif month is not None:
        batch = units[units["month"] == month]
    else:
        batch = units
    done = check_ytd(ytd, instance)
    done = done[~done["unit_id"].isin(set(batch["unit_id"].astype(str)))]
    flux = batch[batch["in_flux"]]
    places = pd.concat(
        [
            done[["unit_id", "commune", "epci", "segment", "holder_id"]].assign(is_ytd=True),
            flux[["unit_id", "commune", "epci", "segment"]].assign(holder_id="", is_ytd=False),
        ],
        ignore_index=True,
    ).astype({"commune": "str", "epci": "str", "segment": "str", "holder_id": "str"})
    pairs = covering_shares(places, table, instance.config.territory.department)
    positions = pairs["pos"].to_numpy()
    reserved = pd.DataFrame(
        {
            "holder_id": pairs["holder_id"].to_numpy(),
            "convention_id": pairs["convention_id"].to_numpy(),
            "segment": places["segment"].to_numpy()[positions],
            "is_ytd": places["is_ytd"].to_numpy()[positions],
            "share": pairs["share"].to_numpy(),
            "oriented": places["holder_id"].to_numpy()[positions] == pairs["holder_id"].to_numpy(),
        }
    )
    remainder = pd.DataFrame(
        {
            "holder_id": landlord,
            "convention_id": "",
            "segment": places["segment"].to_numpy(),
            "is_ytd": places["is_ytd"].to_numpy(),
            "share": landlord_shares(len(places), pairs),
            "oriented": places["holder_id"].to_numpy() == landlord,
        }
    )
    rows = pd.concat([reserved, remainder], ignore_index=True)
    rows = rows.assign(
        basis_ytd=rows["is_ytd"].astype("int64"),
        basis_batch=(~rows["is_ytd"]).astype("int64"),
        target_ytd=rows["share"].where(rows["is_ytd"], 0.0),
        target_cumulative=rows["share"],
        oriented_ytd=(rows["oriented"] & rows["is_ytd"]).astype("int64"),
    )
    measures = ["basis_ytd", "basis_batch", "target_ytd", "target_cumulative", "oriented_ytd"]
    segments = rows.groupby(["holder_id", "convention_id", "segment"], as_index=False)[
        measures
    ].sum()
    segments["need"] = segments["target_cumulative"] - segments["oriented_ytd"]
    holders = _holder_rows(instance, table, landlord, rows, measures)
    cover = coverage(instance, batch, conversion=table)
    return FluxTargets(
        holders=holders,
        segments=_order(segments, holders)[SEGMENT_COLUMNS],
        coverage=cover,
        landlord_id=landlord,
        month=month,
        method=method,
    )


def _holder_rows(
    instance: Instance,
    table: pd.DataFrame,
    landlord: str,
    rows: pd.DataFrame,
    measures: list[str],
) -> pd.DataFrame:
    totals = rows.groupby(["holder_id", "convention_id"])[measures].sum()
    department = instance.config.territory.department
    whole = table["perimeter_kind"] == "department"
    columns = [
        "holder_id",
        "convention_id",
        "perimeter_kind",
        "perimeter_id",
        "method",
        "share",
        "tolerance",
    ]
    remainder = pd.DataFrame(
        {
            "holder_id": [landlord],
            "convention_id": [""],
            "perimeter_kind": ["department"],
            "perimeter_id": [department],
            "method": ["remainder"],
            "share": [max(1.0 - float(table.loc[whole, "share"].sum()), 0.0)],
            "tolerance": [float(schema()["conventions"].columns["tolerance"].default)],
        }
    )
    listed = pd.concat([table[columns], remainder], ignore_index=True)
    keys = pd.MultiIndex.from_frame(listed[["holder_id", "convention_id"]])
    for name in measures:
        listed[name] = totals[name].reindex(keys).fillna(0).to_numpy()
    basis = listed["basis_ytd"] + listed["basis_batch"]
    is_landlord = listed["convention_id"] == ""
    average = listed["target_cumulative"] / basis.where(basis > 0)
    listed["share"] = listed["share"].where(~is_landlord | average.isna(), average)
    listed["need"] = listed["target_cumulative"] - listed["oriented_ytd"]
    integer = ["basis_ytd", "basis_batch", "oriented_ytd"]
    return listed.astype(dict.fromkeys(integer, "int64"))[HOLDER_COLUMNS]


def _order(segments: pd.DataFrame, holders: pd.DataFrame) -> pd.DataFrame:
    """Segments in the holders' order, then by segment."""
    rank = {
        key: i
        for i, key in enumerate(zip(holders["holder_id"], holders["convention_id"], strict=True))
    }
    order = [
        rank.get(key, len(rank))
        for key in zip(segments["holder_id"], segments["convention_id"], strict=True)
    ]
    ordered = segments.assign(_rank=order).sort_values(["_rank", "segment"], kind="stable")
    return (
        ordered.drop(columns="_rank")
        .reset_index(drop=True)
        .astype({"basis_ytd": "int64", "basis_batch": "int64", "oriented_ytd": "int64"})
    )


def trajectory(
    instance: Instance,
    method: str | None = None,
    year: int | None = None,
    horizon_years: float = 1.0,
) -> pd.DataFrame:
    r"""Cumulative target of every holder at the end of each month of the year.

    With :math:`V_c` the integer annual volume (:func:`~fluxopt.flux.volumes.annual_volumes`)
    and :math:`\pi_k` the expected fraction of the yearly basis in calendar month *k*, the
    target at the end of month *m* is :math:`V_c \sum_{k \le m} \pi_k`; it is
    non-decreasing and reaches :math:`V_c` in December.

    Returns
    -------
    pandas.DataFrame
        One row per (holder row of the annual volumes, month): ``holder_id``,
        ``convention_id``, ``month`` (``YYYY-MM``), ``share``, ``annual_volume``,
        ``basis_cumulative`` (:math:`B_P \sum_{k \le m} \pi_k`) and ``target_cumulative``.
    """
    year = instance.config.year if year is None else year
    volumes = annual_volumes(instance, method, year, horizon_years)
    profile = seasonal_profile(instance, year).cumsum().clip(upper=1.0).to_numpy().copy()
    profile[-1] = 1.0
    months = [f"{year}-{month:02d}" for month in range(1, 13)]
    count = len(volumes)
    repeat = np.repeat(np.arange(count), len(months))
    fraction = np.tile(profile, count)
    return pd.DataFrame(
        {
            "holder_id": volumes["holder_id"].to_numpy()[repeat],
            "convention_id": volumes["convention_id"].to_numpy()[repeat],
            "month": np.tile(months, count),
            "share": volumes["share"].to_numpy()[repeat],
            "annual_volume": volumes["annual_volume"].to_numpy()[repeat],
            "basis_cumulative": volumes["basis_units"].to_numpy()[repeat] * fraction,
            "target_cumulative": volumes["annual_volume"].to_numpy()[repeat] * fraction,
        }
    ).astype({"holder_id": "str", "convention_id": "str", "month": "str"})
