r"""A year of monthly batches on one base instance, with simulated committee outcomes.

The simulation answers the question of a negotiation: over a whole year, how close does each
holder (réservataire) come to its flux share under each conversion method, and what happens
to the quotas? It is deliberately simple, and every simplification is stated here.

Vacancies
    The base instance holds the vacancies of some months. A simulated month that the base
    does not cover gets :math:`n = \operatorname{round}(N / M)` vacancies (the base's
    :math:`N` units over its :math:`M` months), drawn with replacement from the base units,
    with new ids (``SIM<yyyymm>-<k>``) and an availability date drawn uniformly in the month.
Applicants
    The base applicants are the demand at the start of the year. Every month, ``inflow`` new
    applicants arrive (default: as many as the units of a month, a steady demand): copies of
    base applicants drawn with replacement, with new ids (``SIM<yyyymm>-A<k>``), filed on a
    day of the month drawn uniformly, no refusal yet, no expiry. An applicant filed during
    month *m* enters the demand from the batch of month *m + 1*. Demands never lapse.
Batches
    The batch of month *m* runs on its first day (waits are measured then): the units that
    become available in *m* plus those coming back from earlier months, the demand of that
    day, the year-to-date orientations and attributions (:class:`~fluxopt.ytd.YearToDate`),
    solved by :func:`~fluxopt.allocate.allocate` and checked by :func:`~fluxopt.verify.verify`.
Outcomes
    Each proposed applicant accepts with probability :math:`1 - r` (the refusal rate): the
    unit goes to the first-ranked who accepts, else to the next rank; an applicant who
    refused has one more refusal on file (grids may count it). When every listed applicant
    refuses, or a delegated unit had no candidate, the unit comes back in the next month's
    batch (after December it stays unlet). Units oriented to a direct holder (which proposes
    its own candidates) and defence units are let outside the shortlists: they count in the
    flux, not in the quotas. Draws are made per (unit, rank) from a hash of the seed, so that
    every scenario of a comparison meets the same refusals for the same unit and rank.
Ledger
    Only finalised units enter the year to date: a flux unit's orientation is recorded in
    the month it is let (a unit that comes back may be oriented anew); a lease enters the
    attributions with the unit's attributes and the applicant's flags (``q1`` measured
    against the unit's EPCI threshold), and the housed applicant leaves the demand.
Annual figures
    The year's flux position of each convention (target on the year's basis under the
    method, units oriented, gap, attainment = oriented / target) and each quota group's
    attainment over the year's attributions come from :func:`~fluxopt.verify.verify` run on
    the year to date alone.

The monthly batch with its persistent ledger (:func:`fluxopt.batch.run_batch`) is not used:
it writes the committee's papers of every month and reads its instance from a folder; the
simulation calls :func:`~fluxopt.allocate.allocate` directly and keeps its year to date in
memory (:class:`~fluxopt.ytd.YearToDate`), which is what the batch reads from its ledger.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fluxopt.allocate import SolveSettings, allocate
from fluxopt.constraints.ruleset import ConstraintSet
from fluxopt.decisions import ORIENTATION_COLUMNS as DECISION_ORIENTATION_COLUMNS
from fluxopt.decisions import SHORTLIST_COLUMNS
from fluxopt.instance import Instance, instance_from_tables
from fluxopt.scenarios.spec import SimulationSpec
from fluxopt.scoring import Grid
from fluxopt.verify import VerificationReport, verify
from fluxopt.ytd import ATTRIBUTION_COLUMNS, ORIENTATION_COLUMNS, YearToDate

Progress = Callable[[str], None]
APPLICANT_FLAGS = ("renewal_relocation", "employer_action_logement", "state_agent")
LEASE_UNIT_COLUMNS = (
    "commune",
    "epci",
    "residence_id",
    "qpv",
    "fragile",
    "lec_applies",
    "segment",
    "holder_id",
    "holder_kind",
)
HOUSED_COLUMNS = (
    "unit_id",
    "month",
    "applicant_id",
    "holder_id",
    "rank",
    "wait_months",
    "priority",
    "dalo",
    "q1",
)
MONTH_COLUMNS = (
    "month",
    "units",
    "applicants",
    "arrivals",
    "attributed",
    "let_outside",
    "returned",
    "status",
    "objective",
    "gap",
    "seconds",
    "violations",
)


@dataclass
class SimulationResult:
    """What a simulated year produced."""

    months: pd.DataFrame
    """One row per month: month, units, attributed, let_outside, returned, applicants,
    arrivals, status, objective, gap, seconds, violations."""
    ytd: YearToDate
    """The year's orientations and attributions."""
    housed: pd.DataFrame
    """One row per lease: unit_id, month, applicant_id, holder_id, rank, wait_months,
    priority, dalo, q1."""
    flux: pd.DataFrame
    """One row per convention: holder_id, convention_id, target, oriented, gap, attainment."""
    report: VerificationReport
    """The verifier's view of the year to date (quota attainment, flux position)."""
    units_left: int
    """Units still unlet at the end of the simulated months."""

    @property
    def objective(self) -> float:
        """Sum of the monthly objectives."""
        return float(self.months["objective"].sum())


