"""Micro-instances of the allocation core, built in memory, with readable values.

The territory (department "99"):

- EPCI ``E1`` (first-quartile threshold 9,000 €/UC, LEC applies): commune ``A`` with the
  residences ``RA`` (ordinary) and ``RF`` (fragile, own first-quartile cap when given),
  commune ``Q`` with ``RQ`` (in a QPV), commune ``Z`` with ``RZ`` (no vacancy: the home of
  the dormant convention below);
- EPCI ``E2`` (threshold 9,000 €/UC, LEC applies unless told otherwise): commune ``B``
  with ``RB``.

Defaults keep every rule slack unless a test tightens it: a unit is a T2 at 200 €/month
without charges, PLUS, on the ground floor, available on 2026-01-10; an applicant is a
single person earning 12,000 €/year (not first quartile: 12,000 > 9,000), filed on
2025-01-01, wishing ``A`` and a T2 (so the typology fit is 1). Income ceilings are round:
PLAI ``15,000 + 3,000 (c - 1)``, PLUS ``20,000 + 5,000 (c - 1)``, PLS and PLI
``30,000 + 5,000 (c - 1)`` for category ``c``, plus 3,000 per person beyond six.

The conventions table needs a row: when a test gives none, the holder ``FAR`` gets a
dormant convention on commune ``Z``, where no unit becomes vacant, so every unit goes to
the landlord alone.

:func:`solve` runs a batch and, every time, the independent verifier (which must pass) and
:func:`fluxopt.evaluate.objective_of` (which must give back the solver's objective).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fluxopt.allocate import Allocation, SolveSettings, allocate
from fluxopt.config import InstanceConfig, Territory
from fluxopt.constraints.ruleset import (
    ChannelRule,
    ConstraintSet,
    EligibilityRule,
    Families,
    FluxRule,
    PruningRule,
    QuotaRule,
    ShortlistRule,
    load_constraint_set,
)
from fluxopt.evaluate import objective_of
from fluxopt.instance import Instance, instance_from_tables
from fluxopt.model.blocks import LinearModel
from fluxopt.verify import VerificationReport, verify
from fluxopt.ytd import ATTRIBUTION_COLUMNS, YearToDate

DEPARTMENT = "99"
MONTH = "2026-01"
LANDLORD = "LANDLORD"
E1, E2 = "E1", "E2"
Q1_THRESHOLD = 9000.0
FINANCINGS = ("PLAI", "PLUS", "PLS", "PLI")
CEILING_BASE = {"PLAI": (15000.0, 3000.0), "PLUS": (20000.0, 5000.0)}
PER_EXTRA_PERSON = 3000.0
SETTINGS = SolveSettings(time_limit=10)
EXACT = SolveSettings(time_limit=10, mip_gap=0.0)

W_UNFILLED = 10_000.0
W_QUOTA = 200.0
W_FLUX = 200.0
W_MIXITY = 20.0

LEC = load_constraint_set("lec-default")


def ceiling(financing: str, category: int) -> float:
    """The income ceiling of the micro-instances (see the module docstring)."""
    base, step = CEILING_BASE.get(financing, (30000.0, 5000.0))
    return base + step * (category - 1)


def value(score_ratio: float, wish_rank: int = 1, fit: float = 1.0) -> float:
    """Value of a pair under the default value rule: ``0.6 s/max + 0.25/rank + 0.15 fit``."""
    return 0.6 * score_ratio + 0.25 / wish_rank + 0.15 * fit


# --- rows of the tables ---------------------------------------------------------------


def residence(
    residence_id: str,
    commune: str,
    epci: str = E1,
    *,
    qpv: bool = False,
    fragile: bool = False,
    cap_q1_share: float | None = None,
) -> dict[str, Any]:
    """One residence row."""
    return {
        "residence_id": residence_id,
        "name": f"Residence {residence_id}",
        "commune": commune,
        "epci": epci,
        "qpv": qpv,
        "stock_units": 100,
        "fragile": fragile,
        "cap_q1_share": cap_q1_share,
    }


def residences(cap_q1_share: float | None = None) -> list[dict[str, Any]]:
    """The residences of the territory; ``cap_q1_share`` is the fragile residence's own cap."""
    return [
        residence("RA", "A"),
        residence("RF", "A", fragile=True, cap_q1_share=cap_q1_share),
        residence("RQ", "Q", qpv=True),
        residence("RZ", "Z"),
        residence("RB", "B", E2),
    ]


