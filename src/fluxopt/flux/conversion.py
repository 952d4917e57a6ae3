"""Stock-to-flux conversion: the share of the flux basis each convention grants.

Before the ELAN reform a holder (réservataire) had rights on identified dwellings (gestion
en stock); since décret 2020-145 it has rights on a share of the yearly flow of vacated
dwellings (gestion en flux). Practitioners compare four ways of converting the old rights
into a share; each is one small function below, with its formula and an example, and
:func:`conversion_table` evaluates all four for every convention.

Notation, for a convention *c* of holder *h* on perimeter *P*: :math:`R_c` its reserved
units (``reserved_units``, from the état des lieux des réservations), :math:`U_c` its
one-off rights (``unique_rights``, droits uniques), :math:`S_P` the landlord's stock in *P*
(sum of ``residences.stock_units``), :math:`F_P` the forecast yearly flux basis of *P*
(:func:`fluxopt.flux.basis.forecast_basis`), :math:`y` the years of history observed.

Which method applies: a per-call ``method`` applies to every convention; without one,
each convention uses its own ``method`` column. :func:`convert` returns the chosen
``share`` of every convention and checks that the shares covering any place sum to at
most 1 (the landlord's implicit share is the rest).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from fluxopt.flux.basis import forecast_basis, vacancy_record
from fluxopt.flux.perimeter import check_holders, perimeter_pairs, places_of
from fluxopt.instance import Instance
from fluxopt.schema.problems import FluxoptError, ProblemLog

METHODS: Final = ("stock_share", "turnover_weighted", "unique_rights", "negotiated")
"""The four conversion methods, in the order reports show them."""

STOCK_METHODS: Final = frozenset({"stock_share", "turnover_weighted", "unique_rights"})
"""Methods that need the landlord's stock of the perimeter."""

SHARE_TOLERANCE = 1e-9


