"""The greedy baseline: the status quo of an allocation team, one unit at a time.

Units are taken in the order they become available (``available_on``, then ``unit_id``).
For each unit:

1. **orientation**: a unit of the flux with several possible holders goes to the covering
   holder furthest behind its flux target at that moment, the deficit of a holder being
   :math:`need_c - got_c` for the convention ``c`` of its that covers the unit (the largest
   when several do), ``got_c`` counting the units given in this pass; ties go to the first
   holder in the holders table. A unit with one possible holder (withdrawn from the flux,
   kept in stock, covered by a single convention) goes to it; an ``orient`` lock wins;
2. **first rank**: the best-*scored* applicant of the unit's candidate list (the same
   candidate graph as fluxopt's) whom the holder's channel admits and who is not on another
   list yet; a holder in ``direct`` mode gets nobody (it proposes its own candidates); a
   ``require`` lock wins;
3. **alternates**: ranks 2..k, the next best-scored applicants by the same filter.

No quota is looked at. The result is the same decision tables as fluxopt's
(:func:`fluxopt.decisions.make_decisions`), so the verifier and every report apply to it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.decisions import Decisions, make_decisions
from fluxopt.problem import AllocationProblem, as_chunk

IntArray = npt.NDArray[np.int64]


def greedy_decisions(problem: AllocationProblem) -> Decisions:
    """The greedy baseline's decision tables (see the module docstring)."""
    unit_holder, pairs, ranks = greedy_assignment(problem)
    return make_decisions(problem, unit_holder, pairs, ranks)


def greedy_assignment(problem: AllocationProblem) -> tuple[IntArray, IntArray, IntArray]:
    """Each unit's holder position (-1 if none), the ranked pairs and their ranks."""
    graph = problem.graph
    n_units = problem.num_units
    k = problem.rules.families.shortlist.size
    one_list = problem.rules.families.shortlist.one_list_per_applicant
    score = problem.applicants["score"].to_numpy(dtype=np.float64)
    order = np.lexsort((np.arange(len(graph)), -score[graph.applicant], graph.unit))
    count = np.bincount(graph.unit, minlength=n_units)
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
    orient = _Orientation(problem)
    admitted = _Admission(problem)
    oriented_lock, required_lock = _locks(problem)
    used = np.zeros(len(problem.applicants), dtype=bool)
    unit_holder = np.full(n_units, -1, dtype=np.int64)
    chosen: list[IntArray] = []
    for u in availability_order(problem).tolist():
        holder = oriented_lock.get(u, -1)
        holder = orient.choose(u) if holder < 0 else orient.give(u, holder)
        unit_holder[u] = holder
        candidates = order[start[u] : start[u] + count[u]]
        if holder >= 0:
            candidates = candidates[admitted.mask(holder)[candidates]]
        candidates = candidates[~used[graph.applicant[candidates]]]
        required = required_lock.get(u, -1)
        if required >= 0:
            candidates = np.concatenate([[required], candidates[candidates != required]])
        picked = candidates[:k]
        if len(picked):
            used[graph.applicant[picked if one_list else picked[:1]]] = True
        chosen.append(picked.astype(np.int64))
    pairs = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    ranks = np.concatenate([np.arange(1, len(p) + 1) for p in chosen]) if chosen else pairs
    return unit_holder, pairs, ranks.astype(np.int64)


def availability_order(problem: AllocationProblem) -> IntArray:
    """Unit positions in the order the units become available, then by unit id."""
    units = problem.units
    frame = pd.DataFrame(
        {
            "available_on": pd.to_datetime(units["available_on"], errors="coerce"),
            "unit_id": units["unit_id"].astype(str),
            "position": np.arange(len(units)),
        }
    )
    ordered = frame.sort_values(["available_on", "unit_id"], kind="stable", na_position="last")
    return ordered["position"].to_numpy(dtype=np.int64)


