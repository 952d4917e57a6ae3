"""The allocation problem of one batch, as positional data the rule families read.

:func:`build_problem` runs the phases before the model: select the batch's units, score the
applicants, find the eligible pairs and prune them to the candidate graph, compute the
holders' flux targets and which holders may receive each unit, and evaluate the channel and
quota filters into boolean arrays. Everything afterwards is positional (unit ``i`` is row
``i`` of :attr:`AllocationProblem.units`), and every table keeps its domain ids for the way
back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.candidates import (
    CandidateGraph,
    PairClass,
    normalised_scores,
    pair_values,
    prune_chunk,
)
from fluxopt.constraints.ruleset import ConstraintSet, QuotaRule
from fluxopt.eligibility import PairChunk, eligible_pairs
from fluxopt.instance import Instance
from fluxopt.locktable import read_locks
from fluxopt.rules.filters import filter_mask
from fluxopt.schema.problems import FluxoptError, InvalidInputError, Problem
from fluxopt.ytd import YearToDate

EXCLUDED_CHANNELS: dict[str, str | None] = {
    "excluded:mutation": "is_transfer",
    "excluded:renewal": "renewal_relocation",
    "excluded:defense": None,
}
"""Units withdrawn from the flux stay with the landlord and are let through a channel of
their own: internal transfers (mutation) to sitting tenants, urban-renewal relocations to
the households to relocate; defence and security units are let by the services themselves
(no shortlist)."""

DEFAULT_SCORE_DOC = "wait in months (capped at 60) + 20 if DALO + 10 if priority"


def default_score(applicants: pd.DataFrame) -> pd.Series:
    """Score used when no grid is given: ``min(wait, 60) + 20 dalo + 10 priority``."""
    wait = applicants["wait_months"].clip(upper=60.0)
    bonus = 20.0 * applicants["dalo"].astype(float) + 10.0 * applicants["priority"].astype(float)
    return (wait + bonus).rename("score")


@dataclass
class AllocationProblem:
    """Everything the model families need, positional, with ids kept for the way back."""

    instance: Instance
    rules: ConstraintSet
    month: str | None
    units: pd.DataFrame
    applicants: pd.DataFrame
    holders: pd.DataFrame
    graph: CandidateGraph
    coverage: pd.DataFrame
    """One row per (unit, holder it may go to): unit, holder (positions), fixed, in_flux."""
    conventions: pd.DataFrame
    """Flux targets, one row per convention (and one for the landlord), with holder position."""
    membership: pd.DataFrame
    """Which coverage rows count for which convention: convention_row, coverage_row."""
    segments: pd.DataFrame
    ytd: YearToDate
    admits: dict[int, PairClass]
    """For each holder position with a restricted channel, the applicants it admits."""
    locks: pd.DataFrame
    landlord: int
    timings: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def num_units(self) -> int:
        """Units in the batch."""
        return len(self.units)

    def pair_frame(self) -> pd.DataFrame:
        """The candidate graph with unit, applicant and ids."""
        frame = self.graph.frame()
        frame["unit_id"] = self.units["unit_id"].to_numpy()[self.graph.unit]
        frame["applicant_id"] = self.applicants["applicant_id"].to_numpy()[self.graph.applicant]
        return frame

    def share_mask(self, expression: str) -> npt.NDArray[np.bool_]:
        """Whether each pair's applicant matches an applicant filter (``q1`` per pair)."""
        pair_class = applicant_class(self.applicants, expression, np.zeros(0, dtype=np.int64))
        return pair_class.members(as_chunk(self.graph))

    def unit_mask(self, expression: str) -> npt.NDArray[np.bool_]:
        """Whether each unit matches a unit filter (empty filter: every unit)."""
        return filter_mask(self.units, expression, "units")


def as_chunk(graph: CandidateGraph) -> PairChunk:
    """The graph seen as one chunk of pairs."""
    return PairChunk(
        graph.unit, graph.applicant, graph.wish_rank, graph.q1, graph.burden, graph.fit
    )