def simulate(
    instance: Instance,
    rules: ConstraintSet,
    spec: SimulationSpec,
    settings: SolveSettings,
    *,
    measure_rules: ConstraintSet | None = None,
    grid: str | None = None,
    progress: Progress | None = None,
) -> SimulationResult:
    """Run ``spec.months`` monthly batches from January (see the module docstring)."""
    say = progress or (lambda _text: None)
    measure = measure_rules or rules
    rng = np.random.default_rng(spec.seed)
    months = [f"{instance.config.year}-{m:02d}" for m in range(1, spec.months + 1)]
    units = year_units(instance, months, rng)
    per_month = max(round(len(units) / len(months)), 1)
    arrivals = arriving_applicants(
        instance, months, per_month if spec.inflow is None else spec.inflow, rng
    )
    config = instance.config.model_copy(update={"months": tuple(months)})
    year = instance_from_tables(
        config,
        {
            **instance.tables,
            "units": units,
            "applicants": pd.concat([instance.tables["applicants"], arrivals], ignore_index=True),
        },
        folder=instance.folder,
    )
    grid_model = _grid(year, grid)
    pool = year.tables["applicants"]
    is_arrival = pd.Series(pool["applicant_id"].isin(set(arrivals["applicant_id"])))
    units = year.tables["units"].copy()
    orientations = pd.DataFrame({c: pd.Series(dtype=object) for c in ORIENTATION_COLUMNS})
    attributions = pd.DataFrame({c: pd.Series(dtype=object) for c in ATTRIBUTION_COLUMNS})
    housed_rows: list[pd.DataFrame] = []
    housed_ids: set[str] = set()
    refusals = pool["refusals"].astype("int64").copy()
    month_rows = []
    returned: list[str] = []
    for position, month in enumerate(months):
        start = pd.Timestamp(f"{month}-01")
        present = ~pool["applicant_id"].isin(housed_ids) & (
            ~is_arrival | (pool["filed_on"] < start)
        )
        demand = pool.assign(refusals=refusals)[present.to_numpy()].reset_index(drop=True)
        month_instance = dataclasses.replace(
            year,
            config=year.config.model_copy(update={"reference_date": start.date()}),
            tables={**year.tables, "units": units, "applicants": demand},
        )
        batch_units = month_instance.units["month"] == month
        row: dict[str, object] = {
            "month": month,
            "units": int(batch_units.sum()),
            "applicants": len(demand),
            "arrivals": int((is_arrival & pool["filed_on"].dt.strftime("%Y-%m").eq(month)).sum()),
        }
        if not batch_units.any():
            month_rows.append({**row, "status": "no units", "returned": 0})
            continue
        say(f"month {month}")
        ytd = YearToDate(orientations=orientations, attributions=attributions)
        started = time.perf_counter()
        scores = None
        if grid_model is not None:
            from fluxopt.scoring import score

            scores = score(grid_model, month_instance.applicants).total
        allocation = allocate(
            month_instance, rules, month=month, scores=scores, ytd=ytd, settings=settings
        )
        decisions = allocation.decisions
        report = verify(
            month_instance,
            measure,
            decisions.orientation,
            decisions.shortlist,
            month=month,
            ytd=ytd,
        )
        outcome = draw_outcomes(decisions.orientation, decisions.shortlist, spec)
        done_units = set(outcome.let_outside) | set(outcome.accepted["unit_id"])
        oriented = decisions.orientation[
            decisions.orientation["unit_id"].isin(done_units)
            & decisions.orientation["in_flux"].astype(bool)
        ]
        orientations = _append(
            orientations, oriented.assign(month=month)[list(ORIENTATION_COLUMNS)]
        )
        leases = lease_rows(decisions.orientation, outcome.accepted, month_instance.applicants)
        attributions = _append(attributions, leases.assign(month=month)[list(ATTRIBUTION_COLUMNS)])
        housed_rows.append(outcome.accepted.assign(month=month)[list(HOUSED_COLUMNS)])
        housed_ids |= set(outcome.accepted["applicant_id"])
        refusals = refusals + pool["applicant_id"].isin(set(outcome.refused)).astype("int64")
        returned = sorted(set(decisions.orientation["unit_id"]) - done_units)
        if position + 1 < len(months):
            next_start = pd.Timestamp(f"{months[position + 1]}-01")
            units = units.assign(
                available_on=units["available_on"].mask(
                    units["unit_id"].isin(set(returned)), next_start
                )
            )
        month_rows.append(
            {
                **row,
                "attributed": len(outcome.accepted),
                "let_outside": len(outcome.let_outside),
                "returned": len(returned),
                "status": str(allocation.status),
                "objective": allocation.objective,
                "gap": allocation.gap,
                "seconds": time.perf_counter() - started,
                "violations": len(report.violations),
            }
        )
    ytd = YearToDate(orientations=orientations, attributions=attributions)
    final = dataclasses.replace(year, tables={**year.tables, "units": units})
    empty_orientation = pd.DataFrame(
        {c: pd.Series(dtype=object) for c in DECISION_ORIENTATION_COLUMNS}
    )
    empty_shortlist = pd.DataFrame({c: pd.Series(dtype=object) for c in SHORTLIST_COLUMNS})
    annual = verify(
        final, _with_flux(measure), empty_orientation, empty_shortlist, unit_ids=[], ytd=ytd
    )
    housed = (
        pd.concat(housed_rows, ignore_index=True)
        if housed_rows
        else pd.DataFrame(columns=list(HOUSED_COLUMNS))
    )
    return SimulationResult(
        months=pd.DataFrame(month_rows, columns=list(MONTH_COLUMNS)),
        ytd=ytd,
        housed=housed,
        flux=annual_flux(annual),
        report=annual,
        units_left=len(returned),
    )