def unit(
    unit_id: str,
    residence_id: str = "RA",
    *,
    rooms: int = 2,
    rent: float = 200.0,
    charges: float = 0.0,
    financing: str = "PLUS",
    status: str = "flux",
    day: str = "2026-01-10",
    floor: int = 0,
    elevator: bool = False,
    accessible: bool = False,
) -> dict[str, Any]:
    """One vacated unit (commune, EPCI and QPV come from the residence)."""
    return {
        "unit_id": unit_id,
        "residence_id": residence_id,
        "rooms": rooms,
        "surface_m2": 20.0 + 15.0 * rooms,
        "rent": rent,
        "charges": charges,
        "financing": financing,
        "floor": floor,
        "elevator": elevator,
        "accessible": accessible,
        "built_year": 1990,
        "available_on": day,
        "flux_status": status,
    }


def applicant(
    applicant_id: str,
    wishes: str = "A",
    *,
    size: int = 1,
    adults: int | None = None,
    income: float = 12000.0,
    filed: str = "2025-01-01",
    expires: str | None = None,
    wished_rooms: int | None = 2,
    max_rent: float | None = None,
    **flags: bool,
) -> dict[str, Any]:
    """One applicant; ``flags`` are boolean columns (priority, dalo, is_transfer, ...)."""
    grown = min(size, 2) if adults is None else adults
    return {
        "applicant_id": applicant_id,
        "household_size": size,
        "adults": grown,
        "children": size - grown,
        "annual_income": income,
        "filed_on": filed,
        "expires_on": expires,
        "wished_communes": wishes,
        "wished_rooms": wished_rooms,
        "max_rent": max_rent,
        **flags,
    }


def holder(holder_id: str, kind: str, mode: str = "delegated") -> dict[str, Any]:
    """One reservation holder."""
    return {"holder_id": holder_id, "kind": kind, "name": f"Holder {holder_id}", "mode": mode}


def convention(
    convention_id: str,
    holder_id: str,
    share: float,
    *,
    perimeter_kind: str = "department",
    perimeter_id: str = DEPARTMENT,
    tolerance: float = 1.0,
) -> dict[str, Any]:
    """One negotiated convention (a share of the flux basis of its perimeter)."""
    return {
        "convention_id": convention_id,
        "holder_id": holder_id,
        "perimeter_kind": perimeter_kind,
        "perimeter_id": perimeter_id,
        "share": share,
        "tolerance": tolerance,
        "method": "negotiated",
    }


def build(
    units: list[dict[str, Any]],
    applicants: list[dict[str, Any]],
    holders: list[dict[str, Any]] | None = None,
    conventions: list[dict[str, Any]] | None = None,
    *,
    cap_q1_share: float | None = None,
    lec_in_e2: bool = True,
    months: tuple[str, ...] = (MONTH,),
) -> Instance:
    """Validate the tables of a micro-instance (the landlord holder is always added).

    Instances are read-only in the tests, so one built from the same arguments is reused.
    """
    key = repr((units, applicants, holders, conventions, cap_q1_share, lec_in_e2, months))
    if key not in _BUILT:
        _BUILT[key] = _validate(
            units, applicants, holders, conventions, cap_q1_share, lec_in_e2, months
        )
    return _BUILT[key]


_BUILT: dict[str, Instance] = {}


def _validate(
    units: list[dict[str, Any]],
    applicants: list[dict[str, Any]],
    holders: list[dict[str, Any]] | None,
    conventions: list[dict[str, Any]] | None,
    cap_q1_share: float | None,
    lec_in_e2: bool,
    months: tuple[str, ...],
) -> Instance:
    holders = [holder(LANDLORD, "landlord"), *(holders or [])]
    conventions = list(conventions or [])
    if not conventions:
        holders.append(holder("FAR", "other"))
        conventions.append(
            convention("C_FAR", "FAR", 0.1, perimeter_kind="commune", perimeter_id="Z")
        )
    config = InstanceConfig(
        name="core-micro",
        territory=Territory(department=DEPARTMENT, name="Micro territory"),
        year=2026,
        months=months,
        reference_date=dt.date(2026, 1, 1),
    )
    tables = {
        "units": pd.DataFrame(units),
        "residences": pd.DataFrame(residences(cap_q1_share)),
        "holders": pd.DataFrame(holders),
        "conventions": pd.DataFrame(conventions),
        "applicants": pd.DataFrame(applicants),
        "thresholds": pd.DataFrame(
            {
                "epci": [E1, E2],
                "epci_name": ["EPCI one", "EPCI two"],
                "q1_threshold": [Q1_THRESHOLD, Q1_THRESHOLD],
                "lec_applies": [True, lec_in_e2],
            }
        ),
        "ceilings": pd.DataFrame(
            [
                {
                    "financing": f,
                    "category": c,
                    "ceiling": ceiling(f, c),
                    "per_extra_person": PER_EXTRA_PERSON if c == 6 else 0.0,
                }
                for f in FINANCINGS
                for c in range(1, 7)
            ]
        ),
    }
    return instance_from_tables(config, tables)