def applicant_class(
    applicants: pd.DataFrame, expression: str, keep: npt.NDArray[np.int64], name: str = ""
) -> PairClass:
    """Membership of an applicant filter, evaluated once with ``q1`` true and once false.

    ``q1`` depends on the unit's EPCI, so a filter that reads it is evaluated both ways and
    each pair picks the value of its own first-quartile flag.
    """
    frame = applicants.assign(q1=True)
    if_q1 = filter_mask(frame, expression, "applicants")
    if_not_q1 = filter_mask(frame.assign(q1=False), expression, "applicants")
    return PairClass(name or expression, if_q1, if_not_q1, keep)


def build_problem(
    instance: Instance,
    rules: ConstraintSet,
    *,
    month: str | None = None,
    unit_ids: list[str] | None = None,
    scores: pd.Series | None = None,
    ytd: YearToDate | None = None,
    locks: pd.DataFrame | None = None,
    method: str | None = None,
) -> AllocationProblem:
    """Assemble the allocation problem of one batch (see the module docstring)."""
    from fluxopt.flux import batch_targets

    timings: dict[str, float] = {}
    ytd = ytd or YearToDate.empty()
    started = time.perf_counter()
    units = _batch_units(instance, month, unit_ids)
    applicants = instance.applicants.copy()
    applicants["score"] = _scores_for(applicants, scores)
    timings["score"] = time.perf_counter() - started

    started = time.perf_counter()
    targets = batch_targets(
        instance,
        month,
        ytd=ytd.orientations if not ytd.orientations.empty else None,
        method=method or rules.families.flux.method,
        unit_ids=list(units["unit_id"]),
    )
    holders = instance.holders.reset_index(drop=True)
    holder_pos = pd.Series(np.arange(len(holders)), index=holders["holder_id"])
    landlord = int(holder_pos[targets.landlord_id])
    coverage, conventions, membership = _coverage(units, holder_pos, targets)
    admits = _channel_classes(applicants, holders, rules)
    timings["targets"] = time.perf_counter() - started

    started = time.perf_counter()
    locks_table = read_locks(locks, units, applicants, holders)
    classes = class_needs(units, applicants, rules, coverage, conventions, admits, len(holders))
    filters = unit_channel_filters(units, applicants, coverage, admits)
    graph = _candidate_graph(instance, units, applicants, rules, classes, filters, locks_table)
    timings["pairs"] = time.perf_counter() - started

    problem = AllocationProblem(
        instance=instance,
        rules=rules,
        month=month,
        units=units,
        applicants=applicants,
        holders=holders,
        graph=graph,
        coverage=coverage,
        conventions=conventions,
        membership=membership,
        segments=_segments(targets.segments, holder_pos, conventions),
        ytd=ytd,
        admits=admits,
        locks=locks_table,
        landlord=landlord,
        timings=timings,
    )
    problem.stats.update(
        units=len(units),
        applicants=len(applicants),
        eligible_pairs=graph.eligible_pairs,
        candidate_pairs=len(graph),
        units_without_candidate=int((graph.per_unit(len(units)) == 0).sum()),
    )
    return problem


def _batch_units(instance: Instance, month: str | None, unit_ids: list[str] | None) -> pd.DataFrame:
    units = instance.units
    if unit_ids is not None:
        unknown = sorted(set(unit_ids) - set(units["unit_id"]))
        if unknown:
            raise FluxoptError(f"units not in the instance: {', '.join(unknown[:10])}")
        units = units[units["unit_id"].isin(set(unit_ids))]
    elif month is not None:
        units = units[units["month"] == month]
        if units.empty:
            months = sorted(instance.units["month"].unique())
            raise FluxoptError(
                f"no unit becomes available in {month}; the instance has units for {months}"
            )
    units = units.sort_values("unit_id", kind="stable").reset_index(drop=True)
    thresholds = instance.thresholds.set_index("epci")
    residences = instance.residences.set_index("residence_id")
    units["lec_applies"] = units["epci"].map(thresholds["lec_applies"]).fillna(False).astype(bool)
    for column in ("cap_q1_share", "cap_priority_share"):
        units[column] = units["residence_id"].map(residences[column]).astype("float64")
    status = units["flux_status"].astype(str)
    units["channel"] = np.where(status.str.startswith("stock:"), "stock", status).astype(str)
    return units