@dataclass(frozen=True)
class Outcomes:
    """What the committee's proposals gave in one month."""

    accepted: pd.DataFrame
    """The shortlist rows of the applicants who took a unit (one per unit and applicant)."""
    refused: list[str]
    """Applicants who were proposed a unit and refused it."""
    let_outside: list[str]
    """Units let outside the shortlists (direct holders, defence units)."""


def draw_outcomes(
    orientation: pd.DataFrame, shortlist: pd.DataFrame, spec: SimulationSpec
) -> Outcomes:
    """Simulated answers to the month's proposals (see the module docstring).

    A listed applicant accepts when ``u >= r``, with ``u`` uniform in [0, 1) from a hash of
    (seed, unit, rank); the unit goes to its best-ranked acceptor; an applicant accepting
    two units (possible only when an applicant may be on several lists) takes the first.
    """
    outside_mask = (orientation["channel"] == "excluded:defense") | (
        orientation["holder_mode"] == "direct"
    )
    let_outside = orientation.loc[outside_mask, "unit_id"].astype(str).tolist()
    listed = shortlist[~shortlist["unit_id"].isin(set(let_outside))].sort_values(
        ["unit_id", "rank"], kind="stable", ignore_index=True
    )
    draws = uniform_draws(listed["unit_id"].astype(str), listed["rank"], spec.seed)
    accepts = draws >= spec.refusal_rate
    chosen = listed[accepts].drop_duplicates("unit_id").drop_duplicates("applicant_id")
    accepted_rank = listed["unit_id"].map(chosen.set_index("unit_id")["rank"])
    before = listed["rank"].to_numpy(dtype=float) < accepted_rank.fillna(np.inf).to_numpy()
    refused = listed.loc[~accepts & before, "applicant_id"].astype(str).tolist()
    return Outcomes(chosen.reset_index(drop=True), refused, let_outside)


def uniform_draws(unit_ids: pd.Series, ranks: pd.Series, seed: int) -> np.ndarray:
    """Uniform numbers in [0, 1), a fixed function of (seed, unit id, rank)."""
    if len(unit_ids) == 0:
        return np.zeros(0)
    keys = (unit_ids.astype(str) + "#" + ranks.astype("int64").astype(str)).to_numpy(dtype=object)
    hashed = pd.util.hash_array(keys, hash_key=f"{seed % 10**16:016d}")
    return (hashed >> np.uint64(11)).astype(np.float64) / float(2**53)


