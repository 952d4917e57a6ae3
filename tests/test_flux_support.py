"""Builders of small flux instances shared by the flux tests, and the reference scenario.

The reference scenario (``reference_instance``), used for the hand-computed tests:

- department "99"; EPCI E1 with communes A (residence RA, stock 300) and B (RB, stock 100);
  EPCI E2 with commune C (RC, stock 200): total stock 600;
- holders: LL (landlord), ST (state), AL (Action Logement), CA (commune A);
- conventions: ST department share 0.25, 120 reserved units; AL department share 0.20,
  90 reserved units, 12 one-off rights; CA commune A share 0.10, 30 reserved units;
- history: 120 vacancies over 2024 and 2025 (two years): ST 16 in A and 8 in C, AL 9 in B,
  CA 6 in A, landlord 48 in A, 11 in B and 22 in C (E1: 90, E2: 30);
- units of 2026-01: A: U1 (T2 PLUS), U2 (T3 PLUS), U4 (T4, excluded:mutation);
  B: U3 (T3 PLAI); C: U5 (T4 PLUS), U6 (T1 PLUS), U7 (T3, stock:ST).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import pandas as pd

from fluxopt.config import InstanceConfig, Territory
from fluxopt.instance import Instance, instance_from_tables

DEPARTMENT = "99"
FINANCINGS = ("PLAI", "PLUS", "PLS", "PLI")


def residence(
    residence_id: str, commune: str, epci: str, stock: int, qpv: bool = False
) -> dict[str, Any]:
    return {
        "residence_id": residence_id,
        "commune": commune,
        "epci": epci,
        "qpv": qpv,
        "stock_units": stock,
    }


def unit(
    unit_id: str,
    residence_id: str,
    rooms: int = 3,
    financing: str = "PLUS",
    status: str = "flux",
    day: str = "2026-01-10",
) -> dict[str, Any]:
    return {
        "unit_id": unit_id,
        "residence_id": residence_id,
        "rooms": rooms,
        "surface_m2": 20.0 + 15 * rooms,
        "rent": 100.0 + 80 * rooms,
        "financing": financing,
        "built_year": 1990,
        "available_on": day,
        "flux_status": status,
    }


def convention(
    convention_id: str,
    holder_id: str,
    kind: str,
    perimeter: str,
    share: float | None = None,
    volume: int | None = None,
    method: str = "negotiated",
    reserved: int = 0,
    rights: int = 0,
    tolerance: float = 1.0,
) -> dict[str, Any]:
    return {
        "convention_id": convention_id,
        "holder_id": holder_id,
        "perimeter_kind": kind,
        "perimeter_id": perimeter,
        "share": share,
        "annual_volume": volume,
        "tolerance": tolerance,
        "method": method,
        "reserved_units": reserved,
        "unique_rights": rights,
    }


def vacancies(
    contingent: str, epci: str, commune: str, count: int, years: Iterable[int] = (2024, 2025)
) -> list[dict[str, Any]]:
    """``count`` vacancy events spread over ``years`` (round robin, one per month)."""
    years = list(years)
    events = []
    for i in range(count):
        year = years[i % len(years)]
        month = (i // len(years)) % 12 + 1
        events.append(
            {
                "event": "vacancy",
                "date": f"{year}-{month:02d}-15",
                "epci": epci,
                "commune": commune,
                "rooms": 3,
                "contingent": contingent,
            }
        )
    return events


def make_instance(
    residences: list[dict[str, Any]],
    units: list[dict[str, Any]],
    holders: list[tuple[str, str]],
    conventions: list[dict[str, Any]],
    history: list[dict[str, Any]] | None = None,
    months: tuple[str, ...] = ("2026-01",),
) -> Instance:
    """Validate the given tables (plus a minimal applicant and the ceilings) as an instance."""
    config = InstanceConfig(
        name="flux-test", territory=Territory(department=DEPARTMENT), year=2026, months=months
    )
    epcis = sorted({r["epci"] for r in residences})
    events = pd.DataFrame(history or [])
    if not events.empty:
        events.insert(0, "event_id", [f"H{i}" for i in range(len(events))])
    tables = {
        "residences": pd.DataFrame(residences),
        "units": pd.DataFrame(units),
        "holders": pd.DataFrame(
            {
                "holder_id": [h for h, _ in holders],
                "kind": [k for _, k in holders],
                "name": [f"Holder {h}" for h, _ in holders],
            }
        ),
        "conventions": pd.DataFrame(conventions),
        "applicants": pd.DataFrame(
            {
                "applicant_id": ["A1"],
                "household_size": [1],
                "adults": [1],
                "annual_income": [10000.0],
                "filed_on": ["2025-01-01"],
                "wished_communes": [residences[0]["commune"]],
            }
        ),
        "thresholds": pd.DataFrame({"epci": epcis, "q1_threshold": [9000.0] * len(epcis)}),
        "ceilings": pd.DataFrame(
            [
                {"financing": f, "category": c, "ceiling": 30000.0 + 5000 * c}
                for f in FINANCINGS
                for c in range(1, 7)
            ]
        ),
    }
    if not events.empty:
        tables["history"] = events
    return instance_from_tables(config, tables)


REFERENCE_HOLDERS = [
    ("LL", "landlord"),
    ("ST", "state"),
    ("AL", "action_logement"),
    ("CA", "commune"),
]


def reference_tables() -> dict[str, Any]:
    """Keyword arguments of :func:`make_instance` for the reference scenario."""
    return {
        "residences": [
            residence("RA", "A", "E1", 300),
            residence("RB", "B", "E1", 100),
            residence("RC", "C", "E2", 200),
        ],
        "units": [
            unit("U1", "RA", rooms=2),
            unit("U2", "RA", rooms=3),
            unit("U3", "RB", rooms=3, financing="PLAI"),
            unit("U4", "RA", rooms=4, status="excluded:mutation"),
            unit("U5", "RC", rooms=4),
            unit("U6", "RC", rooms=1),
            unit("U7", "RC", rooms=3, status="stock:ST"),
        ],
        "holders": list(REFERENCE_HOLDERS),
        "conventions": [
            convention("C_ST", "ST", "department", DEPARTMENT, share=0.25, reserved=120),
            convention("C_AL", "AL", "department", DEPARTMENT, share=0.20, reserved=90, rights=12),
            convention("C_CA", "CA", "commune", "A", share=0.10, reserved=30),
        ],
        "history": (
            vacancies("ST", "E1", "A", 16)
            + vacancies("ST", "E2", "C", 8)
            + vacancies("AL", "E1", "B", 9)
            + vacancies("CA", "E1", "A", 6)
            + vacancies("landlord", "E1", "A", 48)
            + vacancies("landlord", "E1", "B", 11)
            + vacancies("landlord", "E2", "C", 22)
        ),
    }


def reference_instance(**changes: Any) -> Instance:
    """The reference scenario, with some of its tables replaced (shared when unchanged)."""
    if not changes:
        return _reference()
    return make_instance(**(reference_tables() | changes))


@cache
def _reference() -> Instance:
    return make_instance(**reference_tables())


def test_reference_instance_is_valid_and_as_described() -> None:
    instance = reference_instance()
    assert len(instance.units) == 7
    assert int(instance.units["in_flux"].sum()) == 5
    assert len(instance.history) == 120
    assert instance.history["date"].dt.year.unique().tolist() == [2024, 2025]
