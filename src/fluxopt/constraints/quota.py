r"""Quotas: ratio rules over first-ranked attributions, year to date included.

For a rule with ratio ``rho``, numerator filter ``S`` (applicants), scope (units) and groups
``g`` (EPCI, residence, holder or all), with ``N_g``, ``D_g`` the year-to-date numerator and
denominator:

.. math:: \text{at least: } N_g + \sum_{p \in g} m_p first_p \ge
          \rho \Big(D_g + \sum_{p \in g} first_p\Big) - s_g

i.e. :math:`\sum_{p \in g} (m_p - \rho) first_p + s_g \ge \rho D_g - N_g`, with
:math:`m_p = 1` when the pair's applicant is in ``S``; "at most" flips the inequality and the
slack's sign. The slack ``s_g`` is penalised (``hard`` fixes it to 0).

Per holder the group depends on the orientation. For "at least", a column
:math:`r_{u,h} \in [0, 1]` counts unit ``u`` as a numerator attribution of holder ``h``:
:math:`r_{u,h} \le orient_{u,h}` and :math:`\sum_h r_{u,h} \le \sum_{a \in S} first_{u,a}`,
with the group row :math:`\sum_u r_{u,h} - \rho \sum_u orient_{u,h} + s_h \ge \rho D_h - N_h`.
In an "at least" group, a unit oriented to a holder in direct mode (who proposes its own
candidate) adds :math:`-\rho\, orient_{u,h}`: a letting of the group the landlord cannot
count in the numerator, so that passing units to such holders never eases a quota.
The denominator counts the units oriented to ``h`` rather than those filled: an unfilled unit
counts against the holder, which is conservative (a quota met in the model is met in the
attributions). For "at most", with :math:`t_u = \sum_a (m_{ua} - \rho) first_{ua}`, a column
:math:`w_{u,h} = t_u \cdot orient_{u,h}` is linearised exactly by
:math:`w_{u,h} \ge t_u - (1 - \rho)(1 - orient_{u,h})` and :math:`w_{u,h} \ge -\rho\,
orient_{u,h}`. Holders in direct mode are left out: they choose their own candidates.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.constraints.ruleset import QuotaRule
from fluxopt.constraints.shortlist import direct_coverage_rows
from fluxopt.model.blocks import ColumnBlock, ModelBuilder
from fluxopt.model.variables import Variables, slack_block
from fluxopt.problem import AllocationProblem, applicant_class
from fluxopt.rules.filters import filter_mask


def group_keys(problem: AllocationProblem, rule: QuotaRule) -> npt.NDArray[np.object_]:
    """The group of each unit for an EPCI, residence or whole-batch rule."""
    if rule.per == "all":
        return np.full(problem.num_units, "all", dtype=object)
    column = "epci" if rule.per == "epci" else "residence_id"
    return problem.units[column].astype(str).to_numpy(dtype=object)


def unit_levels(problem: AllocationProblem, rule: QuotaRule) -> npt.NDArray[np.float64]:
    """The ratio of each unit's group: the level column where given, else the rule's level."""
    levels = np.full(problem.num_units, rule.level)
    if rule.level_column and rule.level_column in problem.units:
        own = problem.units[rule.level_column].to_numpy(dtype=np.float64)
        levels = np.where(np.isnan(own), levels, own)
    return levels


def ytd_counts(problem: AllocationProblem, rule: QuotaRule, by: str) -> tuple[pd.Series, pd.Series]:
    """Year-to-date numerator and denominator per group (``by`` = the grouping column)."""
    past = problem.ytd.attributions
    if past.empty:
        empty = pd.Series(dtype=np.float64)
        return empty, empty
    in_scope = filter_mask(past, rule.scope, "year-to-date attributions")
    if rule.per == "holder" and rule.holders:
        kinds = past.assign(kind=past["holder_kind"], mode="delegated")
        in_scope &= filter_mask(kinds, rule.holders, "holders")
    past = past[in_scope]
    share = filter_mask(past, rule.share, "year-to-date attributions")
    keys = past[by].astype(str) if by != "all" else pd.Series("all", index=past.index)
    numerator = pd.Series(share.astype(np.float64), index=past.index).groupby(keys).sum()
    denominator = keys.value_counts().astype(np.float64)
    return numerator, denominator


def add_quota(
    builder: ModelBuilder, problem: AllocationProblem, var: Variables, rule: QuotaRule
) -> None:
    """Rows ``quota:<name>``, one per group (plus link rows for per-holder rules)."""
    if rule.per == "holder":
        _add_holder_quota(builder, problem, var, rule)
        return
    in_scope = filter_mask(problem.units, rule.scope, "units")
    units = np.flatnonzero(in_scope)
    if len(units) == 0:
        return
    keys = group_keys(problem, rule)
    groups, group_of_unit = np.unique(keys[units], return_inverse=True)
    levels_of_unit = unit_levels(problem, rule)[units]
    level = np.zeros(len(groups))
    level[group_of_unit] = levels_of_unit
    owner, pairs = var.pairs_of_units(units)
    member = problem.share_mask(rule.share)[pairs].astype(np.float64)
    coef = member - level[group_of_unit[owner]]
    numerator, denominator = ytd_counts(
        problem, rule, {"epci": "epci", "residence": "residence_id", "all": "all"}[rule.per]
    )
    n_ytd = numerator.reindex(groups).fillna(0.0).to_numpy()
    d_ytd = denominator.reindex(groups).fillna(0.0).to_numpy()
    rhs = level * d_ytd - n_ytd
    labels = pd.DataFrame({"rule": rule.name, "group": groups, "level": level})
    local, cols = group_of_unit[owner], var.first.index(pairs)
    if rule.sense == "at_least":
        # A unit passed to a holder who proposes its own candidate is still a letting of the
        # group: it counts in the denominator, and (conservatively) not in the numerator.
        direct = direct_coverage_rows(problem)
        in_group = np.full(problem.num_units, -1, dtype=np.int64)
        in_group[units] = group_of_unit
        direct_group = in_group[problem.coverage["unit"].to_numpy(dtype=np.int64)[direct]]
        counted = direct_group >= 0
        local = np.concatenate([local, direct_group[counted]])
        cols = np.concatenate([cols, var.orient.index(direct[counted])])
        coef = np.concatenate([coef, -level[direct_group[counted]]])
    _add_group_rows(builder, problem, rule, labels, local, cols, coef, rhs)


def _add_group_rows(
    builder: ModelBuilder,
    problem: AllocationProblem,
    rule: QuotaRule,
    labels: pd.DataFrame,
    local: npt.NDArray[np.int64],
    cols: npt.NDArray[np.int64],
    coef: npt.NDArray[np.float64],
    rhs: npt.NDArray[np.float64],
) -> None:
    count = len(labels)
    weight = problem.rules.weights.of(rule.penalty)
    slack = slack_block(builder, f"quota:{rule.name}:shortfall", labels, weight, rule.hard)
    sign = 1.0 if rule.sense == "at_least" else -1.0
    builder.add_rows(
        f"quota:{rule.name}",
        "quota",
        labels.assign(ytd_rhs=rhs),
        np.concatenate([local, np.arange(count)]),
        np.concatenate([cols, slack.positions]),
        np.concatenate([coef, np.full(count, sign)]),
        lower=rhs if rule.sense == "at_least" else -np.inf,
        upper=np.inf if rule.sense == "at_least" else rhs,
    )


def _add_holder_quota(
    builder: ModelBuilder, problem: AllocationProblem, var: Variables, rule: QuotaRule
) -> None:
    holder_ok = filter_mask(problem.holders, rule.holders, "holders")
    holder_ok = holder_ok & (problem.holders["mode"].to_numpy() != "direct")
    holders = np.flatnonzero(holder_ok)
    coverage = problem.coverage
    in_scope = filter_mask(problem.units, rule.scope, "units")
    cov_holder = coverage["holder"].to_numpy(dtype=np.int64)
    cov_unit = coverage["unit"].to_numpy(dtype=np.int64)
    rows = np.flatnonzero(np.isin(cov_holder, holders) & in_scope[cov_unit])
    rows = rows[var.pair_count[cov_unit[rows]] > 0]
    if len(rows) == 0:
        return
    labels = pd.DataFrame(
        {
            "unit_id": problem.units["unit_id"].to_numpy()[cov_unit[rows]],
            "holder_id": problem.holders["holder_id"].to_numpy()[cov_holder[rows]],
        }
    )
    share = problem.share_mask(rule.share)
    if rule.sense == "at_least":
        counted = _numerator_columns(builder, problem, var, rule, rows, labels, share)
        coef = np.ones(len(rows))
    else:
        counted = _excess_columns(builder, problem, var, rule, rows, labels, share)
        coef = np.ones(len(rows))
    groups, local = np.unique(cov_holder[rows], return_inverse=True)
    group_ids = problem.holders["holder_id"].to_numpy()[groups]
    numerator, denominator = ytd_counts(problem, rule, "holder_id")
    rho = rule.level
    rhs = (
        rho * denominator.reindex(group_ids).fillna(0.0).to_numpy()
        - numerator.reindex(group_ids).fillna(0.0).to_numpy()
    )
    group_labels = pd.DataFrame({"rule": rule.name, "group": group_ids, "level": rho})
    if rule.sense == "at_least":
        local_all = np.concatenate([local, local])
        cols_all = np.concatenate([counted.positions, var.orient.index(rows)])
        coef_all = np.concatenate([coef, np.full(len(rows), -rho)])
    else:
        local_all, cols_all, coef_all = local, counted.positions, coef
    _add_group_rows(builder, problem, rule, group_labels, local_all, cols_all, coef_all, rhs)


def _numerator_columns(
    builder: ModelBuilder,
    problem: AllocationProblem,
    var: Variables,
    rule: QuotaRule,
    rows: npt.NDArray[np.int64],
    labels: pd.DataFrame,
    share: npt.NDArray[np.bool_],
) -> ColumnBlock:
    """Columns r[u,h] <= orient[u,h], sum_h r[u,h] <= sum_{a in S} first[u,a]."""
    n = len(rows)
    cov_unit = problem.coverage["unit"].to_numpy(dtype=np.int64)[rows]
    r = builder.add_columns(f"quota:{rule.name}:counted", labels, integer=False)
    builder.add_rows(
        f"quota:{rule.name}:link-orient",
        "quota",
        labels,
        np.concatenate([np.arange(n), np.arange(n)]),
        np.concatenate([r.positions, var.orient.index(rows)]),
        np.concatenate([np.ones(n), -np.ones(n)]),
        upper=0.0,
    )
    units, unit_local = np.unique(cov_unit, return_inverse=True)
    owner, pairs = var.pairs_of_units(units)
    members = share[pairs]
    builder.add_rows(
        f"quota:{rule.name}:link-first",
        "quota",
        pd.DataFrame({"unit_id": problem.units["unit_id"].to_numpy()[units]}),
        np.concatenate([unit_local, owner[members]]),
        np.concatenate([r.positions, var.first.index(pairs[members])]),
        np.concatenate([np.ones(n), -np.ones(int(members.sum()))]),
        upper=0.0,
    )
    # The unit's single first-ranked applicant serves one holder: a holder whose channel
    # admits only the numerator's public (the State for priority households) uses it up.
    cov = problem.coverage
    in_units = np.zeros(problem.num_units, dtype=np.int64) - 1
    in_units[units] = np.arange(len(units))
    cov_local = in_units[cov["unit"].to_numpy(dtype=np.int64)]
    holder_of = cov["holder"].to_numpy(dtype=np.int64)
    direct = problem.holders["mode"].to_numpy() == "direct"
    inside = np.array(
        [
            _admits_only(problem, h, rule) and h not in set(cov_holder_of(problem, rows))
            for h in range(len(problem.holders))
        ]
    )
    extra = np.flatnonzero((cov_local >= 0) & (direct[holder_of] | inside[holder_of]))
    outside = ~members
    builder.add_rows(
        f"quota:{rule.name}:link-unit",
        "quota",
        pd.DataFrame({"unit_id": problem.units["unit_id"].to_numpy()[units]}),
        np.concatenate([unit_local, cov_local[extra], owner[outside]]),
        np.concatenate([r.positions, var.orient.index(extra), var.first.index(pairs[outside])]),
        np.ones(n + len(extra) + int(outside.sum())),
        upper=1.0,
    )
    return r


def cov_holder_of(problem: AllocationProblem, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Holder positions of coverage rows."""
    return problem.coverage["holder"].to_numpy(dtype=np.int64)[rows]