def lease_rows(
    orientation: pd.DataFrame, accepted: pd.DataFrame, applicants: pd.DataFrame
) -> pd.DataFrame:
    """Attribution rows of the accepted proposals: unit attributes and applicant flags."""
    unit_side = orientation.set_index("unit_id")
    rows = accepted[["unit_id", "applicant_id", "q1", "priority", "dalo", "is_transfer"]]
    rows = rows.join(
        unit_side[list(LEASE_UNIT_COLUMNS)],
        on="unit_id",
    )
    flags = applicants.set_index("applicant_id")[list(APPLICANT_FLAGS)]
    return rows.join(flags, on="applicant_id").astype({"q1": bool}).reset_index(drop=True)


def year_units(instance: Instance, months: list[str], rng: np.random.Generator) -> pd.DataFrame:
    """The base's units of the simulated months, and resampled units for the other months."""
    base = instance.tables["units"]
    base_month = instance.units["month"]
    covered = sorted(set(base_month))
    per_month = max(round(len(base) / max(len(covered), 1)), 1)
    kept = base[base_month.isin(months).to_numpy()]
    missing = [m for m in months if m not in set(covered)]
    if not missing:
        return kept.reset_index(drop=True)
    picks = rng.integers(0, len(base), size=per_month * len(missing))
    drawn = base.iloc[picks].reset_index(drop=True)
    month_of = np.repeat(missing, per_month)
    serial = np.tile(np.arange(1, per_month + 1), len(missing))
    starts = pd.to_datetime(pd.Series(month_of) + "-01")
    days = rng.integers(0, starts.dt.days_in_month.to_numpy())
    drawn["unit_id"] = [
        f"SIM{m.replace('-', '')}-{k:04d}" for m, k in zip(month_of, serial, strict=True)
    ]
    drawn["available_on"] = (starts + pd.to_timedelta(days, unit="D")).astype(
        base["available_on"].dtype
    )
    return pd.concat([kept, drawn], ignore_index=True)


def arriving_applicants(
    instance: Instance, months: list[str], inflow: int, rng: np.random.Generator
) -> pd.DataFrame:
    """``inflow`` new applicants a month, copies of base applicants filed in that month."""
    base = instance.tables["applicants"]
    if inflow == 0 or base.empty:
        return base.iloc[0:0].copy()
    picks = rng.integers(0, len(base), size=inflow * len(months))
    drawn = base.iloc[picks].reset_index(drop=True)
    month_of = np.repeat(months, inflow)
    serial = np.tile(np.arange(1, inflow + 1), len(months))
    starts = pd.to_datetime(pd.Series(month_of) + "-01")
    days = rng.integers(0, starts.dt.days_in_month.to_numpy())
    drawn["applicant_id"] = [
        f"SIM{m.replace('-', '')}-A{k:05d}" for m, k in zip(month_of, serial, strict=True)
    ]
    drawn["filed_on"] = (starts + pd.to_timedelta(days, unit="D")).astype(base["filed_on"].dtype)
    drawn["expires_on"] = pd.Series(pd.NaT, index=drawn.index).astype(base["expires_on"].dtype)
    drawn["refusals"] = 0
    return drawn


def annual_flux(report: VerificationReport) -> pd.DataFrame:
    """Each convention's year: target, oriented, gap, attainment (oriented / target)."""
    columns = ["holder_id", "convention_id", "method", "share", "target", "oriented", "gap"]
    if report.flux.empty:
        return pd.DataFrame(columns=[*columns, "attainment"])
    flux = report.flux.rename(columns={"target_cumulative": "target"})
    for column in ("method", "share"):
        if column not in flux:
            flux[column] = np.nan
    out = flux[columns].copy()
    target = out["target"].astype(float)
    out["attainment"] = np.where(target > 0, out["oriented"].astype(float) / target, np.nan)
    return out.reset_index(drop=True)


def _with_flux(rules: ConstraintSet) -> ConstraintSet:
    """The rules with the flux family measured (soft) even when the scenario turned it off."""
    if rules.families.flux.enabled:
        return rules
    flux = rules.families.flux.model_copy(update={"enabled": True, "hard": False})
    return rules.model_copy(update={"families": rules.families.model_copy(update={"flux": flux})})


def _grid(instance: Instance, grid: str | None) -> Grid | None:
    from fluxopt.scoring import load_grid

    name = instance.grid_source if grid is None else grid
    return load_grid(name, base=instance.folder) if name else None


def _append(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return frame
    if frame.empty:
        return rows.reset_index(drop=True)
    return pd.concat([frame, rows], ignore_index=True)