# --- rules --------------------------------------------------------------------------------


def lec_channel(name: str) -> ChannelRule:
    """A channel rule of the bundled ``lec-default`` set, by name."""
    return next(c for c in LEC.families.channels if c.name == name)


def lec_quota(name: str) -> QuotaRule:
    """A quota rule of the bundled ``lec-default`` set, by name."""
    return next(q for q in LEC.families.quotas if q.name == name)


STATE_PRIORITY = lec_channel("state-priority")
STATE_AGENTS = lec_channel("state-agents")
AL_EMPLOYEES = lec_channel("action-logement-employees")
Q1_OUTSIDE_QPV = lec_quota("lec-q1-outside-qpv")
NON_Q1_IN_QPV = lec_quota("lec-non-q1-in-qpv")
PRIORITY_PER_HOLDER = lec_quota("lec-priority-per-holder")
FRAGILE_Q1_CAP = lec_quota("mixity-fragile-q1-cap")


def micro_rules(
    *,
    flux: bool | FluxRule = False,
    channels: tuple[ChannelRule, ...] = (),
    quotas: tuple[QuotaRule, ...] = (),
    size: int = 3,
    one_list: bool = True,
    eligibility: EligibilityRule | None = None,
    pruning: PruningRule | None = None,
) -> ConstraintSet:
    """A constraint set with only the families a test names (flux off by default)."""
    flux_rule = flux if isinstance(flux, FluxRule) else FluxRule(enabled=flux)
    families = Families(
        flux=flux_rule,
        shortlist=ShortlistRule(size=size, one_list_per_applicant=one_list),
        channels=channels,
        quotas=quotas,
    )
    return ConstraintSet(
        name="micro",
        eligibility=eligibility or EligibilityRule(),
        pruning=pruning or PruningRule(),
        families=families,
    )


def without(rules: ConstraintSet, **families: Any) -> ConstraintSet:
    """The same rules with some families replaced (e.g. ``channels=()``)."""
    return rules.model_copy(update={"families": rules.families.model_copy(update=families)})


def scores(**by_applicant: float) -> pd.Series:
    """Scores by applicant id."""
    return pd.Series(by_applicant, dtype="float64")


def attributions(rows: list[dict[str, Any]]) -> YearToDate:
    """A year-to-date position with the given past attributions (other columns defaulted)."""
    defaults: dict[str, Any] = {
        "unit_id": "",
        "month": "2025-12",
        "commune": "A",
        "epci": E1,
        "residence_id": "RA",
        "qpv": False,
        "fragile": False,
        "lec_applies": True,
        "segment": "T1-T2|non-QPV|PLUS",
        "holder_id": LANDLORD,
        "holder_kind": "landlord",
        "applicant_id": "",
        "q1": False,
        "priority": False,
        "dalo": False,
        "renewal_relocation": False,
        "is_transfer": False,
        "employer_action_logement": False,
        "state_agent": False,
    }
    records = [
        {**defaults, "unit_id": f"PAST{i}", "applicant_id": f"P{i}", **row}
        for i, row in enumerate(rows)
    ]
    return YearToDate(attributions=pd.DataFrame(records, columns=list(ATTRIBUTION_COLUMNS)))


def locks(*rows: tuple[str, str, str]) -> pd.DataFrame:
    """A locks table from (unit_id, action, holder or applicant id) triples."""
    return pd.DataFrame(
        [
            {
                "unit_id": unit_id,
                "action": action,
                "holder_id": other if action == "orient" else "",
                "applicant_id": "" if action == "orient" else other,
            }
            for unit_id, action, other in rows
        ],
        columns=["unit_id", "action", "holder_id", "applicant_id"],
    )


