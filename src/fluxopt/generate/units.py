"""Vacated dwellings (logements libérés) of a synthetic instance.

Calibration (``domain.md`` §6, RPLS 1 Jan 2024 unless stated):

- typology T1..T5+ = 7.4 / 20.2 / 37 / 27.8 / 7.5 % (T6 is 1 point of the 5+);
- 31 % in QPV (the ``demo`` preset: 40 %, Doubs has 41.7 % of its stock in QPV);
- financing PLAI 20 %, PLUS 70 %, PLS 8 %, PLI 2 % (⚠ plausible mix, not sourced); PLS and
  PLI are rare in QPV;
- rent 6.5 €/m² a month on average (mean 6.52 €/m²), lower for PLAI (× 0.88) and in QPV
  (× 0.90), higher for PLS (× 1.32), PLI (× 1.50) and new builds (× 1.12), with a lognormal
  spread of 8 %; the rates are rescaled so that their mean is exactly 6.5 €/m²;
- surface ≈ 30 / 47 / 65 / 80 / 95 / 110 m² for T1..T6 (± 8 %);
- recoverable charges 1.2-1.8 €/m² a month;
- about 4 % first lettings of new programmes, built in the instance's year;
- about 10 % adapted to reduced mobility, only on the ground floor or with an elevator;
- ``flux_status``: about 6 % kept for internal transfers (``excluded:mutation``), 3 % for
  urban-renewal relocations (``excluded:renewal``, only in QPV residences under renewal),
  0.5 % defence/security (``excluded:defense``), 1 % still reserved in stock to the
  defence holder when there is one (``stock:DEFENSE``); the rest (≈ 89 %) is in the flux.
"""

from __future__ import annotations

import calendar

import numpy as np
import pandas as pd

from fluxopt.generate.presets import Preset
from fluxopt.generate.sampling import exact_count, pick, shuffled_labels, stream
from fluxopt.generate.territory import draw_residences

ROOM_SHARES = (7.4, 20.2, 37.0, 27.8, 6.5, 1.0)
"""Share (%) of T1..T6 among vacated units (RPLS stock shares; T6 one point of the 5+)."""
SURFACE_BY_ROOMS = np.array([30.0, 47.0, 65.0, 80.0, 95.0, 110.0])
"""Mean living area (m²) of T1..T6."""
FINANCING_SHARES = {"PLAI": 0.20, "PLS": 0.08, "PLI": 0.02}
"""Financing mix; PLUS takes the rest (70 %)."""
RENT_FACTOR = {"PLAI": 0.88, "PLUS": 1.0, "PLS": 1.32, "PLI": 1.50}
"""Rent per m² relative to PLUS."""
MEAN_RENT_PER_M2 = 6.5
"""Mean monthly rent per m² of the vacated units (6.52 €/m² in RPLS 2024)."""
QPV_RENT_FACTOR = 0.90
NEW_BUILD_RENT_FACTOR = 1.12
ACCESSIBLE_SHARE = 0.10
FLUX_EXCLUSIONS = {"excluded:mutation": 0.06, "excluded:renewal": 0.03, "excluded:defense": 0.005}
"""Share of the vacated units withdrawn from the flux basis, by reason."""
STOCK_SHARE = 0.01
"""Share of the vacated units still reserved in stock to the defence holder."""