def _scores_for(applicants: pd.DataFrame, scores: pd.Series | None) -> pd.Series:
    if scores is None:
        return default_score(applicants).to_numpy()  # type: ignore[return-value]
    aligned = scores.reindex(applicants["applicant_id"])
    if aligned.isna().any():
        missing = applicants["applicant_id"][aligned.isna().to_numpy()].head(5).tolist()
        raise FluxoptError(f"scores are missing for applicants such as {missing}")
    return aligned.to_numpy(dtype=np.float64)  # type: ignore[return-value]


def _coverage(
    units: pd.DataFrame,
    holder_pos: pd.Series,
    targets: Any,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Coverage rows (unit, holder), the conventions, and which rows count for which."""
    unit_pos = pd.Series(np.arange(len(units)), index=units["unit_id"])
    flux_cov = targets.coverage[targets.coverage["unit_id"].isin(unit_pos.index)]
    flux_cov = flux_cov.assign(
        unit=flux_cov["unit_id"].map(unit_pos).to_numpy(dtype=np.int64),
        holder=flux_cov["holder_id"].map(holder_pos).to_numpy(dtype=np.int64),
    )
    in_flux = units["flux_status"].to_numpy() == "flux"
    rows = (
        flux_cov[["unit", "holder"]]
        .drop_duplicates()
        .sort_values(["unit", "holder"], kind="stable", ignore_index=True)
    )
    per_unit = rows.groupby("unit")["holder"].transform("size")
    rows["fixed"] = (per_unit == 1).to_numpy()
    rows["in_flux"] = in_flux[rows["unit"].to_numpy()]
    uncovered = sorted(set(np.flatnonzero(in_flux)) - set(rows["unit"]))
    if uncovered:
        raise InvalidInputError(
            "flux coverage",
            [
                Problem(
                    "units",
                    "no holder can receive this flux unit",
                    "give the landlord holder (kind landlord) or a convention covering it",
                    key=str(units["unit_id"].iloc[i]),
                )
                for i in uncovered
            ],
        )
    conventions = targets.holders.reset_index(drop=True).copy()
    conventions["holder"] = conventions["holder_id"].map(holder_pos).to_numpy(dtype=np.int64)
    row_of = pd.Series(
        np.arange(len(rows)), index=pd.MultiIndex.from_frame(rows[["unit", "holder"]])
    )
    conv_row = pd.Series(
        np.arange(len(conventions)),
        index=pd.MultiIndex.from_frame(conventions[["holder_id", "convention_id"]].astype(str)),
    )
    keys = flux_cov[in_flux[flux_cov["unit"].to_numpy()]]
    keys = keys.assign(convention_id=keys["convention_id"].fillna("").astype(str))
    membership = (
        pd.DataFrame(
            {
                "convention_row": conv_row.reindex(
                    pd.MultiIndex.from_frame(keys[["holder_id", "convention_id"]].astype(str))
                ).to_numpy(),
                "coverage_row": row_of.reindex(
                    pd.MultiIndex.from_frame(keys[["unit", "holder"]])
                ).to_numpy(),
            }
        )
        .dropna()
        .astype(np.int64)
    )
    return rows, conventions, membership


def _segments(
    segments: pd.DataFrame, holder_pos: pd.Series, conventions: pd.DataFrame
) -> pd.DataFrame:
    out = segments.reset_index(drop=True).copy()
    out["holder"] = out["holder_id"].map(holder_pos).to_numpy(dtype=np.int64)
    return out


def _channel_classes(
    applicants: pd.DataFrame, holders: pd.DataFrame, rules: ConstraintSet
) -> dict[int, PairClass]:
    admits: dict[int, PairClass] = {}
    none = np.zeros(0, dtype=np.int64)
    for channel in rules.active_channels:
        matched = np.flatnonzero(filter_mask(holders, channel.holders, "holders"))
        if len(matched) == 0:
            continue
        pair_class = applicant_class(applicants, channel.admits, none, channel.name)
        for h in matched:
            previous = admits.get(int(h))
            if previous is not None:
                pair_class = PairClass(
                    f"{previous.name}+{channel.name}",
                    previous.if_q1 & pair_class.if_q1,
                    previous.if_not_q1 & pair_class.if_not_q1,
                    none,
                )
            admits[int(h)] = pair_class
    direct = np.flatnonzero(holders["mode"].to_numpy() == "direct")
    nobody = np.zeros(len(applicants), dtype=bool)
    for h in direct:
        admits[int(h)] = PairClass("direct-holder", nobody, nobody, none)
    return admits


def holder_volumes(conventions: pd.DataFrame, num_holders: int) -> npt.NDArray[np.float64]:
    """Units each holder may receive in the batch: its needs plus tolerances, at least 0."""
    room = (conventions["need"] + conventions["tolerance"]).clip(lower=0.0)
    volumes = np.zeros(num_holders)
    np.add.at(volumes, conventions["holder"].to_numpy(dtype=np.int64), room.to_numpy())
    return volumes


def class_needs(
    units: pd.DataFrame,
    applicants: pd.DataFrame,
    rules: ConstraintSet,
    coverage: pd.DataFrame,
    conventions: pd.DataFrame,
    admits: dict[int, PairClass],
    num_holders: int,
) -> list[PairClass]:
    """The classes of candidates the rules may need, with how many to keep per unit.

    An "at least" quota's class may be needed by ``ceil(rho · n) + 1`` units of its group of
    ``n`` units (an EPCI's units in scope, a residence's, the units a holder may receive); an
    "at most" quota's complement by ``ceil((1 - rho) · n) + 1``; a holder's channel public
    by as many units as the holder may receive in the batch (need + tolerance, plus the units
    fixed to it). 'auto' keeps that many per unit, bounded by ``max_per_class``.
    """
    pruning = rules.pruning
    n = len(units)
    fixed_k = pruning.keep_per_class if isinstance(pruning.keep_per_class, int) else None

    def keep_for(group_sizes: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        if fixed_k is not None:
            return np.where(group_sizes > 0, fixed_k, 0).astype(np.int64)
        return np.minimum(np.ceil(group_sizes), pruning.max_per_class).astype(np.int64)

    volumes = holder_volumes(conventions, num_holders) + np.bincount(
        coverage.loc[coverage["fixed"], "holder"].to_numpy(dtype=np.int64),
        minlength=num_holders,
    )
    cov_unit = coverage["unit"].to_numpy(dtype=np.int64)
    cov_holder = coverage["holder"].to_numpy(dtype=np.int64)

    def per_unit_max(values_per_holder: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        out = np.zeros(n)
        np.maximum.at(out, cov_unit, values_per_holder[cov_holder])
        return out

    classes: list[PairClass] = []
    for quota in rules.active_quotas:
        at_least = quota.sense == "at_least"
        ratio = quota.level if at_least else 1.0 - quota.level
        if quota.per == "holder":
            needed = per_unit_max(np.ceil(ratio * volumes) + 1.0)
            needed = np.where(filter_mask(units, quota.scope, "units"), needed, 0.0)
        else:
            needed = np.ceil(ratio * _quota_need(units, quota)) + 1.0
            needed = np.where(_quota_need(units, quota) > 0, needed, 0.0)
        share = applicant_class(applicants, quota.share, keep_for(needed), quota.name)
        if at_least:
            classes.append(share)
        else:
            classes.append(
                PairClass(f"not {quota.name}", ~share.if_q1, ~share.if_not_q1, share.keep)
            )
    for h, pair_class in admits.items():
        if pair_class.name == "direct-holder":
            continue
        only_h = np.zeros_like(volumes)
        only_h[h] = volumes[h]
        needed = per_unit_max(only_h)
        classes.append(
            PairClass(pair_class.name, pair_class.if_q1, pair_class.if_not_q1, keep_for(needed))
        )
    return classes


def unit_channel_filters(
    units: pd.DataFrame,
    applicants: pd.DataFrame,
    coverage: pd.DataFrame,
    admits: dict[int, PairClass],
) -> list[tuple[npt.NDArray[np.bool_], PairClass]]:
    """Channel filters of units whose holder is fixed, applied to the graph directly.

    A unit withdrawn from the flux admits only its exclusion channel's public (transfers,
    relocations, nobody for defence units); a unit fixed to a holder with a restricted
    channel admits only that channel's public.
    """
    none = np.zeros(0, dtype=np.int64)
    filters: list[tuple[npt.NDArray[np.bool_], PairClass]] = []
    status = units["flux_status"].astype(str).to_numpy()
    nobody = np.zeros(len(applicants), dtype=bool)
    for channel, expression in EXCLUDED_CHANNELS.items():
        mask = status == channel
        if not mask.any():
            continue
        if expression is None:
            filters.append((mask, PairClass(channel, nobody, nobody, none)))
        else:
            filters.append((mask, applicant_class(applicants, expression, none, channel)))
    fixed = coverage[coverage["fixed"].to_numpy(dtype=bool)]
    for holder, admitted in admits.items():
        fixed_units = fixed.loc[fixed["holder"] == holder, "unit"].to_numpy(dtype=np.int64)
        if len(fixed_units) == 0:
            continue
        mask = np.zeros(len(units), dtype=bool)
        mask[fixed_units] = True
        mask &= ~np.isin(status, list(EXCLUDED_CHANNELS))
        filters.append((mask, admitted))
    return filters


def _quota_need(units: pd.DataFrame, quota: QuotaRule) -> npt.NDArray[np.float64]:
    """For each unit, how many units of its group may need the quota's class (0: none)."""
    in_scope = filter_mask(units, quota.scope, "units")
    if quota.per == "all":
        return np.where(in_scope, float(in_scope.sum()), 0.0)
    key = units["epci" if quota.per == "epci" else "residence_id"].where(in_scope)
    counts = key.map(key.value_counts()).fillna(0.0).to_numpy(dtype=np.float64)
    return np.where(in_scope, counts, 0.0)


