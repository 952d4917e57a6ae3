r"""The naive-pulp baseline: the textbook formulation a user would write with PuLP.

From the same :class:`~fluxopt.problem.AllocationProblem` (candidate graph, coverage, flux
targets, channel and quota filters), one ``LpVariable`` per pair and per (unit, holder), and
one Python expression per constraint, built with dictionaries and ``lpSum`` and solved by
CBC. The rule families and their meaning are fluxopt's, written the straightforward way:

- orientation: :math:`\sum_h orient_{u,h} = 1` for each unit with a choice (a unit with one
  possible holder has its variable fixed to 1);
- shortlist: :math:`\sum_a first_{u,a} + \sum_{h\ direct} orient_{u,h} \le 1` per unit (a
  holder in ``direct`` mode proposes its own candidates) and :math:`\sum_u first_{u,a} \le 1`
  per applicant;
- channel: :math:`orient_{u,h} + \sum_{a \notin adm(h)} first_{u,a} \le 1` per unit and
  restricted holder;
- flux: :math:`lo_c \le \sum_{u \in P_c} orient_{u,h} + s^-_c - s^+_c \le hi_c` per convention,
  with the band :math:`[\lceil need - tol \rceil, \lfloor need + tol \rfloor]` of whole
  dwellings (the two integers around the need when it holds none), and the same per segment
  with the segment tolerance;
- quotas per EPCI, residence or batch, at least: :math:`\sum_{p \in g} (m_p - \rho) first_p
  - \rho \sum_{u \in g,\ h\ direct} orient_{u,h} + s_g \ge \rho D_g - N_g` (a unit passed
  to a holder in direct mode is a letting the landlord cannot count in the numerator); at
  most, :math:`\sum_{p \in g} (m_p - \rho) first_p - s_g \le \rho D_g - N_g`; per holder,
  with a helper per (unit, holder): at least, :math:`c_{u,h} \le orient_{u,h}`,
  :math:`c_{u,h} \le \sum_{a \in S} first_{u,a}` and
  :math:`\sum_u c_{u,h} - \rho \sum_u orient_{u,h} + s_h \ge \rho D_h - N_h`;
  at most, :math:`c_{u,h} \ge orient_{u,h} + \sum_{a \in S} first_{u,a} - 1`,
  :math:`f_{u,h} \le orient_{u,h}`, :math:`f_{u,h} \le \sum_a first_{u,a}` and
  :math:`\sum_u c_{u,h} - \rho \sum_u f_{u,h} - s_h \le \rho D_h - N_h`;
- locks: ``orient`` and ``require`` as equalities to 1.

The objective has the same weights as fluxopt's (:func:`fluxopt.model.build.add_objective`);
its constant is the cost of a variable fixed at 1 so that CBC's relative gap is measured on
the whole objective, as fluxopt's is. Ranks 2..k are filled afterwards by
:func:`fluxopt.alternates.choose_alternates`, as for fluxopt.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pulp

from fluxopt.constraints.quota import ytd_counts
from fluxopt.constraints.ruleset import QuotaRule
from fluxopt.model.build import DIRECT_VALUE_LOSS, fillable_units
from fluxopt.problem import AllocationProblem, as_chunk
from fluxopt.rules.filters import filter_mask
from fluxopt.solvers.base import SolveOptions, Status
from fluxopt.solvers.cbc import Command, cbc_command, read_bound, run_pulp

IntArray = npt.NDArray[np.int64]


@dataclass
class NaiveModel:
    """The PuLP problem and its variables, keyed by pair and by coverage row."""

    lp: pulp.LpProblem
    first: dict[int, pulp.LpVariable]
    orient: dict[int, pulp.LpVariable]
    objective_terms: list[pulp.LpAffineExpression] = field(default_factory=list)


@dataclass(frozen=True)
class NaiveSolution:
    """What the naive model's solve gives back."""

    status: Status
    objective: float | None
    bound: float | None
    unit_holder: IntArray
    first_pairs: IntArray
    seconds: float
    message: str


def build_naive(problem: AllocationProblem) -> NaiveModel:
    """The textbook PuLP model of a batch (see the module docstring)."""
    graph = problem.graph
    coverage = problem.coverage
    lp = pulp.LpProblem("naive_allocation", pulp.LpMinimize)
    first = {p: lp.add_variable(f"first_{p}", 0, 1, pulp.LpBinary) for p in range(len(graph))}
    # a binary with bounds: PuLP resets a Binary's bounds to [0, 1], so an integer in [lo, 1]
    fixed = coverage["fixed"].tolist()
    orient = {
        r: lp.add_variable(f"orient_{r}", 1 if fixed[r] else 0, 1, pulp.LpInteger)
        for r in range(len(coverage))
    }
    naive = NaiveModel(lp, first, orient)
    index = _Index(problem)
    _orientation(naive, problem, index)
    _shortlist(naive, problem, index)
    _channels(naive, problem, index)
    _flux(naive, problem)
    for rule in problem.rules.active_quotas:
        if rule.per == "holder":
            _holder_quota(naive, problem, index, rule)
        else:
            _group_quota(naive, problem, index, rule)
    _locks(naive, problem, index)
    _objective(naive, problem, index)
    return naive


