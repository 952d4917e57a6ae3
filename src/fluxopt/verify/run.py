"""The checks of the verifier, one function per rule family."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from fluxopt.constraints.ruleset import ConstraintSet, QuotaRule
from fluxopt.instance import Instance
from fluxopt.rules.filters import filter_mask
from fluxopt.verify.eligibility import pair_problems
from fluxopt.verify.report import Finding, VerificationReport
from fluxopt.ytd import YearToDate

TOL = 1e-6
EXCLUSION_PUBLIC = {
    "excluded:mutation": "is_transfer",
    "excluded:renewal": "renewal_relocation",
    "excluded:defense": None,
}


def verify(
    instance: Instance,
    rules: ConstraintSet,
    orientation: pd.DataFrame,
    shortlist: pd.DataFrame,
    *,
    month: str | None = None,
    unit_ids: list[str] | None = None,
    ytd: YearToDate | None = None,
    locks: pd.DataFrame | None = None,
    method: str | None = None,
) -> VerificationReport:
    """Check decisions against the instance and the rules; report every finding."""
    ytd = ytd or YearToDate.empty()
    report = VerificationReport()
    units = instance.units
    if unit_ids is not None:
        units = units[units["unit_id"].isin(set(unit_ids))]
    elif month is not None:
        units = units[units["month"] == month]
    units = units.set_index("unit_id", drop=False)
    holders = instance.holders.set_index("holder_id", drop=False)
    applicants = instance.applicants.set_index("applicant_id", drop=False)
    _check_orientation(report, instance, units, holders, orientation)
    orientation = _usable_orientation(orientation, holders)
    _check_shortlist(report, rules, units, holders, applicants, orientation, shortlist)
    _check_eligibility(report, instance, rules, units, applicants, shortlist)
    _check_channels(report, rules, units, holders, applicants, orientation, shortlist)
    _check_locks(report, orientation, shortlist, locks)
    if rules.families.flux.enabled:
        _check_flux(report, instance, rules, orientation, month, list(units.index), ytd, method)
    for rule in rules.active_quotas:
        _check_quota(
            report, instance, rule, units, holders, applicants, orientation, shortlist, ytd
        )
    return report


def _usable_orientation(orientation: pd.DataFrame, holders: pd.DataFrame) -> pd.DataFrame:
    """The orientation rows later checks can read: one per unit, with a known holder.

    Duplicates and unknown holders are reported by the orientation check itself.
    """
    known = orientation["holder_id"].astype(str).isin(set(holders.index))
    return orientation[known].drop_duplicates("unit_id", keep="first").reset_index(drop=True)


def _check_orientation(
    report: VerificationReport,
    instance: Instance,
    units: pd.DataFrame,
    holders: pd.DataFrame,
    orientation: pd.DataFrame,
) -> None:
    counts = orientation["unit_id"].value_counts()
    for unit_id in units.index:
        seen = int(counts.get(unit_id, 0))
        if seen != 1:
            report.add(
                Finding("orientation", "violation", f"unit appears {seen} times", unit_id=unit_id)
            )
    for unit_id in sorted(set(orientation["unit_id"]) - set(units.index)):
        report.add(Finding("orientation", "violation", "unit is not in the batch", unit_id=unit_id))
    department = instance.config.territory.department
    conventions = instance.conventions
    landlords = set(holders.index[holders["kind"] == "landlord"])
    for unit_id, holder_id in zip(
        orientation["unit_id"].astype(str),
        orientation["holder_id"].fillna("").astype(str),
        strict=True,
    ):
        if unit_id not in units.index:
            continue
        if holder_id not in holders.index:
            report.add(
                Finding(
                    "orientation",
                    "violation",
                    f"holder {holder_id!r} is not in the holders table"
                    if holder_id
                    else "no holder",
                    unit_id=unit_id,
                )
            )
            continue
        unit = units.loc[unit_id]
        status = str(unit["flux_status"])
        if status.startswith("stock:"):
            expected = {status.removeprefix("stock:")}
        elif status != "flux":
            expected = landlords
        else:
            covering = conventions[
                (
                    (conventions["perimeter_kind"] == "department")
                    & (conventions["perimeter_id"] == department)
                )
                | (
                    (conventions["perimeter_kind"] == "epci")
                    & (conventions["perimeter_id"] == unit["epci"])
                )
                | (
                    (conventions["perimeter_kind"] == "commune")
                    & (conventions["perimeter_id"] == unit["commune"])
                )
            ]
            expected = set(covering["holder_id"]) | landlords
        if holder_id not in expected:
            report.add(
                Finding(
                    "orientation",
                    "violation",
                    f"holder {holder_id!r} may not receive it (allowed: {sorted(expected)})",
                    unit_id=unit_id,
                )
            )
    report.checked["units"] = len(units)


def _check_shortlist(
    report: VerificationReport,
    rules: ConstraintSet,
    units: pd.DataFrame,
    holders: pd.DataFrame,
    applicants: pd.DataFrame,
    orientation: pd.DataFrame,
    shortlist: pd.DataFrame,
) -> None:
    size = rules.families.shortlist.size
    for unit_id, rows in shortlist.groupby("unit_id"):
        ranks = sorted(rows["rank"].astype(int))
        if ranks != list(range(1, len(ranks) + 1)):
            report.add(
                Finding(
                    "shortlist", "violation", f"ranks {ranks} are not 1..n", unit_id=str(unit_id)
                )
            )
        if len(ranks) > size:
            report.add(
                Finding(
                    "shortlist",
                    "violation",
                    f"{len(ranks)} candidates, more than {size}",
                    unit_id=str(unit_id),
                )
            )
    unknown = sorted(set(shortlist["applicant_id"]) - set(applicants.index))
    for applicant_id in unknown:
        report.add(
            Finding("shortlist", "violation", "unknown applicant", applicant_id=str(applicant_id))
        )
    if rules.families.shortlist.one_list_per_applicant:
        repeated = shortlist["applicant_id"].value_counts()
        for applicant_id, times in repeated[repeated > 1].items():
            report.add(
                Finding(
                    "shortlist",
                    "violation",
                    f"on {times} shortlists",
                    applicant_id=str(applicant_id),
                )
            )
    holder_of = orientation.set_index("unit_id")["holder_id"]
    direct = set(holders.index[holders["mode"] == "direct"])
    listed = set(shortlist["unit_id"])
    for unit_id in listed:
        if holder_of.get(unit_id) in direct:
            report.add(
                Finding(
                    "shortlist",
                    "violation",
                    "the unit's holder proposes its own candidates",
                    unit_id=str(unit_id),
                )
            )
    short = shortlist.groupby("unit_id").size()
    short = short[short < size]
    for unit_id, count in zip(short.index.astype(str), short.to_numpy(), strict=True):
        report.add(
            Finding(
                "shortlist",
                "shortfall",
                f"{count} candidate(s) of {size}",
                unit_id=str(unit_id),
                amount=float(size - count),
            )
        )
    report.checked["shortlist rows"] = len(shortlist)


def _check_eligibility(
    report: VerificationReport,
    instance: Instance,
    rules: ConstraintSet,
    units: pd.DataFrame,
    applicants: pd.DataFrame,
    shortlist: pd.DataFrame,
) -> None:
    ceilings = {
        (str(f), int(c)): (float(v), float(e))
        for f, c, v, e in zip(
            instance.ceilings["financing"],
            instance.ceilings["category"],
            instance.ceilings["ceiling"],
            instance.ceilings["per_extra_person"],
            strict=True,
        )
    }
    unit_records: dict[str, dict[str, Any]] = {
        str(k): {str(c): v for c, v in row.items()} for k, row in units.to_dict("index").items()
    }
    applicant_records: dict[str, dict[str, Any]] = {
        str(k): {str(c): v for c, v in row.items()}
        for k, row in applicants.to_dict("index").items()
    }
    for unit_id, applicant_id in zip(shortlist["unit_id"], shortlist["applicant_id"], strict=True):
        unit = unit_records.get(unit_id)
        applicant = applicant_records.get(applicant_id)
        if unit is None or applicant is None:
            continue
        for problem in pair_problems(unit, applicant, ceilings, rules.eligibility):
            report.add(
                Finding(
                    "eligibility",
                    "violation",
                    problem,
                    unit_id=str(unit_id),
                    applicant_id=str(applicant_id),
                )
            )


def _admits(frame: pd.DataFrame, expression: str) -> np.ndarray:
    return filter_mask(frame, expression, "verified")


def _check_channels(
    report: VerificationReport,
    rules: ConstraintSet,
    units: pd.DataFrame,
    holders: pd.DataFrame,
    applicants: pd.DataFrame,
    orientation: pd.DataFrame,
    shortlist: pd.DataFrame,
) -> None:
    rows = shortlist.merge(
        orientation[["unit_id", "holder_id"]], on="unit_id", suffixes=("_list", "")
    )
    rows = rows[rows["applicant_id"].isin(applicants.index) & rows["unit_id"].isin(units.index)]
    if rows.empty:
        return
    people = applicants.loc[rows["applicant_id"]].reset_index(drop=True)
    people["q1"] = rows["q1"].to_numpy(dtype=bool) if "q1" in rows else people["q1"]
    status = units.loc[rows["unit_id"], "flux_status"].astype(str).to_numpy()
    holder_table = holders.loc[rows["holder_id"]].reset_index(drop=True)
    for channel in rules.active_channels:
        concerned = _admits(holder_table, channel.holders) & (status == "flux")
        concerned |= _admits(holder_table, channel.holders) & np.char.startswith(
            status.astype(str), "stock:"
        )
        refused = concerned & ~_admits(people, channel.admits)
        for i in np.flatnonzero(refused):
            report.add(
                Finding(
                    f"channel:{channel.name}",
                    "violation",
                    f"not admitted by {rows['holder_id'].iloc[i]} ({channel.admits})",
                    unit_id=str(rows["unit_id"].iloc[i]),
                    applicant_id=str(rows["applicant_id"].iloc[i]),
                )
            )
    for exclusion, public in EXCLUSION_PUBLIC.items():
        concerned = status == exclusion
        if not concerned.any():
            continue
        refused = concerned if public is None else concerned & ~_admits(people, public)
        for i in np.flatnonzero(refused):
            report.add(
                Finding(
                    f"channel:{exclusion}",
                    "violation",
                    f"a unit withdrawn from the flux ({exclusion}) admits {public or 'nobody'}",
                    unit_id=str(rows["unit_id"].iloc[i]),
                    applicant_id=str(rows["applicant_id"].iloc[i]),
                )
            )


def _check_locks(
    report: VerificationReport,
    orientation: pd.DataFrame,
    shortlist: pd.DataFrame,
    locks: pd.DataFrame | None,
) -> None:
    if locks is None or locks.empty:
        return
    holder_of = orientation.set_index("unit_id")["holder_id"]
    first = shortlist[shortlist["rank"] == 1].set_index("unit_id")["applicant_id"]
    listed = set(zip(shortlist["unit_id"], shortlist["applicant_id"], strict=True))
    for lock in locks.fillna("").astype(str).to_dict("records"):
        unit_id, action = lock["unit_id"], lock["action"]
        if action == "orient" and holder_of.get(unit_id) != lock["holder_id"]:
            report.add(
                Finding(
                    "locks", "violation", f"not oriented to {lock['holder_id']}", unit_id=unit_id
                )
            )
        if action == "require" and first.get(unit_id) != lock["applicant_id"]:
            report.add(
                Finding(
                    "locks",
                    "violation",
                    "required applicant is not ranked first",
                    unit_id=unit_id,
                    applicant_id=lock["applicant_id"],
                )
            )
        if action == "exclude" and (unit_id, lock["applicant_id"]) in listed:
            report.add(
                Finding(
                    "locks",
                    "violation",
                    "excluded applicant is listed",
                    unit_id=unit_id,
                    applicant_id=lock["applicant_id"],
                )
            )


def _check_flux(
    report: VerificationReport,
    instance: Instance,
    rules: ConstraintSet,
    orientation: pd.DataFrame,
    month: str | None,
    unit_ids: list[str],
    ytd: YearToDate,
    method: str | None,
) -> None:
    from fluxopt.flux import batch_targets

    targets = batch_targets(
        instance,
        month,
        ytd=None if ytd.orientations.empty else ytd.orientations,
        method=method or rules.families.flux.method,
        unit_ids=unit_ids,
    )
    oriented = orientation.set_index("unit_id")["holder_id"]
    cov = targets.coverage.assign(
        convention_id=targets.coverage["convention_id"].fillna("").astype(str)
    )
    flux_units = set(instance.units.loc[instance.units["flux_status"] == "flux", "unit_id"])
    cov = cov[(cov["unit_id"].map(oriented) == cov["holder_id"]) & cov["unit_id"].isin(flux_units)]
    batch_counts = cov.groupby(["holder_id", "convention_id"]).size()
    rows = []
    for conv in targets.holders.to_dict("records"):
        key = (conv["holder_id"], str(conv["convention_id"] or ""))
        got = float(conv["oriented_ytd"]) + float(batch_counts.get(key, 0))
        gap = got - float(conv["target_cumulative"])
        within = abs(gap) <= float(conv["tolerance"]) + TOL
        rows.append({**conv, "oriented": got, "gap": gap, "within": within})
        if not within:
            report.add(
                Finding(
                    "flux",
                    "violation" if rules.families.flux.hard else "shortfall",
                    f"oriented {got:g} for a target of {conv['target_cumulative']:.2f} "
                    f"(tolerance {conv['tolerance']:g})",
                    group=f"holder {key[0]} {key[1]}".strip(),
                    amount=abs(gap) - float(conv["tolerance"]),
                )
            )
    report.flux = pd.DataFrame(rows)


def _check_quota(
    report: VerificationReport,
    instance: Instance,
    rule: QuotaRule,
    units: pd.DataFrame,
    holders: pd.DataFrame,
    applicants: pd.DataFrame,
    orientation: pd.DataFrame,
    shortlist: pd.DataFrame,
    ytd: YearToDate,
) -> None:
    first = shortlist[shortlist["rank"] == 1]
    rows = first.merge(orientation, on="unit_id", suffixes=("", "_unit"))
    rows = rows[rows["unit_id"].isin(units.index) & rows["applicant_id"].isin(applicants.index)]
    frame = units.loc[rows["unit_id"]].reset_index(drop=True)
    frame["holder_id"] = rows["holder_id"].to_numpy()
    frame["holder_kind"] = holders.loc[rows["holder_id"], "kind"].to_numpy() if len(rows) else []
    people = applicants.loc[rows["applicant_id"]].reset_index(drop=True)
    thresholds = instance.thresholds.set_index("epci")["q1_threshold"]
    people["q1"] = people["income_per_uc"].to_numpy() <= frame["epci"].map(thresholds).to_numpy()
    frame = pd.concat([frame, people.drop(columns=[c for c in people if c in frame])], axis=1)
    frame["lec_applies"] = (
        frame["epci"].map(instance.thresholds.set_index("epci")["lec_applies"]).astype(bool)
    )
    in_scope = _mask(frame, rule.scope)
    if rule.per == "holder" and rule.holders:
        in_scope &= _mask(holders.loc[frame["holder_id"]].reset_index(drop=True), rule.holders)
    frame = frame[in_scope]
    member = _mask(frame, rule.share)
    key = {"epci": "epci", "residence": "residence_id", "holder": "holder_id", "all": None}[
        rule.per
    ]
    groups = frame[key].astype(str) if key else pd.Series("all", index=frame.index)
    numerator = pd.Series(member.astype(float), index=frame.index).groupby(groups).sum()
    denominator = groups.value_counts().astype(float)
    past = ytd.attributions
    past_numerator = pd.Series(dtype=float)
    past_denominator = pd.Series(dtype=float)
    if not past.empty:
        past_scope = _mask(past, rule.scope)
        if rule.per == "holder" and rule.holders:
            past_scope &= _mask(
                past.assign(kind=past["holder_kind"], mode="delegated"), rule.holders
            )
        past = past[past_scope]
        past_groups = past[key].astype(str) if key else pd.Series("all", index=past.index)
        past_numerator = (
            pd.Series(_mask(past, rule.share).astype(float), index=past.index)
            .groupby(past_groups)
            .sum()
        )
        past_denominator = past_groups.value_counts().astype(float)
        numerator = numerator.add(past_numerator, fill_value=0.0)
        denominator = denominator.add(past_denominator, fill_value=0.0)
    levels = _group_levels(rule, instance, denominator.index)
    records = []
    for group in denominator.index:
        n, d = float(numerator.get(group, 0.0)), float(denominator[group])
        level = levels[group]
        missing = level * d - n if rule.sense == "at_least" else n - level * d
        met = missing <= TOL
        records.append(
            {
                "rule": rule.name,
                "group": group,
                "numerator": n,
                "denominator": d,
                "ratio": n / d if d else math.nan,
                "level": level,
                "sense": rule.sense,
                "met": met,
                "missing": max(missing, 0.0),
                "ytd_numerator": float(past_numerator.get(group, 0.0)),
                "ytd_denominator": float(past_denominator.get(group, 0.0)),
            }
        )
        if not met:
            report.add(
                Finding(
                    f"quota:{rule.name}",
                    "violation" if rule.hard else "shortfall",
                    f"{n:g} of {d:g} ({n / d:.0%}) for {rule.sense.replace('_', ' ')} {level:.0%}",
                    group=f"{rule.per} {group}",
                    amount=missing,
                )
            )
    table = pd.DataFrame(records)
    report.quotas = (
        pd.concat([report.quotas, table], ignore_index=True) if not report.quotas.empty else table
    )


def _group_levels(rule: QuotaRule, instance: Instance, groups: pd.Index) -> dict[str, float]:
    levels = {str(g): rule.level for g in groups}
    if rule.level_column and rule.per == "residence":
        own = instance.residences.set_index("residence_id")[rule.level_column]
        for g in groups:
            value = own.get(g)
            if value is not None and not pd.isna(value):
                levels[str(g)] = float(value)
    return levels


def _mask(frame: pd.DataFrame, expression: str) -> np.ndarray:
    if frame.empty:
        return np.ones(len(frame), dtype=bool)
    return filter_mask(frame, expression, "verified")