# --- solving ------------------------------------------------------------------------------


@dataclass
class Solved:
    """A solved, verified batch, with the decisions read by id."""

    allocation: Allocation
    report: VerificationReport

    @property
    def objective(self) -> float:
        """The solver's objective (the loss)."""
        assert self.allocation.objective is not None
        return float(self.allocation.objective)

    @property
    def holder_of(self) -> dict[str, str]:
        """Unit id → holder id."""
        frame = self.allocation.decisions.orientation
        return dict(zip(frame["unit_id"], frame["holder_id"], strict=True))

    @property
    def first(self) -> dict[str, str]:
        """Unit id → first-ranked applicant id (units with a shortlist only)."""
        frame = self.allocation.decisions.first_ranked
        return dict(zip(frame["unit_id"], frame["applicant_id"], strict=True))

    @property
    def lists(self) -> dict[str, list[str]]:
        """Unit id → applicant ids by rank."""
        frame = self.allocation.decisions.shortlist.sort_values(["unit_id", "rank"])
        return {
            str(u): rows["applicant_id"].tolist() for u, rows in frame.groupby("unit_id", sort=True)
        }


def solve(
    instance: Instance,
    rules: ConstraintSet,
    *,
    month: str | None = MONTH,
    unit_ids: list[str] | None = None,
    scores: pd.Series | None = None,
    ytd: YearToDate | None = None,
    locks: pd.DataFrame | None = None,
    settings: SolveSettings = SETTINGS,
) -> Solved:
    """Allocate a batch, verify it (must pass) and re-evaluate its objective (must agree)."""
    allocation = allocate(
        instance,
        rules,
        month=month,
        unit_ids=unit_ids,
        scores=scores,
        ytd=ytd,
        locks=locks,
        settings=settings,
    )
    decisions = allocation.decisions
    report = verify(
        instance,
        rules,
        decisions.orientation,
        decisions.shortlist,
        month=month,
        unit_ids=unit_ids,
        ytd=ytd,
        locks=locks,
    )
    assert report.ok, report.text()
    assert allocation.objective is not None
    evaluated = objective_of(allocation.problem, allocation.model, allocation.variables, decisions)
    assert evaluated == pytest.approx(allocation.objective, rel=1e-6, abs=1e-6)
    return Solved(allocation, report)


# --- reading a built model through its labels ----------------------------------------------

NUMERIC_LABELS = ("rule", "level", "need", "tolerance", "ytd_rhs")
"""Label columns left out of column names (the rule is in the block name, the rest are
figures, not ids)."""


def column_names(model: LinearModel) -> list[str]:
    """A readable name per column: ``block[id,id]``, e.g. ``first[U1,A1]``, ``orient[U1,ST]``."""
    names = [""] * model.num_cols
    for block in model.columns.values():
        keys = [c for c in block.labels.columns if c not in NUMERIC_LABELS]
        values = block.labels[keys].astype(str).to_numpy()
        for i, row in enumerate(values):
            names[block.start + i] = f"{block.name}[{','.join(row)}]"
    return names


@dataclass(frozen=True)
class Row:
    """One built row: its coefficients by column name and its bounds."""

    terms: dict[str, float]
    lower: float
    upper: float


def rows_where(model: LinearModel, block: str, **labels: str) -> list[int]:
    """Global positions of the rows of a block whose labels match (compared as text)."""
    spec = model.rows[block]
    match = np.ones(spec.size, dtype=bool)
    for column, wanted in labels.items():
        match &= spec.labels[column].astype(str).to_numpy() == str(wanted)
    return [spec.start + int(i) for i in np.flatnonzero(match)]


def row(model: LinearModel, block: str, **labels: str) -> Row:
    """The single row of a block with the given labels."""
    found = rows_where(model, block, **labels)
    assert len(found) == 1, f"{len(found)} rows of {block} match {labels}"
    position = found[0]
    names = column_names(model)
    line = model.matrix.getrow(position)
    terms = {names[j]: float(v) for j, v in zip(line.indices, line.data, strict=True)}
    return Row(terms, float(model.row_lower[position]), float(model.row_upper[position]))


def column(model: LinearModel, name: str) -> int:
    """Global position of the column with a given readable name."""
    return column_names(model).index(name)
