"""Reservation holders (réservataires) and their flux conventions.

Holders and shares of the flux basis (``domain.md`` §1):

- the State for priority households (préfet, kind ``state``): 20-25 % on the department
  (the law caps the préfet at 30 % of the flux, of which 5 % for State agents);
- the State for its own agents (kind ``state_agents``): 5 % on the department;
- Action Logement Services (kind ``action_logement``): 22-28 % on the department, proposing
  its own candidates (``direct``; its applicants apply through its own platform);
- the department (kind ``department``): 3-5 % on the department;
- 1-3 communes (kind ``commune``, the main towns): 10-15 % each on their own territory;
- 0-2 EPCIs (kind ``epci``): 5-8 % each on their own territory;
- optionally another holder (kind ``other``, e.g. a hospital for its staff): 2 % on the
  department, and a defence holder whose reservations stay in stock (no convention);
- the landlord itself (kind ``landlord``, id ``LANDLORD``): the remainder, no convention.

The ranges keep the sum of the shares covering any one unit (department + its EPCI + its
commune) at most 0.88, so the landlord keeps at least 12 % everywhere. Conventions also hold
the stock reserved before the conversion (``reserved_units`` ≈ share × stock of the
perimeter × a lognormal factor of spread 0.25, so that the conversion methods disagree),
a few one-off rights (``unique_rights``), the method they were signed under (mostly
``negotiated``), a tolerance of 1-2 units and a 30-day deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fluxopt.generate.presets import Preset
from fluxopt.generate.sampling import stream
from fluxopt.generate.territory import Territory, slug

LANDLORD_ID = "LANDLORD"
DEFENSE_ID = "DEFENSE"


@dataclass(frozen=True)
class HolderSpec:
    """One holder to create, with its convention when it has one."""

    holder_id: str
    kind: str
    name: str
    mode: str
    perimeter_kind: str | None = None
    perimeter_id: str | None = None
    share: float = 0.0
    method: str = "negotiated"


def _round_share(rng: np.random.Generator, low: float, high: float) -> float:
    """A share drawn uniformly in [low, high], rounded to the percent."""
    return round(float(rng.uniform(low, high)), 2)


def holder_specs(
    preset: Preset, territory: Territory, rng: np.random.Generator
) -> list[HolderSpec]:
    """The holders of a preset, with their perimeter and share."""
    dept, dept_name = preset.department, preset.department_name
    specs = [
        HolderSpec(
            "PREFET",
            "state",
            f"Préfet ({dept_name}) — publics prioritaires",
            "delegated",
            "department",
            dept,
            _round_share(rng, 0.20, 0.25),
        ),
        HolderSpec(
            "STATE_AGENTS",
            "state_agents",
            f"Préfet ({dept_name}) — agents de l'État",
            "delegated",
            "department",
            dept,
            0.05,
            "stock_share",
        ),
        HolderSpec(
            "ACTION_LOGEMENT",
            "action_logement",
            "Action Logement Services",
            "direct",
            "department",
            dept,
            _round_share(rng, 0.22, 0.28),
        ),
    ]
    if preset.department_holder:
        specs.append(
            HolderSpec(
                "DEPARTMENT",
                "department",
                f"Département ({dept_name})",
                "delegated",
                "department",
                dept,
                _round_share(rng, 0.03, 0.05),
                "turnover_weighted",
            )
        )
    if preset.other_flux_holder:
        specs.append(
            HolderSpec(
                "HOSPITAL",
                "other",
                "Centre hospitalier — logement du personnel",
                "delegated",
                "department",
                dept,
                0.02,
            )
        )
    communes = territory.communes
    towns = communes[communes["main"]].sort_values("weight", ascending=False, kind="stable")
    for position, town in enumerate(towns["commune"].head(preset.commune_holders)):
        specs.append(
            HolderSpec(
                f"COMMUNE_{slug(town)}",
                "commune",
                f"Ville de {town}",
                "direct" if position == 1 else "delegated",
                "commune",
                town,
                _round_share(rng, 0.10, 0.15),
                "unique_rights" if position == 2 else "negotiated",
            )
        )
    epcis = territory.epcis
    for position in range(min(preset.epci_holders, len(epcis))):
        row = epcis.iloc[(position + 1) % len(epcis)]
        specs.append(
            HolderSpec(
                f"EPCI_{row['epci']}",
                "epci",
                str(row["epci_name"]),
                "delegated",
                "epci",
                str(row["epci"]),
                _round_share(rng, 0.05, 0.08),
            )
        )
    specs.append(HolderSpec(LANDLORD_ID, "landlord", preset.landlord, "delegated"))
    if preset.defense_holder:
        specs.append(
            HolderSpec(
                DEFENSE_ID, "other", "Ministère des Armées — réservations en stock", "direct"
            )
        )
    return specs


def make_holders(
    preset: Preset, territory: Territory, residences: pd.DataFrame, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The holders and conventions tables of a preset."""
    rng = stream(seed, "holders")
    specs = holder_specs(preset, territory, rng)
    holders = pd.DataFrame(
        {
            "holder_id": [s.holder_id for s in specs],
            "kind": [s.kind for s in specs],
            "name": [s.name for s in specs],
            "mode": [s.mode for s in specs],
        }
    )
    with_convention = [s for s in specs if s.perimeter_kind is not None]
    stock = np.array([_perimeter_stock(residences, s) for s in with_convention], dtype=float)
    shares = np.array([s.share for s in with_convention])
    reserved = np.round(shares * stock * rng.lognormal(0.0, 0.25, len(shares))).astype("int64")
    unique = np.where(
        [s.kind in ("action_logement", "commune") for s in with_convention],
        np.round(stock * rng.uniform(0.0005, 0.003, len(shares))),
        0,
    ).astype("int64")
    tolerance = np.where(shares >= 0.2, 2.0, 1.0) if preset.units >= 100 else np.ones(len(shares))
    conventions = pd.DataFrame(
        {
            "convention_id": [f"CONV_{s.holder_id}" for s in with_convention],
            "holder_id": [s.holder_id for s in with_convention],
            "perimeter_kind": [s.perimeter_kind for s in with_convention],
            "perimeter_id": [s.perimeter_id for s in with_convention],
            "share": shares,
            "tolerance": tolerance,
            "method": [s.method for s in with_convention],
            "reserved_units": reserved,
            "unique_rights": unique,
            "deadline_days": 30,
            "counts_if_unproposed": True,
        }
    )
    return holders, conventions