def stock_share(reserved_units: ArrayLike, perimeter_stock: ArrayLike) -> np.ndarray:
    """Initial share of reserved units: :math:`s_c = R_c / S_P`.

    The holder keeps, as a share of the flux, the share of the perimeter's stock it had
    reserved. A convention without reserved units gets 0 whatever the stock.

    Example: 30 units reserved out of a stock of 200 give :math:`s = 30 / 200 = 0.15`.
    """
    reserved = np.asarray(reserved_units, dtype="float64")
    stock = np.asarray(perimeter_stock, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(stock > 0, reserved / stock, 0.0)
    return np.where(reserved > 0, shares, 0.0)


def turnover_weighted(
    stock_shares: ArrayLike, turnover_ratio: ArrayLike, perimeter: ArrayLike
) -> np.ndarray:
    r"""Stock share weighted by the contingent's observed turnover, total kept.

    With :math:`t_c` the turnover of the contingent and :math:`\bar t_P` the mean turnover
    of the perimeter's contingents, the weighted share is :math:`w_c = s_c\, t_c / \bar t_P`,
    then renormalised so that the reserved total of the perimeter is unchanged:

    .. math::

        s'_c = w_c \, \frac{\sum_{k \in P} s_k}{\sum_{k \in P} w_k}
             = \Big(\sum_{k \in P} s_k\Big) \frac{s_c t_c}{\sum_{k \in P} s_k t_k}

    ``turnover_ratio`` is :math:`t_c / \bar t_P` (see :func:`contingent_turnover` for how
    it is observed and its fallbacks). A perimeter whose weights are all 0 keeps its stock
    shares. When every ratio is equal the result is the stock share.

    Example: two holders with stock shares 0.20 and 0.10 and turnovers 6 % and 12 % (mean
    8 %): :math:`w = (0.15, 0.15)`, total 0.30 kept, so :math:`s' = (0.15, 0.15)`.
    """
    shares = np.asarray(stock_shares, dtype="float64")
    weights = shares * np.asarray(turnover_ratio, dtype="float64")
    groups = pd.Series(np.asarray(perimeter))
    reserved_total = pd.Series(shares).groupby(groups).transform("sum").to_numpy()
    weight_total = pd.Series(weights).groupby(groups).transform("sum").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        rescaled = weights * reserved_total / weight_total
    return np.where(weight_total > 0, rescaled, shares)


def unique_rights(
    stock_shares: ArrayLike,
    rights: ArrayLike,
    basis: ArrayLike,
    horizon_years: float = 1.0,
) -> np.ndarray:
    r"""One-off rights converted into a yearly volume, on top of the stock share.

    The holder's remaining one-off attribution rights (droits uniques) :math:`U_c` are
    drawn down evenly over a horizon of :math:`H` years; that yearly volume is added to the
    stock share, as a share of the perimeter's forecast basis :math:`F_P`:

    .. math::

        s_c = \frac{R_c}{S_P} + \frac{U_c}{H \, F_P}

    Added on top, not instead: ``reserved_units`` counts the lasting reservations, which
    still convert to a share, while each one-off right is spent once; after the horizon the
    holder is back to its stock share. A perimeter without forecast basis
    (:math:`F_P = 0`) cannot absorb a volume and keeps the stock share.

    Example: stock share 0.10, 12 one-off rights over a 2-year horizon, :math:`F_P = 120`:
    :math:`s = 0.10 + 12 / (2 \times 120) = 0.15`.
    """
    if horizon_years <= 0:
        raise FluxoptError(
            f"the horizon of the one-off rights must be positive, not {horizon_years}"
        )
    shares = np.asarray(stock_shares, dtype="float64")
    volume = np.asarray(rights, dtype="float64") / horizon_years
    forecast = np.asarray(basis, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        extra = np.where(forecast > 0, volume / forecast, 0.0)
    return shares + extra


def negotiated(share: ArrayLike, annual_volume: ArrayLike, basis: ArrayLike) -> np.ndarray:
    """The share written in the convention: :math:`s_c` = ``share``.

    A convention that gives a yearly volume :math:`V_c` (``annual_volume``) instead has the
    effective share :math:`V_c / F_P` of its perimeter's forecast basis (0 when
    :math:`F_P = 0`: nothing is expected there).

    Example: a convention for 18 units a year on a perimeter expecting 120 flux units has
    the effective share :math:`18 / 120 = 0.15`.
    """
    given = np.asarray(share, dtype="float64")
    volume = np.asarray(annual_volume, dtype="float64")
    forecast = np.asarray(basis, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        effective = np.where(forecast > 0, volume / forecast, 0.0)
    return np.where(np.isnan(given), np.nan_to_num(effective), given)


def contingent_turnover(instance: Instance, year: int | None = None) -> pd.DataFrame:
    r"""Observed turnover of each convention's contingent, and its ratio to the perimeter mean.

    For convention *c* of holder *h* on perimeter *P*, with :math:`n_c` the history
    vacancies whose ``contingent`` is *h* and whose place is in *P* (window of
    :func:`fluxopt.flux.basis.vacancy_record`, :math:`y` years):

    .. math::

        t_c = \frac{n_c / y}{R_c}, \qquad
        \bar t_P = \frac{\sum_{k \in P} n_k / y}{\sum_{k \in P} R_k}

    (the pooled mean over the conventions of *P* with reserved units). Fallbacks when the
    history is missing: a contingent with no recorded vacancy is treated as unobserved and
    takes :math:`t_c = \bar t_P` (it would otherwise lose its whole flux on an empty
    record); when the perimeter has no recorded vacancy at all (or no history), every
    ratio is 1 and ``turnover_weighted`` equals ``stock_share``.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``instance.conventions``: ``vacancies_per_year`` (:math:`n_c / y`),
        ``turnover`` (:math:`t_c`, after fallback; empty without reserved units),
        ``mean_turnover`` (:math:`\bar t_P`) and ``turnover_ratio``
        (:math:`t_c / \bar t_P`, 1 when unknown).
    """
    conventions = instance.conventions
    record = vacancy_record(instance, year)
    events = record.events
    department = instance.config.territory.department
    pairs = perimeter_pairs(events, conventions, department)
    if not pairs.empty:
        contingent = events["contingent"].astype(str).to_numpy()[pairs["pos"].to_numpy()]
        pairs = pairs[contingent == pairs["holder_id"].to_numpy()]
    observed = pairs.groupby("convention_id").size()
    count = conventions["convention_id"].astype(str).map(observed).fillna(0).to_numpy()
    per_year = count / max(record.years, 1)
    reserved = conventions["reserved_units"].astype("float64").to_numpy()
    perimeter = (conventions["perimeter_kind"] + ":" + conventions["perimeter_id"]).to_numpy()
    counted = np.where(reserved > 0, per_year, 0.0)
    pooled_vacancies = pd.Series(counted).groupby(perimeter).transform("sum").to_numpy()
    pooled_reserved = pd.Series(reserved).groupby(perimeter).transform("sum").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(pooled_reserved > 0, pooled_vacancies / pooled_reserved, np.nan)
        own = np.where(reserved > 0, per_year / reserved, np.nan)
    turnover = np.where(count > 0, own, mean)
    turnover = np.where(reserved > 0, turnover, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(mean > 0, turnover / mean, 1.0)
    return pd.DataFrame(
        {
            "vacancies_per_year": per_year,
            "turnover": turnover,
            "mean_turnover": mean,
            "turnover_ratio": np.nan_to_num(ratio, nan=1.0),
        },
        index=conventions.index,
    )


def conversion_table(
    instance: Instance, year: int | None = None, horizon_years: float = 1.0
) -> pd.DataFrame:
    """Every convention with the inputs of the four methods and the share each gives.

    Columns: ``convention_id``, ``holder_id``, ``perimeter_kind``, ``perimeter_id``,
    ``own_method``, ``tolerance``, ``reserved_units``, ``unique_rights``, ``given_share``,
    ``given_volume``, ``perimeter_stock`` (:math:`S_P`), the columns of
    :func:`contingent_turnover`, ``basis`` (:math:`F_P`), ``basis_units`` (:math:`B_P`),
    ``department_basis`` and ``department_basis_units`` (:math:`F` and :math:`B` of the
    whole department) and one ``share_<method>`` column per method of :data:`METHODS`.
    """
    conventions = instance.conventions.reset_index(drop=True)
    department = instance.config.territory.department
    residences = instance.residences
    pairs = perimeter_pairs(residences, conventions, department)
    stock_of_place = residences["stock_units"].to_numpy()[pairs["pos"].to_numpy()]
    stock = pd.Series(stock_of_place, dtype="int64").groupby(pairs["convention_id"]).sum()
    forecast = forecast_basis(instance, year).set_index(["perimeter_kind", "perimeter_id"])
    keys = pd.MultiIndex.from_arrays([conventions["perimeter_kind"], conventions["perimeter_id"]])
    table = pd.DataFrame(
        {
            "convention_id": conventions["convention_id"].astype(str),
            "holder_id": conventions["holder_id"].astype(str),
            "perimeter_kind": conventions["perimeter_kind"].astype(str),
            "perimeter_id": conventions["perimeter_id"].astype(str),
            "own_method": conventions["method"].astype(str),
            "tolerance": conventions["tolerance"].astype("float64"),
            "reserved_units": conventions["reserved_units"].astype("int64"),
            "unique_rights": conventions["unique_rights"].astype("int64"),
            "given_share": conventions["share"].astype("float64"),
            "given_volume": conventions["annual_volume"].astype("Int64"),
            "perimeter_stock": conventions["convention_id"].map(stock).fillna(0).astype("int64"),
        }
    )
    table = pd.concat([table, contingent_turnover(instance, year)], axis=1)
    is_whole = np.asarray(forecast.index.get_level_values(0) == "department")
    table["department_basis"] = float(forecast["basis"].to_numpy()[is_whole][0])
    table["department_basis_units"] = int(forecast["basis_units"].to_numpy()[is_whole][0])
    table["basis"] = forecast["basis"].reindex(keys).fillna(0.0).to_numpy()
    table["basis_units"] = (
        forecast["basis_units"].reindex(keys).fillna(0).astype("int64").to_numpy()
    )
    table["share_stock_share"] = stock_share(table["reserved_units"], table["perimeter_stock"])
    perimeter = (table["perimeter_kind"] + ":" + table["perimeter_id"]).to_numpy()
    table["share_turnover_weighted"] = turnover_weighted(
        table["share_stock_share"], table["turnover_ratio"], perimeter
    )
    table["share_unique_rights"] = unique_rights(
        table["share_stock_share"], table["unique_rights"], table["basis"], horizon_years
    )
    volume = table["given_volume"].astype("float64").to_numpy()
    table["share_negotiated"] = negotiated(table["given_share"], volume, table["basis"])
    return table


def check_method(method: str | None) -> None:
    """Raise :class:`FluxoptError` when ``method`` is not one of :data:`METHODS` (or None)."""
    if method is not None and method not in METHODS:
        raise FluxoptError(f"unknown conversion method {method!r}; use one of {', '.join(METHODS)}")


def convert(
    instance: Instance,
    method: str | None = None,
    year: int | None = None,
    horizon_years: float = 1.0,
    converted: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The share of every convention under ``method`` (default: each convention's own).

    Without ``method``, a convention signed under a stock-based method but with nothing to
    convert (no reserved units, nor one-off rights for ``unique_rights``) keeps the share or
    volume written in it, and its applied method reads ``negotiated``; an explicit
    ``method`` applies to every convention as it stands (what-if).

    Adds to :func:`conversion_table` the columns ``method`` (the method applied), ``share``
    (the share of the perimeter's flux basis), ``fixed_volume`` (the yearly volume of a
    negotiated convention that gives one, else empty) and ``capped`` (that volume exceeds
    what the forecast leaves, see :func:`_check_place_shares`). Raises
    :class:`~fluxopt.schema.problems.InvalidInputError` listing every problem of the
    holders, the conventions' perimeters and stocks, and every commune whose covering
    shares sum over 1; :class:`FluxoptError` for an unknown method.

    ``converted``, a table this function returned for the same instance, year and horizon,
    saves recomputing the inputs when only the method changes (as in a comparison).
    """
    check_method(method)
    if horizon_years <= 0:
        raise FluxoptError(
            f"the horizon of the one-off rights must be positive, not {horizon_years}"
        )
    log = ProblemLog()
    if converted is None:
        _check_inputs(log, instance)
        log.raise_if_errors(f"flux conventions of instance {instance.name}")
        table = conversion_table(instance, year, horizon_years)
    else:
        table = converted.copy()
    if method:
        chosen = np.full(len(table), method, dtype=object)
    else:
        chosen = table["own_method"].to_numpy(dtype=object).copy()
        chosen[_nothing_to_convert(table, chosen)] = "negotiated"
    table["method"] = pd.Series(chosen, index=table.index, dtype="str")
    share = np.zeros(len(table))
    for name in METHODS:
        share = np.where(chosen == name, table[f"share_{name}"].to_numpy(), share)
    table["share"] = share
    fixed = (table["method"] == "negotiated") & table["given_share"].isna()
    table["fixed_volume"] = table["given_volume"].where(fixed, pd.NA).astype("Int64")
    _check_stock(log, table)
    _check_place_shares(log, instance, table, method)
    log.raise_if_errors(f"flux conventions of instance {instance.name}")
    return table


def _nothing_to_convert(table: pd.DataFrame, chosen: np.ndarray) -> np.ndarray:
    """Conventions whose own stock-based method has no input: they keep their written terms."""
    no_reserved = table["reserved_units"].to_numpy() == 0
    no_rights = table["unique_rights"].to_numpy() == 0
    stock_based = np.isin(chosen, ["stock_share", "turnover_weighted"])
    return (stock_based & no_reserved) | ((chosen == "unique_rights") & no_reserved & no_rights)


def _check_inputs(log: ProblemLog, instance: Instance) -> None:
    units, residences = instance.units, instance.residences
    places = places_of(units, residences)
    department = instance.config.territory.department
    check_holders(log, instance.holders, instance.conventions, units, places, department)
    for table, column in (
        ("residences", "stock_units"),
        ("conventions", "reserved_units"),
        ("conventions", "unique_rights"),
    ):
        frame = instance.tables[table]
        for position in map(int, (frame[column] < 0).to_numpy().nonzero()[0]):
            log.error(
                table,
                f"{column} is negative ({frame[column].iloc[position]})",
                f"{column} counts dwellings and must be ≥ 0",
                row=position + 1,
                column=column,
                key=str(frame.iloc[position, 0]),
            )


def _check_stock(log: ProblemLog, table: pd.DataFrame) -> None:
    """Reserved units to convert by a stock-based method need stock in their perimeter."""
    needs_stock = table["method"].isin(STOCK_METHODS) & (table["reserved_units"] > 0)
    for row in table[needs_stock & (table["perimeter_stock"] == 0)].to_dict("records"):
        log.error(
            "residences",
            f"{row['perimeter_kind']} {row['perimeter_id']} has no stock, so the "
            f"{row['reserved_units']} reserved units of convention {row['convention_id']} "
            f"cannot be converted by {row['method']}",
            "give stock_units for the residences of the perimeter",
            column="stock_units",
            key=f"{row['perimeter_kind']} {row['perimeter_id']}",
        )


def _check_place_shares(
    log: ProblemLog, instance: Instance, table: pd.DataFrame, method: str | None
) -> None:
    """Shares covering a place sum to at most 1; yearly volumes are capped to fit.

    The written or converted shares of the conventions covering any place (commune) must
    sum to at most 1: each commune that exceeds is reported. A yearly volume is a promise
    against a forecast, so its effective share :math:`V_c / F_P` is not an error when the
    forecast is short: it is scaled down to the room the shares leave on every place of
    its perimeter (``capped`` is then true and the volume is treated as that share).
    """
    table["capped"] = False
    places = places_of(instance.units, instance.residences)
    pairs = perimeter_pairs(places, table, instance.config.territory.department)
    if pairs.empty:
        return
    info = table.set_index("convention_id")
    pairs = pairs.assign(
        share=pairs["convention_id"].map(info["share"]).to_numpy(),
        fixed=pairs["convention_id"].map(info["fixed_volume"].notna()).to_numpy(dtype=bool),
    )
    count = len(places)
    position = pairs["pos"].to_numpy()
    written = np.bincount(
        position, weights=np.where(pairs["fixed"], 0.0, pairs["share"]), minlength=count
    )
    volumes = np.bincount(
        position, weights=np.where(pairs["fixed"], pairs["share"], 0.0), minlength=count
    )
    applied = f"method {method}" if method else "each convention's own method"
    communes = places["commune"].to_numpy()
    epcis = places["epci"].to_numpy()
    for pos in np.flatnonzero(written > 1.0 + SHARE_TOLERANCE):
        parts = pairs[(position == pos) & ~pairs["fixed"].to_numpy()]
        detail = ", ".join(
            f"{cid} ({hid}) {share:.3f}"
            for cid, hid, share in parts[["convention_id", "holder_id", "share"]].to_numpy()
        )
        log.error(
            "conventions",
            f"the shares covering commune {communes[pos]} (EPCI {epcis[pos]}) sum to "
            f"{written[pos]:.3f} under {applied}, over 100 %: {detail}",
            "lower the shares, reserved units or one-off rights so that they sum to at most 1 "
            "on every commune",
            column="share",
            key=f"commune {communes[pos]}",
        )
    room = np.clip(1.0 - written, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fits = np.where(volumes > room + SHARE_TOLERANCE, room / volumes, 1.0)
    scoped = pairs[pairs["fixed"]]
    factor = (
        pd.Series(fits[scoped["pos"].to_numpy()]).groupby(scoped["convention_id"].to_numpy()).min()
    )
    scale = table["convention_id"].map(factor).fillna(1.0).to_numpy()
    table["share"] = table["share"].to_numpy() * scale
    table["capped"] = scale < 1.0