def _candidate_graph(
    instance: Instance,
    units: pd.DataFrame,
    applicants: pd.DataFrame,
    rules: ConstraintSet,
    classes: list[PairClass],
    filters: list[tuple[npt.NDArray[np.bool_], PairClass]],
    locks: pd.DataFrame,
) -> CandidateGraph:
    score_norm = normalised_scores(pd.Series(applicants["score"]))
    block = units.groupby(["commune", "rooms"])["unit_id"].transform("size")
    rivals = (block.to_numpy(dtype=np.int64) - 1).astype(np.int64)
    excluded = locks[locks["action"] == "exclude"]
    required = locks[locks["action"] == "require"]
    excluded_keys = set(zip(excluded["unit"], excluded["applicant"], strict=True))
    required_keys = set(zip(required["unit"], required["applicant"], strict=True))
    kept_chunks: list[PairChunk] = []
    kept_values: list[npt.NDArray[np.float64]] = []
    eligible = 0
    for chunk in eligible_pairs(
        units, applicants, instance.ceilings, instance.thresholds, rules.eligibility
    ):
        eligible += len(chunk)
        if excluded_keys:
            drop = np.array(
                [(u, a) in excluded_keys for u, a in zip(chunk.unit, chunk.applicant, strict=True)]
            )
            chunk = chunk.take(~drop)
        for unit_mask, admitted in filters:
            refused = unit_mask[chunk.unit] & ~admitted.members(chunk)
            if refused.any():
                chunk = chunk.take(~refused)
        value = pair_values(chunk, score_norm, rules.value)
        forced = None
        if required_keys:
            forced = np.array(
                [(u, a) in required_keys for u, a in zip(chunk.unit, chunk.applicant, strict=True)]
            )
        keep = prune_chunk(chunk, value, rules.pruning, classes, forced, rivals)
        kept_chunks.append(chunk.take(keep))
        kept_values.append(value[keep])
    graph = CandidateGraph.from_chunks(kept_chunks, kept_values, eligible)
    missing = required_keys - set(zip(graph.unit, graph.applicant, strict=True))
    if missing:
        raise InvalidInputError(
            "locks",
            [
                Problem(
                    "locks",
                    f"applicant {applicants['applicant_id'].iloc[a]} is not eligible for unit "
                    f"{units['unit_id'].iloc[u]}",
                    "a required candidate must meet the eligibility rules; remove the lock or "
                    "correct the data",
                )
                for u, a in sorted(missing)
            ],
        )
    return graph