def _admits_only(problem: AllocationProblem, holder: int, rule: QuotaRule) -> bool:
    """Whether the holder's channel admits only applicants of the rule's numerator."""
    admitted = problem.admits.get(holder)
    if admitted is None or admitted.name == "direct-holder":
        return False
    share = applicant_class(problem.applicants, rule.share, np.zeros(0, dtype=np.int64))
    return not bool(
        (admitted.if_q1 & ~share.if_q1).any() or (admitted.if_not_q1 & ~share.if_not_q1).any()
    )


def _excess_columns(
    builder: ModelBuilder,
    problem: AllocationProblem,
    var: Variables,
    rule: QuotaRule,
    rows: npt.NDArray[np.int64],
    labels: pd.DataFrame,
    share: npt.NDArray[np.bool_],
) -> ColumnBlock:
    """Columns w[u,h] = t_u orient[u,h] for an at-most rule (exact linearisation)."""
    rho = rule.level
    n = len(rows)
    cov_unit = problem.coverage["unit"].to_numpy(dtype=np.int64)[rows]
    w = builder.add_columns(
        f"quota:{rule.name}:w", labels, lower=-np.inf, upper=1.0 - rho, integer=False
    )
    owner, pairs = var.pairs_of_units(cov_unit)
    coef = share[pairs].astype(np.float64) - rho
    builder.add_rows(
        f"quota:{rule.name}:link-first",
        "quota",
        labels,
        np.concatenate([np.arange(n), owner, np.arange(n)]),
        np.concatenate([w.positions, var.first.index(pairs), var.orient.index(rows)]),
        np.concatenate([np.ones(n), -coef, np.full(n, -(1.0 - rho))]),
        lower=-(1.0 - rho),
    )
    builder.add_rows(
        f"quota:{rule.name}:link-orient",
        "quota",
        labels,
        np.concatenate([np.arange(n), np.arange(n)]),
        np.concatenate([w.positions, var.orient.index(rows)]),
        np.concatenate([np.ones(n), np.full(n, rho)]),
        lower=0.0,
    )
    return w