class _Orientation:
    """Holders' deficits against their flux targets, updated as units are given."""

    def __init__(self, problem: AllocationProblem) -> None:
        coverage = problem.coverage
        self.holder = coverage["holder"].to_numpy(dtype=np.int64)
        self.fixed = coverage["fixed"].to_numpy(dtype=bool)
        unit = coverage["unit"].to_numpy(dtype=np.int64)
        count = np.bincount(unit, minlength=problem.num_units)
        self.start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.int64)
        self.count = count
        self.order = np.argsort(unit, kind="stable")
        membership = problem.membership.sort_values("coverage_row", kind="stable")
        cov_rows = membership["coverage_row"].to_numpy(dtype=np.int64)
        self.conv = membership["convention_row"].to_numpy(dtype=np.int64)
        per_row = np.bincount(cov_rows, minlength=len(coverage))
        self.conv_start = np.concatenate([[0], np.cumsum(per_row)[:-1]]).astype(np.int64)
        self.conv_count = per_row
        self.need = problem.conventions["need"].to_numpy(dtype=np.float64).copy()
        self.got = np.zeros(len(self.need))

    def _rows(self, unit: int) -> IntArray:
        return self.order[self.start[unit] : self.start[unit] + self.count[unit]]

    def _conventions(self, row: int) -> IntArray:
        return self.conv[self.conv_start[row] : self.conv_start[row] + self.conv_count[row]]

    def deficit(self, row: int) -> float:
        """How far the holder of a coverage row is behind, on the conventions covering it."""
        conventions = self._conventions(row)
        if len(conventions) == 0:
            return -np.inf
        return float((self.need[conventions] - self.got[conventions]).max())

    def choose(self, unit: int) -> int:
        """The holder the unit goes to (-1 if none); its conventions' counts are updated."""
        rows = self._rows(unit)
        if len(rows) == 0:
            return -1
        fixed = rows[self.fixed[rows]]
        if len(fixed):
            row = int(fixed[0])
        else:
            deficits = np.array([self.deficit(int(r)) for r in rows])
            best = rows[deficits == deficits.max()]
            row = int(best[np.argmin(self.holder[best])])
        self.got[self._conventions(row)] += 1
        return int(self.holder[row])

    def give(self, unit: int, holder: int) -> int:
        """Record that the unit goes to ``holder`` (a lock); return it."""
        rows = self._rows(unit)
        match = rows[self.holder[rows] == holder]
        if len(match):
            self.got[self._conventions(int(match[0]))] += 1
        return holder


class _Admission:
    """Which pairs each holder's channel admits, computed once per holder."""

    def __init__(self, problem: AllocationProblem) -> None:
        self.problem = problem
        self.chunk = as_chunk(problem.graph)
        self.cache: dict[int, npt.NDArray[np.bool_]] = {}
        self.everyone = np.ones(len(problem.graph), dtype=bool)

    def mask(self, holder: int) -> npt.NDArray[np.bool_]:
        """Admitted pairs of ``holder`` (every pair for an unrestricted holder)."""
        admits = self.problem.admits.get(holder)
        if admits is None:
            return self.everyone
        if holder not in self.cache:
            self.cache[holder] = admits.members(self.chunk)
        return self.cache[holder]


def _locks(problem: AllocationProblem) -> tuple[dict[int, int], dict[int, int]]:
    """``orient`` locks (unit → holder) and ``require`` locks (unit → graph pair)."""
    locks = problem.locks
    if locks.empty or not problem.rules.families.locks.enabled:
        return {}, {}
    oriented = locks[locks["action"] == "orient"]
    orient = dict(
        zip(
            oriented["unit"].astype(int).tolist(),
            oriented["holder"].astype(int).tolist(),
            strict=True,
        )
    )
    required = locks[locks["action"] == "require"]
    graph = problem.graph
    pair_of = pd.Series(
        np.arange(len(graph)), index=pd.MultiIndex.from_arrays([graph.unit, graph.applicant])
    )
    keys = pd.MultiIndex.from_arrays(
        [required["unit"].astype(int).to_numpy(), required["applicant"].astype(int).to_numpy()]
    )
    pairs = pair_of.reindex(keys).to_numpy()
    require = {
        int(u): int(p)
        for u, p in zip(required["unit"].astype(int), pairs, strict=True)
        if not np.isnan(p)
    }
    return orient, require