class _Index:
    """The lookups a user builds first: pairs per unit and applicant, holders per unit."""

    def __init__(self, problem: AllocationProblem) -> None:
        graph = problem.graph
        self.pairs_of_unit: dict[int, list[int]] = defaultdict(list)
        self.pairs_of_applicant: dict[int, list[int]] = defaultdict(list)
        for p, (u, a) in enumerate(zip(graph.unit.tolist(), graph.applicant.tolist(), strict=True)):
            self.pairs_of_unit[u].append(p)
            self.pairs_of_applicant[a].append(p)
        self.rows_of_unit: dict[int, list[int]] = defaultdict(list)
        coverage = problem.coverage
        self.row_unit = coverage["unit"].astype(int).tolist()
        self.row_holder = coverage["holder"].astype(int).tolist()
        for r, u in enumerate(self.row_unit):
            self.rows_of_unit[u].append(r)
        modes = problem.holders["mode"].tolist()
        self.direct = [mode == "direct" for mode in modes]


def _orientation(naive: NaiveModel, problem: AllocationProblem, index: _Index) -> None:
    if not problem.rules.families.orientation.enabled:
        return
    fixed = problem.coverage["fixed"].tolist()
    for u, rows in index.rows_of_unit.items():
        if len(rows) > 1 and not any(fixed[r] for r in rows):
            naive.lp += pulp.lpSum(naive.orient[r] for r in rows) == 1, f"orientation_{u}"


def _shortlist(naive: NaiveModel, problem: AllocationProblem, index: _Index) -> None:
    for u in range(problem.num_units):
        direct = [r for r in index.rows_of_unit[u] if index.direct[index.row_holder[r]]]
        terms = [naive.first[p] for p in index.pairs_of_unit[u]]
        terms += [naive.orient[r] for r in direct]
        if len(terms) > 1:
            naive.lp += pulp.lpSum(terms) <= 1, f"unit_{u}"
    if not problem.rules.families.shortlist.one_list_per_applicant:
        return
    for a, pairs in index.pairs_of_applicant.items():
        if len(pairs) > 1:
            naive.lp += pulp.lpSum(naive.first[p] for p in pairs) <= 1, f"applicant_{a}"


def _channels(naive: NaiveModel, problem: AllocationProblem, index: _Index) -> None:
    chunk = as_chunk(problem.graph)
    fixed = problem.coverage["fixed"].tolist()
    for h, admitted in sorted(problem.admits.items()):
        if index.direct[h]:
            continue
        admits = admitted.members(chunk).tolist()
        for r, (u, holder) in enumerate(zip(index.row_unit, index.row_holder, strict=True)):
            if holder != h or fixed[r]:
                continue
            refused = [naive.first[p] for p in index.pairs_of_unit[u] if not admits[p]]
            if refused:
                naive.lp += naive.orient[r] + pulp.lpSum(refused) <= 1, f"channel_{h}_{u}"


def integer_band(need: float, tolerance: float) -> tuple[float, float]:
    """The whole numbers of dwellings within ``need ± tolerance`` (the two around if none)."""
    low = math.ceil(need - tolerance - 1e-9)
    high = math.floor(need + tolerance + 1e-9)
    if low > high:
        return float(math.floor(need)), float(math.ceil(need))
    return float(low), float(high)


def _band_rows(
    naive: NaiveModel,
    name: str,
    members: dict[int, list[int]],
    needs: list[float],
    tolerances: list[float],
    weight: float,
    hard: bool,
) -> None:
    for c, (need, tolerance) in enumerate(zip(needs, tolerances, strict=True)):
        under = naive.lp.add_variable(f"{name}_under_{c}", 0, 0 if hard else None)
        over = naive.lp.add_variable(f"{name}_over_{c}", 0, 0 if hard else None)
        low, high = integer_band(need, tolerance)
        oriented = pulp.lpSum(naive.orient[r] for r in members[c]) + under - over
        naive.lp += oriented >= low, f"{name}_low_{c}"
        naive.lp += oriented <= high, f"{name}_high_{c}"
        naive.objective_terms.append(weight * (under + over))


