r"""Large batches: solve EPCI by EPCI, carrying the holders' positions from one to the next.

A batch of thousands of units is split by EPCI (intercommunal authority); EPCIs are solved
one after another, largest first, each with the same model as a whole batch. What couples
them is carried forward exactly as the year to date carries earlier months:

- each convention's cumulative target after EPCI ``k`` is its effective share of the flux
  basis seen so far, :math:`s_c (b^{ytd}_c + \sum_{j \le k} b_{c,j})`, and its need is that
  target minus what it received earlier in the year and in EPCIs ``j < k`` (the last EPCI
  settles the batch's rounding within the tolerance);
- the first-ranked applicants of earlier EPCIs count as attributions to date for the
  per-holder quotas, and are no longer candidates elsewhere.

EPCI quotas and mixity caps are local to an EPCI and unaffected. The ranks 2..k are then
chosen for the whole batch at once (:mod:`fluxopt.alternates`).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_bipartite_matching

from fluxopt.candidates import CandidateGraph
from fluxopt.model.build import build_model
from fluxopt.problem import AllocationProblem, as_chunk
from fluxopt.solvers.base import SolveOptions, Status
from fluxopt.strategy import solve_batch
from fluxopt.ytd import ATTRIBUTION_COLUMNS, YearToDate

IntArray = npt.NDArray[np.int64]


@dataclasses.dataclass
class DecomposedSolution:
    """First stage of a batch solved EPCI by EPCI."""

    unit_holder: IntArray
    first_pairs: IntArray
    status: Status
    parts: pd.DataFrame
    """One row per EPCI: units, status, objective, bound, seconds."""


def solve_by_epci(
    problem: AllocationProblem, options: SolveOptions, solver: str = "highs"
) -> DecomposedSolution:
    """Solve the batch EPCI by EPCI (see the module docstring)."""
    started = time.perf_counter()
    parts = split_parts(problem)
    unit_holder = np.full(problem.num_units, -1, dtype=np.int64)
    first_pairs: list[IntArray] = []
    used = np.zeros(len(problem.applicants), dtype=bool)
    done = np.zeros(problem.num_units, dtype=bool)
    records = []
    statuses = []
    left = problem.num_units
    for name, units in parts:
        elapsed = time.perf_counter() - started
        budget = max((options.time_limit - elapsed) * len(units) / left, 1.0)
        left -= len(units)
        sub, pair_map = subproblem(problem, units, used, done, unit_holder, first_pairs)
        model, var = build_model(sub)
        result = solve_batch(
            sub, model, var, dataclasses.replace(options, time_limit=budget), solver
        )
        statuses.append(result.status)
        records.append(
            {
                "epci": name,
                "units": len(units),
                "pairs": len(sub.graph),
                "status": str(result.status),
                "objective": result.objective,
                "bound": result.bound,
                "seconds": result.runtime,
            }
        )
        cov = sub.coverage
        if result.x is None:
            holders, local_pairs = greedy_part(sub)
            records[-1]["status"] = "greedy (no solution in time)"
            unit_holder[units] = holders
            chosen = pair_map[local_pairs]
        else:
            rows = np.flatnonzero(model.values(result.x, "orient") > 0.5)
            unit_holder[units[cov["unit"].to_numpy(dtype=np.int64)[rows]]] = cov["holder"].to_numpy(
                dtype=np.int64
            )[rows]
            chosen = pair_map[np.flatnonzero(model.values(result.x, "first") > 0.5)]
        first_pairs.append(chosen)
        used[problem.graph.applicant[chosen]] = True
        done[units] = True
    status = Status.OPTIMAL if all(s is Status.OPTIMAL for s in statuses) else Status.FEASIBLE
    pairs = np.concatenate(first_pairs) if first_pairs else np.zeros(0, dtype=np.int64)
    return DecomposedSolution(unit_holder, np.sort(pairs), status, pd.DataFrame(records))


PART_MAX_UNITS = 250
"""An EPCI with more units is split into groups of whole communes of about this size."""


def split_parts(problem: AllocationProblem) -> list[tuple[str, IntArray]]:
    """The parts of a batch, largest first: EPCIs, large ones split by communes.

    Communes of a large EPCI are dealt, largest first, into ``ceil(n / PART_MAX_UNITS)``
    groups, each commune to the group with the fewest units so far.
    """
    units = problem.units
    parts: list[tuple[str, IntArray]] = []
    for epci, rows in units.groupby("epci", sort=True).indices.items():
        rows = np.asarray(rows, dtype=np.int64)
        count = int(np.ceil(len(rows) / PART_MAX_UNITS))
        if count <= 1:
            parts.append((str(epci), rows))
            continue
        communes = units["commune"].to_numpy()[rows]
        sizes = pd.Series(communes).value_counts()
        load = np.zeros(count)
        group_of: dict[str, int] = {}
        for commune, size in zip(sizes.index, sizes.to_numpy(), strict=True):
            g = int(np.argmin(load))
            group_of[str(commune)] = g
            load[g] += size
        groups = np.array([group_of[str(c)] for c in communes])
        parts += [(f"{epci}/{g + 1}", rows[groups == g]) for g in range(count)]
    parts.sort(key=lambda part: -len(part[1]))
    return parts


def greedy_part(sub: AllocationProblem) -> tuple[IntArray, IntArray]:
    """A fallback for a part without solution in time: the status-quo rule.

    Units in availability order go to the holder that may receive them and is furthest
    behind its need; each takes its most valuable candidate admitted by that holder and not
    yet ranked first elsewhere (none for a holder in direct mode).
    """
    units = sub.units
    order = np.lexsort((units["unit_id"].to_numpy(), units["available_on"].to_numpy()))
    need = np.zeros(len(sub.holders))
    np.add.at(need, sub.conventions["holder"].to_numpy(dtype=np.int64), sub.conventions["need"])
    cov = sub.coverage
    cov_unit = cov["unit"].to_numpy(dtype=np.int64)
    cov_holder = cov["holder"].to_numpy(dtype=np.int64)
    graph = sub.graph
    starts = np.searchsorted(graph.unit, np.arange(len(units)))
    ends = np.searchsorted(graph.unit, np.arange(len(units)), side="right")
    used: set[int] = set()
    holders = np.full(len(units), -1, dtype=np.int64)
    chosen: list[int] = []
    direct = sub.holders["mode"].to_numpy() == "direct"
    for u in order:
        options = cov_holder[cov_unit == u]
        h = int(options[np.argmax(need[options])])
        holders[u] = h
        need[h] -= 1.0
        if direct[h]:
            continue
        admitted = sub.admits.get(h)
        for p in range(starts[u], ends[u]):
            a = int(graph.applicant[p])
            if a in used:
                continue
            if admitted is not None:
                member = admitted.if_q1[a] if graph.q1[p] else admitted.if_not_q1[a]
                if not member:
                    continue
            used.add(a)
            chosen.append(p)
            break
    return holders, np.array(sorted(chosen), dtype=np.int64)


def fill_repair(sub: AllocationProblem, holders: IntArray, pairs: IntArray) -> IntArray:
    """Give units left empty a candidate where one is free.

    A maximum matching of the empty units (whose holder takes candidates from the landlord)
    to unused applicants their holder admits.
    A time-limited part may leave fillable units empty; filling one never breaks a hard
    rule (the applicant is unused and admitted by the unit's holder) and weighs far more
    than the soft rules it may touch.
    """
    graph = sub.graph
    filled = np.zeros(sub.num_units, dtype=bool)
    filled[graph.unit[pairs]] = True
    used = np.zeros(len(sub.applicants), dtype=bool)
    used[graph.applicant[pairs]] = True
    direct = sub.holders["mode"].to_numpy() == "direct"
    open_unit = ~filled & (holders >= 0) & ~direct[np.maximum(holders, 0)]
    ok = open_unit[graph.unit] & ~used[graph.applicant]
    holder_of_pair = holders[graph.unit]
    chunk = as_chunk(graph)
    for h, admitted in sub.admits.items():
        on_h = holder_of_pair == h
        if on_h.any():
            ok &= ~on_h | admitted.members(chunk)
    candidates = np.flatnonzero(ok)
    if len(candidates) == 0:
        return pairs
    apps, app_col = np.unique(graph.applicant[candidates], return_inverse=True)
    matrix = sp.csr_matrix(
        (np.ones(len(candidates)), (graph.unit[candidates], app_col)),
        shape=(sub.num_units, len(apps)),
    )
    match = maximum_bipartite_matching(matrix, perm_type="column")
    added = []
    for u in np.flatnonzero(match >= 0):
        a = apps[match[u]]
        hits = candidates[(graph.unit[candidates] == u) & (graph.applicant[candidates] == a)]
        added.append(int(hits[0]))
    return np.sort(np.concatenate([pairs, np.array(added, dtype=np.int64)]))


def subproblem(
    problem: AllocationProblem,
    units: IntArray,
    used: npt.NDArray[np.bool_],
    done: npt.NDArray[np.bool_],
    unit_holder: IntArray,
    first_pairs: list[IntArray],
) -> tuple[AllocationProblem, IntArray]:
    """The problem restricted to ``units``, with earlier parts carried as year to date.

    Returns the sub-problem and, for each of its pairs, the pair's position in the whole
    graph.
    """
    graph = problem.graph
    local = np.full(problem.num_units, -1, dtype=np.int64)
    local[units] = np.arange(len(units))
    keep = (local[graph.unit] >= 0) & ~used[graph.applicant]
    pair_map = np.flatnonzero(keep)
    sub_graph = CandidateGraph(
        unit=local[graph.unit[keep]],
        applicant=graph.applicant[keep],
        wish_rank=graph.wish_rank[keep],
        q1=graph.q1[keep],
        burden=graph.burden[keep],
        fit=graph.fit[keep],
        value=graph.value[keep],
        eligible_pairs=int(keep.sum()),
    )
    cov = problem.coverage
    cov_keep = local[cov["unit"].to_numpy(dtype=np.int64)] >= 0
    cov_rows = np.flatnonzero(cov_keep)
    row_local = np.full(len(cov), -1, dtype=np.int64)
    row_local[cov_rows] = np.arange(len(cov_rows))
    coverage = cov[cov_keep].reset_index(drop=True)
    coverage["unit"] = local[coverage["unit"].to_numpy(dtype=np.int64)]
    membership = problem.membership
    member_keep = cov_keep[membership["coverage_row"].to_numpy(dtype=np.int64)]
    sub_membership = membership[member_keep].copy()
    sub_membership["coverage_row"] = row_local[sub_membership["coverage_row"].to_numpy()]
    conventions = _carried_needs(problem, units, done, unit_holder)
    segments = _carried_segments(problem, units, done, unit_holder)
    locks = problem.locks
    if not locks.empty:
        locks = locks[local[locks["unit"].to_numpy(dtype=np.int64)] >= 0].copy()
        locks["unit"] = local[locks["unit"].to_numpy(dtype=np.int64)]
    ytd = _carried_ytd(problem, done, unit_holder, first_pairs)
    sub = dataclasses.replace(
        problem,
        units=problem.units.iloc[units].reset_index(drop=True),
        graph=sub_graph,
        coverage=coverage,
        membership=sub_membership.reset_index(drop=True),
        conventions=conventions,
        segments=segments,
        locks=locks.reset_index(drop=True),
        ytd=ytd,
        timings={},
        stats={},
    )
    return sub, pair_map


def _flux_members(problem: AllocationProblem) -> tuple[IntArray, IntArray, IntArray]:
    """For each membership row: convention row, unit position, holder position."""
    cov = problem.coverage
    rows = problem.membership["coverage_row"].to_numpy(dtype=np.int64)
    return (
        problem.membership["convention_row"].to_numpy(dtype=np.int64),
        cov["unit"].to_numpy(dtype=np.int64)[rows],
        cov["holder"].to_numpy(dtype=np.int64)[rows],
    )


def _carried_needs(
    problem: AllocationProblem, units: IntArray, done: npt.NDArray[np.bool_], unit_holder: IntArray
) -> pd.DataFrame:
    """Conventions' needs for a sub-batch: cumulative share of the basis seen so far."""
    conventions = problem.conventions.copy()
    conv_row, member_unit, member_holder = _flux_members(problem)
    in_part = np.zeros(problem.num_units, dtype=bool)
    in_part[units] = True
    count = len(conventions)
    seen = np.bincount(conv_row, weights=(done | in_part)[member_unit], minlength=count)
    got = np.bincount(
        conv_row,
        weights=(done[member_unit] & (unit_holder[member_unit] == member_holder)),
        minlength=count,
    )
    basis_total = conventions["basis_ytd"].to_numpy(float) + conventions["basis_batch"].to_numpy(
        float
    )
    share = np.divide(
        conventions["target_cumulative"].to_numpy(float),
        basis_total,
        out=np.zeros(count),
        where=basis_total > 0,
    )
    target = share * (conventions["basis_ytd"].to_numpy(float) + seen)
    conventions["target_cumulative"] = target
    conventions["need"] = target - conventions["oriented_ytd"].to_numpy(float) - got
    return conventions


def _carried_segments(
    problem: AllocationProblem, units: IntArray, done: npt.NDArray[np.bool_], unit_holder: IntArray
) -> pd.DataFrame:
    segments = problem.segments.copy()
    if segments.empty:
        return segments
    conv_row, member_unit, member_holder = _flux_members(problem)
    conventions = problem.conventions
    in_part = np.zeros(problem.num_units, dtype=bool)
    in_part[units] = True
    key = pd.MultiIndex.from_arrays(
        [
            conventions["holder_id"].astype(str).to_numpy()[conv_row],
            conventions["convention_id"].astype(str).to_numpy()[conv_row],
            problem.units["segment"].astype(str).to_numpy()[member_unit],
        ]
    )
    frame = pd.DataFrame(
        {
            "seen": (done | in_part)[member_unit].astype(float),
            "got": (done[member_unit] & (unit_holder[member_unit] == member_holder)).astype(float),
        },
        index=key,
    )
    sums = frame.groupby(level=[0, 1, 2]).sum()
    seg_key = pd.MultiIndex.from_arrays(
        [
            segments["holder_id"].astype(str),
            segments["convention_id"].astype(str),
            segments["segment"].astype(str),
        ]
    )
    seen = sums["seen"].reindex(seg_key).fillna(0.0).to_numpy()
    got = sums["got"].reindex(seg_key).fillna(0.0).to_numpy()
    basis_total = segments["basis_ytd"].to_numpy(float) + segments["basis_batch"].to_numpy(float)
    share = np.divide(
        segments["target_cumulative"].to_numpy(float),
        basis_total,
        out=np.zeros(len(segments)),
        where=basis_total > 0,
    )
    target = share * (segments["basis_ytd"].to_numpy(float) + seen)
    segments["target_cumulative"] = target
    segments["need"] = target - segments["oriented_ytd"].to_numpy(float) - got
    return segments


def _carried_ytd(
    problem: AllocationProblem,
    done: npt.NDArray[np.bool_],
    unit_holder: IntArray,
    first_pairs: list[IntArray],
) -> YearToDate:
    if not first_pairs:
        return problem.ytd
    pairs = np.concatenate(first_pairs)
    graph = problem.graph
    units = problem.units.iloc[graph.unit[pairs]].reset_index(drop=True)
    people = problem.applicants.iloc[graph.applicant[pairs]].reset_index(drop=True)
    holders = unit_holder[graph.unit[pairs]]
    rows = pd.DataFrame(
        {
            "unit_id": units["unit_id"],
            "month": units["month"],
            "commune": units["commune"],
            "epci": units["epci"],
            "residence_id": units["residence_id"],
            "qpv": units["qpv"].astype(bool),
            "fragile": units["fragile"].astype(bool),
            "lec_applies": units["lec_applies"].astype(bool),
            "segment": units["segment"],
            "holder_id": problem.holders["holder_id"].to_numpy()[holders],
            "holder_kind": problem.holders["kind"].to_numpy()[holders],
            "applicant_id": people["applicant_id"],
            "q1": graph.q1[pairs],
            "priority": people["priority"].astype(bool),
            "dalo": people["dalo"].astype(bool),
            "renewal_relocation": people["renewal_relocation"].astype(bool),
            "is_transfer": people["is_transfer"].astype(bool),
            "employer_action_logement": people["employer_action_logement"].astype(bool),
            "state_agent": people["state_agent"].astype(bool),
        }
    )[list(ATTRIBUTION_COLUMNS)]
    del done
    previous = problem.ytd.attributions
    attributions = rows if previous.empty else pd.concat([previous, rows], ignore_index=True)
    return YearToDate(orientations=problem.ytd.orientations, attributions=attributions)