def _perimeter_stock(residences: pd.DataFrame, spec: HolderSpec) -> int:
    """Stock of the landlord inside a convention's perimeter."""
    if spec.perimeter_kind == "commune":
        inside = residences["commune"] == spec.perimeter_id
    elif spec.perimeter_kind == "epci":
        inside = residences["epci"] == spec.perimeter_id
    else:
        inside = pd.Series(True, index=residences.index)
    return int(residences.loc[inside, "stock_units"].sum())


def covering_share(units: pd.DataFrame, conventions: pd.DataFrame, department: str) -> pd.Series:
    """Sum of the shares of every convention whose perimeter contains each unit.

    ``Σ share(c)`` over conventions ``c`` on the department, the unit's EPCI or the unit's
    commune; the landlord keeps ``1 -`` that sum of the unit.
    """
    shares = conventions.dropna(subset=["share"])
    by_kind = shares.groupby(["perimeter_kind", "perimeter_id"])["share"].sum()
    department_share = float(by_kind.get(("department", department), 0.0))
    epci = by_kind.xs("epci", level=0) if "epci" in by_kind.index.get_level_values(0) else None
    commune = (
        by_kind.xs("commune", level=0) if "commune" in by_kind.index.get_level_values(0) else None
    )
    total = pd.Series(department_share, index=units.index)
    if epci is not None:
        total += units["epci"].map(epci).fillna(0.0)
    if commune is not None:
        total += units["commune"].map(commune).fillna(0.0)
    return total