def make_units(
    preset: Preset, residences: pd.DataFrame, seed: int, stock_holder: str | None
) -> pd.DataFrame:
    """The vacated units of the period, sorted by availability date.

    Units are drawn into residences ∝ stock, with exactly the preset's QPV share among the
    units of existing residences, and every dwelling of the new programmes.
    """
    rng = stream(seed, "units")
    new = residences["new_programme"].to_numpy()
    n_new = int(residences.loc[new, "stock_units"].sum())
    n_old = preset.units - n_new
    qpv = residences["qpv"].to_numpy()
    n_qpv = min(exact_count(preset.units, preset.qpv_share), n_old) if qpv.any() else 0
    position = np.concatenate(
        [
            draw_residences(rng, residences, qpv & ~new, n_qpv),
            draw_residences(rng, residences, ~qpv & ~new, n_old - n_qpv),
            np.repeat(np.flatnonzero(new), residences.loc[new, "stock_units"].to_numpy()),
        ]
    )
    position = rng.permutation(position)
    res = residences.iloc[position].reset_index(drop=True)
    n = len(res)
    unit_qpv = res["qpv"].to_numpy()
    new_build = res["new_programme"].to_numpy()
    rooms = shuffled_labels(rng, n, range(1, 7), ROOM_SHARES).astype("int64")
    financing = _financing(rng, unit_qpv, new_build)
    surface = SURFACE_BY_ROOMS[rooms - 1] * rng.lognormal(0.0, 0.08, n)
    surface = np.round(surface, 0 if preset.round_money else 1)
    built_year = res["built_year"].to_numpy()
    rate = (
        pd.Series(financing).map(RENT_FACTOR).to_numpy()
        * np.where(unit_qpv, QPV_RENT_FACTOR, 1.0)
        * np.where(new_build, NEW_BUILD_RENT_FACTOR, 1.0)
        * np.where(built_year < 1975, 0.95, 1.0)
        * rng.lognormal(0.0, 0.08, n)
    )
    rate = rate * MEAN_RENT_PER_M2 / rate.mean()
    rent = np.round(rate * surface, 0 if preset.round_money else 2)
    charges = np.round(rng.uniform(1.2, 1.8, n) * surface, 0 if preset.round_money else 2)
    floors = res["floors"].to_numpy()
    floor = np.floor(rng.random(n) * (floors + 1)).astype("int64")
    elevator = (floors >= 5) | ((built_year >= 2000) & (floors >= 3))
    reachable = (floor == 0) | elevator
    accessible = pick(
        rng,
        np.where(reachable, np.where(new_build, 20.0, 1.0), 0.0),
        exact_count(n, ACCESSIBLE_SHARE),
    )
    available_on = _available_dates(rng, preset)
    flux_status = _flux_status(rng, res, stock_holder)
    units = pd.DataFrame(
        {
            "residence_id": res["residence_id"].to_numpy(),
            "commune": res["commune"].to_numpy(),
            "epci": res["epci"].to_numpy(),
            "qpv": unit_qpv,
            "rooms": rooms,
            "surface_m2": surface,
            "rent": rent,
            "charges": charges,
            "financing": financing,
            "floor": floor,
            "elevator": elevator,
            "accessible": accessible,
            "built_year": built_year,
            "available_on": available_on,
            "new_build": new_build,
            "flux_status": flux_status,
        }
    )
    units = units.sort_values(["available_on", "residence_id"], kind="stable")
    months = units["available_on"].dt.strftime("%Y%m").to_numpy()
    seq = units.groupby(months).cumcount().to_numpy() + 1
    units.insert(0, "unit_id", [f"U{m}-{s:04d}" for m, s in zip(months, seq, strict=True)])
    return units.reset_index(drop=True)


def _financing(rng: np.random.Generator, qpv: np.ndarray, new_build: np.ndarray) -> np.ndarray:
    """Financing classes in the exact mix; PLS/PLI rarely in QPV, PLAI more often new."""
    n = len(qpv)
    financing = np.full(n, "PLUS", dtype=object)
    free = np.ones(n, dtype=bool)
    dear = np.where(qpv, 0.15, 1.0)
    for name, weight in (
        ("PLI", dear),
        ("PLS", dear),
        ("PLAI", np.where(new_build, 2.0, 1.0)),
    ):
        chosen = pick(rng, np.where(free, weight, 0.0), exact_count(n, FINANCING_SHARES[name]))
        financing[chosen] = name
        free &= ~chosen
    return financing.astype(str)


def _available_dates(rng: np.random.Generator, preset: Preset) -> np.ndarray:
    """``units_per_month`` availability dates spread uniformly over each month's days."""
    dates: list[np.ndarray] = []
    for month in preset.months:
        year, number = (int(part) for part in month.split("-"))
        days = calendar.monthrange(year, number)[1]
        offsets = rng.integers(0, days, preset.units_per_month)
        start = np.datetime64(f"{month}-01", "D")
        dates.append(start + offsets.astype("timedelta64[D]"))
    return np.concatenate(dates).astype("datetime64[s]")


def _flux_status(
    rng: np.random.Generator, res: pd.DataFrame, stock_holder: str | None
) -> np.ndarray:
    """Flux status of each unit: exact shares of each exclusion, the rest in the flux.

    At least one unit is kept for internal transfers, so that even the smallest instance has
    a unit outside the flux basis.
    """
    n = len(res)
    status = np.full(n, "flux", dtype=object)
    free = ~res["new_programme"].to_numpy()
    counts = {reason: exact_count(n, share) for reason, share in FLUX_EXCLUSIONS.items()}
    counts["excluded:mutation"] = max(1, counts["excluded:mutation"])
    if stock_holder is not None:
        counts[f"stock:{stock_holder}"] = exact_count(n, STOCK_SHARE)
    renewal_site = res["renewal"].to_numpy()
    for reason, count in counts.items():
        eligible = free & renewal_site if reason == "excluded:renewal" else free
        chosen = pick(rng, eligible.astype("float64"), count)
        status[chosen] = reason
        free &= ~chosen
    return status.astype(str)