def _flux(naive: NaiveModel, problem: AllocationProblem) -> None:
    rule = problem.rules.families.flux
    conventions = problem.conventions
    if not rule.enabled or conventions.empty:
        return
    weights = problem.rules.weights
    members: dict[int, list[int]] = defaultdict(list)
    membership = problem.membership
    for c, r in zip(
        membership["convention_row"].tolist(), membership["coverage_row"].tolist(), strict=True
    ):
        members[c].append(r)
    _band_rows(
        naive,
        "flux",
        members,
        conventions["need"].astype(float).tolist(),
        conventions["tolerance"].astype(float).tolist(),
        weights.flux,
        rule.hard,
    )
    segments = problem.segments
    if not rule.segment_mix or segments.empty:
        return
    segment_of = {
        (h, c, g): i
        for i, (h, c, g) in enumerate(
            zip(
                segments["holder_id"].astype(str),
                segments["convention_id"].astype(str),
                segments["segment"].astype(str),
                strict=True,
            )
        )
    }
    holder_ids = conventions["holder_id"].astype(str).tolist()
    convention_ids = conventions["convention_id"].astype(str).tolist()
    unit_segment = problem.units["segment"].astype(str).tolist()
    row_unit = problem.coverage["unit"].astype(int).tolist()
    in_segment: dict[int, list[int]] = defaultdict(list)
    for c, rows in members.items():
        for r in rows:
            key = (holder_ids[c], convention_ids[c], unit_segment[row_unit[r]])
            if key in segment_of:
                in_segment[segment_of[key]].append(r)
    _band_rows(
        naive,
        "segment",
        in_segment,
        segments["need"].astype(float).tolist(),
        [rule.segment_tolerance] * len(segments),
        weights.segment,
        False,
    )


def _levels(problem: AllocationProblem, rule: QuotaRule) -> list[float]:
    """Each unit's ratio: its residence's own level where the rule names one, else the rule's."""
    levels = [rule.level] * problem.num_units
    if rule.level_column and rule.level_column in problem.units:
        own = problem.units[rule.level_column].tolist()
        levels = [rule.level if v is None or math.isnan(v) else float(v) for v in own]
    return levels


def _group_quota(
    naive: NaiveModel, problem: AllocationProblem, index: _Index, rule: QuotaRule
) -> None:
    in_scope = filter_mask(problem.units, rule.scope, "units").tolist()
    column = {"epci": "epci", "residence": "residence_id"}.get(rule.per)
    keys = problem.units[column].astype(str).tolist() if column else ["all"] * problem.num_units
    member = problem.share_mask(rule.share).tolist()
    levels = _levels(problem, rule)
    units_of: dict[str, list[int]] = defaultdict(list)
    for u in range(problem.num_units):
        if in_scope[u]:
            units_of[keys[u]].append(u)
    numerator, denominator = ytd_counts(problem, rule, column or "all")
    weight = problem.rules.weights.of(rule.penalty)
    for g, (group, units) in enumerate(sorted(units_of.items())):
        rho = levels[units[-1]]
        rhs = rho * float(denominator.get(group, 0.0)) - float(numerator.get(group, 0.0))
        slack = naive.lp.add_variable(f"{rule.name}_short_{g}", 0, 0 if rule.hard else None)
        counted = pulp.lpSum(
            (float(member[p]) - rho) * naive.first[p] for u in units for p in index.pairs_of_unit[u]
        )
        if rule.sense == "at_least":
            # a unit passed to a direct holder is a letting of the group with no credit
            counted += pulp.lpSum(
                -rho * naive.orient[r]
                for u in units
                for r in index.rows_of_unit[u]
                if index.direct[index.row_holder[r]]
            )
            naive.lp += counted + slack >= rhs, f"{rule.name}_{g}"
        else:
            naive.lp += counted - slack <= rhs, f"{rule.name}_{g}"
        naive.objective_terms.append(weight * slack)


