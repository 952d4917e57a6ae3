r"""The flux basis (assiette): vacated units minus the units withdrawn from the flux.

Realised basis
    A unit is in the basis when ``flux_status == "flux"``. Units kept for internal
    transfers (``excluded:mutation``), urban-renewal relocations (``excluded:renewal``),
    defence and security (``excluded:defense``) and reservations still managed in stock
    (``stock:<holder_id>``) are vacated but withdrawn from the flux.
    :func:`flux_basis` counts them by any grouping of the units' columns.

Forecast basis
    For a year ahead, :func:`forecast_basis` estimates each perimeter's yearly basis from
    the landlord's stock and the turnover observed in ``history`` (design §5). For an EPCI
    *e* with stock :math:`S_e` (sum of ``residences.stock_units``), observed yearly
    vacancies :math:`V_e` and excluded fraction :math:`x_e`:

    .. math::

        \tau_e = V_e / S_e, \qquad F_e = S_e \, \tau_e \, (1 - x_e) = V_e (1 - x_e)

    A commune *c* of *e* gets :math:`F_c = w_c F_e` with :math:`w_c = S_c / S_e` (its part
    of the stock); the department gets :math:`F = \sum_e F_e`. The integer yearly basis is
    :math:`B = \lfloor F + 1/2 \rfloor`.

Observation window and fallbacks
    :math:`V_e` counts the ``vacancy`` events of ``history`` in *e* dated before 1 January
    of the year, divided by the number of distinct calendar years those events span (the
    history is expected to cover whole years). When the window holds no vacancy of *e*
    (no history at all, or none for that EPCI), :math:`V_e` is the instance's own
    vacancies in *e* annualised: ``units × 12 / months`` (``source = "instance"``).
    :math:`x_e` is the share of the instance's units of *e* that are not in the flux (the
    history does not record exclusions), or the instance-wide share when *e* has no unit.
    When some commune of *e* has no declared stock, the weights :math:`w_c` follow the
    instance's units of each commune instead, and are equal when *e* has no unit either.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fluxopt.instance import Instance
from fluxopt.schema.problems import FluxoptError

FLUX = "flux"
"""``units.flux_status`` of a unit in the flux basis."""

MONTHS_PER_YEAR = 12


def status_kind(flux_status: pd.Series) -> pd.Series:
    """Kind of each status: ``flux``, ``excluded`` (kept by the landlord) or ``stock``."""
    text = flux_status.astype(str)
    kind = np.where(text == FLUX, "flux", np.where(text.str.startswith("stock:"), "stock", ""))
    kind = np.where(text.str.startswith("excluded:"), "excluded", kind)
    return pd.Series(kind, index=flux_status.index, dtype="str")


def round_half_up(values: np.ndarray | pd.Series | float) -> np.ndarray:
    """Round to the nearest integer, halves up, ignoring float noise below 1e-9."""
    return np.floor(np.round(np.asarray(values, dtype="float64"), 9) + 0.5).astype("int64")


def flux_basis(
    instance: Instance, months: Iterable[str] | None = None, by: Sequence[str] = ("month",)
) -> pd.DataFrame:
    """Count the vacated units and the flux basis, grouped by columns of the units.

    Parameters
    ----------
    instance
        The instance whose ``units`` are counted.
    months
        Months (``YYYY-MM``) to keep; ``None`` keeps every unit.
    by
        Columns of :attr:`Instance.units` to group by (``month``, ``epci``, ``commune``,
        ``segment``, ``room_group``, ``qpv``, ``financing``, ...); empty for one total row.

    Returns
    -------
    pandas.DataFrame
        The ``by`` columns, then ``vacated`` (all units), ``excluded`` (``excluded:*``),
        ``stock`` (``stock:*``) and ``basis`` (``flux``), with
        ``basis = vacated - excluded - stock``.
    """
    units = instance.units
    unknown = [column for column in by if column not in units.columns]
    if unknown:
        raise FluxoptError(f"cannot group the flux basis by unknown unit column(s) {unknown}")
    if months is not None:
        units = units[units["month"].isin(list(months))]
    kind = status_kind(units["flux_status"])
    counts = units[list(by)].assign(
        vacated=1,
        excluded=(kind == "excluded").astype("int64"),
        stock=(kind == "stock").astype("int64"),
        basis=(kind == "flux").astype("int64"),
    )
    measures = ["vacated", "excluded", "stock", "basis"]
    if not by:
        return pd.DataFrame([counts[measures].sum().astype("int64")], columns=measures)
    grouped = counts.groupby(list(by), as_index=False, sort=True)[measures].sum()
    return grouped.reset_index(drop=True)


@dataclass(frozen=True)
class VacancyRecord:
    """The vacancies of ``history`` observed before a year, and how many years they span."""

    events: pd.DataFrame
    years: int

    @property
    def empty(self) -> bool:
        """Whether nothing was observed."""
        return self.events.empty or self.years == 0


def vacancy_record(instance: Instance, year: int | None = None) -> VacancyRecord:
    """Vacancy events of ``history`` dated before 1 January of ``year`` (default: the instance's).

    ``years`` is the number of distinct calendar years of those events (0 when none).
    """
    year = instance.config.year if year is None else year
    history = instance.history
    if history.empty:
        return VacancyRecord(history.iloc[0:0], 0)
    dates = pd.to_datetime(history["date"])
    window = history[(history["event"] == "vacancy") & (dates.dt.year < year)]
    years = int(pd.to_datetime(window["date"]).dt.year.nunique())
    return VacancyRecord(window.reset_index(drop=True), years)


def months_covered(instance: Instance) -> int:
    """Months of vacancies the instance holds: its declared months, else its units' months."""
    if instance.config.months:
        return len(instance.config.months)
    return max(int(instance.units["month"].nunique()), 1)


def forecast_basis(instance: Instance, year: int | None = None) -> pd.DataFrame:
    r"""Forecast the yearly flux basis of every perimeter from stock and observed turnover.

    See the module docstring for the formula and its fallbacks.

    Returns
    -------
    pandas.DataFrame
        One row per perimeter (the department, each EPCI, each commune of the residences
        and units): ``perimeter_kind``, ``perimeter_id``, ``stock`` (:math:`S`),
        ``vacancies_per_year`` (:math:`V`), ``turnover`` (:math:`\tau = V / S`, empty when
        there is no stock), ``excluded_fraction`` (:math:`x`), ``basis`` (:math:`F`, float),
        ``basis_units`` (:math:`B`, integer) and ``source`` (``history``, ``instance`` or
        ``none``: where :math:`V` comes from).
    """
    year = instance.config.year if year is None else year
    units, residences = instance.units, instance.residences
    epcis = sorted(set(residences["epci"].astype(str)) | set(units["epci"].astype(str)))
    stock = residences.groupby(residences["epci"].astype(str))["stock_units"].sum()
    unit_count = units.groupby(units["epci"].astype(str)).size()
    flux_count = units.groupby(units["epci"].astype(str))["in_flux"].sum()
    record = vacancy_record(instance, year)
    observed = record.events.groupby(record.events["epci"].astype(str)).size()
    by_epci = pd.DataFrame(
        {
            "stock": stock.reindex(epcis, fill_value=0).astype("int64"),
            "units": unit_count.reindex(epcis, fill_value=0).astype("int64"),
            "flux": flux_count.reindex(epcis, fill_value=0).astype("int64"),
            "observed": observed.reindex(epcis, fill_value=0).astype("int64"),
        },
        index=pd.Index(epcis, name="perimeter_id"),
    )
    from_history = by_epci["observed"] / max(record.years, 1)
    annualised = by_epci["units"] * MONTHS_PER_YEAR / months_covered(instance)
    use_history = by_epci["observed"] > 0
    by_epci["vacancies_per_year"] = from_history.where(use_history, annualised)
    by_epci["source"] = np.where(
        use_history, "history", np.where(by_epci["units"] > 0, "instance", "none")
    )
    overall = 1.0 - units["in_flux"].mean() if len(units) else 0.0
    excluded = 1.0 - by_epci["flux"] / by_epci["units"].where(by_epci["units"] > 0)
    by_epci["excluded_fraction"] = excluded.fillna(overall)
    by_epci["basis"] = by_epci["vacancies_per_year"] * (1.0 - by_epci["excluded_fraction"])
    epci_rows = by_epci.reset_index().assign(perimeter_kind="epci")

    communes = _commune_rows(instance, by_epci)
    department = pd.DataFrame(
        {
            "perimeter_kind": ["department"],
            "perimeter_id": [instance.config.territory.department],
            "stock": [int(by_epci["stock"].sum())],
            "vacancies_per_year": [float(by_epci["vacancies_per_year"].sum())],
            "basis": [float(by_epci["basis"].sum())],
            "source": [_joint_source(by_epci["source"])],
        }
    )
    vacancies = department["vacancies_per_year"]
    department["excluded_fraction"] = 1.0 - department["basis"] / vacancies.where(vacancies > 0)
    department["excluded_fraction"] = department["excluded_fraction"].fillna(overall)
    out = pd.concat([department, epci_rows, communes], ignore_index=True)
    out["turnover"] = out["vacancies_per_year"] / out["stock"].where(out["stock"] > 0)
    out["basis_units"] = round_half_up(out["basis"])
    columns = [
        "perimeter_kind",
        "perimeter_id",
        "stock",
        "vacancies_per_year",
        "turnover",
        "excluded_fraction",
        "basis",
        "basis_units",
        "source",
    ]
    return out[columns].astype({"stock": "int64", "perimeter_id": "str", "source": "str"})


def _commune_rows(instance: Instance, by_epci: pd.DataFrame) -> pd.DataFrame:
    """Commune perimeters: their EPCI's forecast split by stock (or by units, or evenly)."""
    units, residences = instance.units, instance.residences
    places = pd.concat(
        [residences[["commune", "epci"]], units[["commune", "epci"]]], ignore_index=True
    ).astype(str)
    places = places.drop_duplicates("commune").sort_values("commune", ignore_index=True)
    stock = residences.groupby(residences["commune"].astype(str))["stock_units"].sum()
    count = units.groupby(units["commune"].astype(str)).size()
    places["stock"] = places["commune"].map(stock).fillna(0).astype("int64")
    places["units"] = places["commune"].map(count).fillna(0).astype("int64")
    per_epci = places.groupby("epci")
    all_stocked = per_epci["stock"].transform("min") > 0
    by_stock = places["stock"] / per_epci["stock"].transform("sum").where(all_stocked)
    by_units = places["units"] / per_epci["units"].transform("sum").where(lambda s: s > 0)
    evenly = 1.0 / per_epci["commune"].transform("size")
    weight = by_stock.fillna(by_units).fillna(evenly)
    epci = by_epci.reindex(places["epci"])
    return pd.DataFrame(
        {
            "perimeter_kind": "commune",
            "perimeter_id": places["commune"].to_numpy(),
            "stock": places["stock"].to_numpy(),
            "vacancies_per_year": weight.to_numpy() * epci["vacancies_per_year"].to_numpy(),
            "excluded_fraction": epci["excluded_fraction"].to_numpy(),
            "basis": weight.to_numpy() * epci["basis"].to_numpy(),
            "source": epci["source"].to_numpy(),
        }
    )


def _joint_source(sources: pd.Series) -> str:
    kinds = sorted(set(sources) - {"none"})
    return "+".join(kinds) if kinds else "none"


def seasonal_profile(instance: Instance, year: int | None = None) -> pd.Series:
    """Fraction of the yearly basis expected in each calendar month (1..12), summing to 1.

    The fraction of month *k* is the share of the observed history vacancies (the window of
    :func:`vacancy_record`) that fell in calendar month *k*; it is :math:`1/12` for every
    month when the history holds no vacancy.
    """
    record = vacancy_record(instance, year)
    months = pd.RangeIndex(1, MONTHS_PER_YEAR + 1, name="month")
    if record.empty:
        return pd.Series(1.0 / MONTHS_PER_YEAR, index=months)
    observed = pd.to_datetime(record.events["date"]).dt.month.value_counts()
    counts = observed.reindex(months, fill_value=0).astype("float64")
    return counts / counts.sum()
