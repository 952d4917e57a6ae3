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
    residence_epci = residences["epci"].astype(str).to_numpy()
    unit_epci = units["epci"].astype(str).to_numpy()
    stock_units = residences["stock_units"].to_numpy(dtype="float64")
    in_flux = units["in_flux"].to_numpy(dtype=bool)
    epcis = np.unique(np.concatenate([residence_epci, unit_epci]))
    size = len(epcis)
    stock = np.bincount(np.searchsorted(epcis, residence_epci), stock_units, size)
    unit_count = np.bincount(np.searchsorted(epcis, unit_epci), minlength=size)
    flux_count = np.bincount(np.searchsorted(epcis, unit_epci), in_flux, size)
    record = vacancy_record(instance, year)
    event_epci = record.events["epci"].astype(str).to_numpy()
    event_epci = event_epci[np.isin(event_epci, epcis)]
    observed = np.bincount(np.searchsorted(epcis, event_epci), minlength=size)
    use_history = observed > 0
    vacancies = np.where(
        use_history,
        observed / max(record.years, 1),
        unit_count * MONTHS_PER_YEAR / months_covered(instance),
    )
    source = np.where(use_history, "history", np.where(unit_count > 0, "instance", "none"))
    overall = 1.0 - float(in_flux.mean()) if len(in_flux) else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        excluded = np.where(unit_count > 0, 1.0 - flux_count / unit_count, overall)
    basis = vacancies * (1.0 - excluded)
    whole_vacancies = float(vacancies.sum())
    whole_basis = float(basis.sum())
    whole_excluded = 1.0 - whole_basis / whole_vacancies if whole_vacancies > 0 else overall
    communes = _commune_rows(instance, epcis, stock, unit_count)
    epci_of = communes["epci_position"]
    kinds = ["department"] + ["epci"] * size + ["commune"] * len(communes["commune"])
    out = pd.DataFrame(
        {
            "perimeter_kind": kinds,
            "perimeter_id": [instance.config.territory.department, *epcis, *communes["commune"]],
            "stock": np.concatenate([[stock.sum()], stock, communes["stock"]]).astype("int64"),
            "vacancies_per_year": np.concatenate(
                [[whole_vacancies], vacancies, communes["weight"] * vacancies[epci_of]]
            ),
            "excluded_fraction": np.concatenate([[whole_excluded], excluded, excluded[epci_of]]),
            "basis": np.concatenate([[whole_basis], basis, communes["weight"] * basis[epci_of]]),
            "source": [_joint_source(source), *source, *source[epci_of]],
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        stocked = out["stock"].to_numpy() > 0
        turnover = np.where(stocked, out["vacancies_per_year"] / out["stock"], np.nan)
    out.insert(4, "turnover", turnover)
    out.insert(7, "basis_units", round_half_up(out["basis"]))
    return out.astype({"perimeter_id": "str", "source": "str"})


def _commune_rows(
    instance: Instance, epcis: np.ndarray, epci_stock: np.ndarray, epci_units: np.ndarray
) -> dict[str, np.ndarray]:
    """Commune perimeters: their EPCI (position), stock and weight within the EPCI.

    The weight is the commune's part of the EPCI's stock when every commune of the EPCI
    has stock, else its part of the EPCI's units in the instance, else an equal part.
    """
    units, residences = instance.units, instance.residences
    all_communes = np.concatenate(
        [residences["commune"].astype(str).to_numpy(), units["commune"].astype(str).to_numpy()]
    )
    all_epcis = np.concatenate(
        [residences["epci"].astype(str).to_numpy(), units["epci"].astype(str).to_numpy()]
    )
    communes, first = np.unique(all_communes, return_index=True)
    epci_position = np.searchsorted(epcis, all_epcis[first])
    size = len(communes)
    residence_commune = np.searchsorted(communes, residences["commune"].astype(str).to_numpy())
    unit_commune = np.searchsorted(communes, units["commune"].astype(str).to_numpy())
    stock = np.bincount(residence_commune, residences["stock_units"].to_numpy(float), size)
    count = np.bincount(unit_commune, minlength=size).astype("float64")
    least = np.full(len(epcis), np.inf)
    np.minimum.at(least, epci_position, stock)
    per_epci = np.bincount(epci_position, minlength=len(epcis)).astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(
            least[epci_position] > 0,
            stock / epci_stock[epci_position],
            np.where(
                epci_units[epci_position] > 0,
                count / epci_units[epci_position],
                1.0 / per_epci[epci_position],
            ),
        )
    return {"commune": communes, "epci_position": epci_position, "stock": stock, "weight": weight}


def _joint_source(sources: np.ndarray) -> str:
    kinds = sorted(set(sources.tolist()) - {"none"})
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