def _holder_quota(
    naive: NaiveModel, problem: AllocationProblem, index: _Index, rule: QuotaRule
) -> None:
    holders = problem.holders
    chosen = filter_mask(holders, rule.holders, "holders").tolist()
    in_scope = filter_mask(problem.units, rule.scope, "units").tolist()
    member = problem.share_mask(rule.share).tolist()
    rho = rule.level
    rows_of: dict[int, list[int]] = defaultdict(list)
    for r, (u, h) in enumerate(zip(index.row_unit, index.row_holder, strict=True)):
        if chosen[h] and not index.direct[h] and in_scope[u] and index.pairs_of_unit[u]:
            rows_of[h].append(r)
    numerator, denominator = ytd_counts(problem, rule, "holder_id")
    holder_ids = holders["holder_id"].astype(str).tolist()
    weight = problem.rules.weights.of(rule.penalty)
    for h, rows in sorted(rows_of.items()):
        counted_terms = []
        filled_terms = []
        for r in rows:
            pairs = index.pairs_of_unit[index.row_unit[r]]
            in_share = pulp.lpSum(naive.first[p] for p in pairs if member[p])
            counted = naive.lp.add_variable(f"{rule.name}_counted_{r}", 0, 1)
            if rule.sense == "at_least":
                naive.lp += counted <= naive.orient[r], f"{rule.name}_c_orient_{r}"
                naive.lp += counted <= in_share, f"{rule.name}_c_share_{r}"
                filled_terms.append(naive.orient[r])
            else:
                filled = naive.lp.add_variable(f"{rule.name}_filled_{r}", 0, 1)
                naive.lp += counted >= naive.orient[r] + in_share - 1, f"{rule.name}_c_{r}"
                naive.lp += filled <= naive.orient[r], f"{rule.name}_f_orient_{r}"
                naive.lp += (
                    filled <= pulp.lpSum(naive.first[p] for p in pairs),
                    f"{rule.name}_f_first_{r}",
                )
                filled_terms.append(filled)
            counted_terms.append(counted)
        group = holder_ids[h]
        rhs = rho * float(denominator.get(group, 0.0)) - float(numerator.get(group, 0.0))
        slack = naive.lp.add_variable(f"{rule.name}_short_{h}", 0, 0 if rule.hard else None)
        total = pulp.lpSum(counted_terms) - rho * pulp.lpSum(filled_terms)
        if rule.sense == "at_least":
            naive.lp += total + slack >= rhs, f"{rule.name}_{h}"
        else:
            naive.lp += total - slack <= rhs, f"{rule.name}_{h}"
        naive.objective_terms.append(weight * slack)


def _locks(naive: NaiveModel, problem: AllocationProblem, index: _Index) -> None:
    locks = problem.locks
    if locks.empty or not problem.rules.families.locks.enabled:
        return
    graph = problem.graph
    applicant_of = graph.applicant.tolist()
    for i, (action, u, h, a) in enumerate(
        zip(locks["action"], locks["unit"], locks["holder"], locks["applicant"], strict=True)
    ):
        if action == "orient":
            rows = [r for r in index.rows_of_unit[int(u)] if index.row_holder[r] == int(h)]
            naive.lp += pulp.lpSum(naive.orient[r] for r in rows) == 1, f"lock_{i}"
        elif action == "require":
            pairs = [p for p in index.pairs_of_unit[int(u)] if applicant_of[p] == int(a)]
            naive.lp += pulp.lpSum(naive.first[p] for p in pairs) == 1, f"lock_{i}"


def _objective(naive: NaiveModel, problem: AllocationProblem, index: _Index) -> None:
    weights = problem.rules.weights
    values = problem.graph.value.tolist()
    fill = pulp.lpSum(
        (weights.value * (1.0 - values[p]) - weights.unfilled) * naive.first[p] for p in naive.first
    )
    direct_cost = weights.value * DIRECT_VALUE_LOSS - weights.unfilled
    direct = pulp.lpSum(
        direct_cost * naive.orient[r] for r in naive.orient if index.direct[index.row_holder[r]]
    )
    one = naive.lp.add_variable("objective_constant", 1, 1)
    constant = weights.unfilled * float(fillable_units(problem).sum())
    naive.lp += fill + direct + pulp.lpSum(naive.objective_terms) + constant * one


def solve_naive(
    naive: NaiveModel,
    problem: AllocationProblem,
    options: SolveOptions,
    command: Command = cbc_command,
) -> NaiveSolution:
    """Solve the naive model with CBC and read each unit's holder and first-ranked pair."""
    run = run_pulp(naive.lp, command, options)
    unit_holder = np.full(problem.num_units, -1, dtype=np.int64)
    first_pairs = np.zeros(0, dtype=np.int64)
    objective = bound = None
    if run.status.has_solution:
        chosen = [r for r, var in naive.orient.items() if _value(var) > 0.5]
        coverage = problem.coverage
        units = coverage["unit"].to_numpy(dtype=np.int64)[chosen]
        unit_holder[units] = coverage["holder"].to_numpy(dtype=np.int64)[chosen]
        first_pairs = np.array(
            [p for p, var in naive.first.items() if _value(var) > 0.5], dtype=np.int64
        )
        objective = float(pulp.value(naive.lp.objective))
        bound = read_bound(run.log, objective)
        bound = None if bound is None else min(bound, objective)
    return NaiveSolution(
        status=run.status,
        objective=objective,
        bound=bound,
        unit_holder=unit_holder,
        first_pairs=first_pairs,
        seconds=run.seconds,
        message=run.message,
    )


def _value(var: pulp.LpVariable) -> float:
    """A variable's value (one PuLP left out of the solve sits at its lower bound)."""
    if var.varValue is not None:
        return float(var.varValue)
    return float(var.lowBound or 0.0)


def timed_build(problem: AllocationProblem) -> tuple[NaiveModel, float]:
    """Build the naive model; return it with the seconds it took."""
    started = time.perf_counter()
    naive = build_naive(problem)
    return naive, time.perf_counter() - started
