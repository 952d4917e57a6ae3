r"""Quotas: ratio rules over first-ranked attributions, year to date included.

For a rule with ratio ``rho``, numerator filter ``S`` (applicants), scope (units) and groups
``g`` (EPCI, residence, holder or all), with ``N_g``, ``D_g`` the year-to-date numerator and
denominator:

.. math:: \text{at least: } N_g + \sum_{p \in g} m_p first_p \ge
          \rho \Big(D_g + \sum_{p \in g} first_p\Big) - s_g

i.e. :math:`\sum_{p \in g} (m_p - \rho) first_p + s_g \ge \rho D_g - N_g`, with
:math:`m_p = 1` when the pair's applicant is in ``S``; "at most" flips the inequality and the
slack's sign. The slack ``s_g`` is penalised (``hard`` fixes it to 0).

Per holder the group depends on the orientation: with :math:`t_u = \sum_{a} (m_{ua} - \rho)
first_{ua}` a unit's contribution, a column :math:`w_{u,h} = t_u \cdot orient_{u,h}` is
linearised exactly by :math:`w_{u,h} \le t_u + \rho (1 - orient_{u,h})` and
:math:`w_{u,h} \le (1 - \rho) orient_{u,h}` (at least; mirrored for at most), and the group
row sums the ``w`` of the holder.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.constraints.ruleset import QuotaRule
from fluxopt.model.blocks import ModelBuilder
from fluxopt.model.variables import Variables, slack_block
from fluxopt.problem import AllocationProblem, evaluate_filter


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
    in_scope = evaluate_filter(past, rule.scope, "year-to-date attributions")
    if rule.per == "holder" and rule.holders:
        kinds = past.assign(kind=past["holder_kind"], mode="delegated")
        in_scope &= evaluate_filter(kinds, rule.holders, "holders")
    past = past[in_scope]
    share = evaluate_filter(past, rule.share, "year-to-date attributions")
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
    in_scope = evaluate_filter(problem.units, rule.scope, "units")
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
    _add_group_rows(
        builder, problem, rule, labels, group_of_unit[owner], var.first.index(pairs), coef, rhs
    )


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
    holders = np.flatnonzero(evaluate_filter(problem.holders, rule.holders, "holders"))
    coverage = problem.coverage
    in_scope = evaluate_filter(problem.units, rule.scope, "units")
    cov_holder = coverage["holder"].to_numpy(dtype=np.int64)
    cov_unit = coverage["unit"].to_numpy(dtype=np.int64)
    rows = np.flatnonzero(np.isin(cov_holder, holders) & in_scope[cov_unit])
    rows = rows[var.pair_count[cov_unit[rows]] > 0]
    if len(rows) == 0:
        return
    rho = rule.level
    at_least = rule.sense == "at_least"
    labels = pd.DataFrame(
        {
            "unit_id": problem.units["unit_id"].to_numpy()[cov_unit[rows]],
            "holder_id": problem.holders["holder_id"].to_numpy()[cov_holder[rows]],
        }
    )
    share = problem.share_mask(rule.share).astype(np.float64)
    w = builder.add_columns(
        f"quota:{rule.name}:w",
        labels,
        lower=-rho if at_least else -np.inf,
        upper=np.inf if at_least else 1.0 - rho,
        integer=False,
    )
    owner, pairs = var.pairs_of_units(cov_unit[rows])
    coef = share[pairs] - rho
    n = len(rows)
    # at least: w - sum (m - rho) first + rho orient <= rho ; w - (1 - rho) orient <= 0
    # at most:  w - sum (m - rho) first - (1 - rho) orient >= -(1 - rho) ; w + rho orient >= 0
    link_a_local = np.concatenate([np.arange(n), owner, np.arange(n)])
    link_a_cols = np.concatenate([w.positions, var.first.index(pairs), var.orient.index(rows)])
    link_a_vals = np.concatenate([np.ones(n), -coef, np.full(n, rho if at_least else -(1.0 - rho))])
    builder.add_rows(
        f"quota:{rule.name}:link-first",
        "quota",
        labels,
        link_a_local,
        link_a_cols,
        link_a_vals,
        lower=-np.inf if at_least else -(1.0 - rho),
        upper=rho if at_least else np.inf,
    )
    builder.add_rows(
        f"quota:{rule.name}:link-orient",
        "quota",
        labels,
        np.concatenate([np.arange(n), np.arange(n)]),
        np.concatenate([w.positions, var.orient.index(rows)]),
        np.concatenate([np.ones(n), np.full(n, -(1.0 - rho) if at_least else rho)]),
        lower=-np.inf if at_least else 0.0,
        upper=0.0 if at_least else np.inf,
    )
    groups, local = np.unique(cov_holder[rows], return_inverse=True)
    group_ids = problem.holders["holder_id"].to_numpy()[groups]
    numerator, denominator = ytd_counts(problem, rule, "holder_id")
    rhs = (
        rho * denominator.reindex(group_ids).fillna(0.0).to_numpy()
        - numerator.reindex(group_ids).fillna(0.0).to_numpy()
    )
    group_labels = pd.DataFrame({"rule": rule.name, "group": group_ids, "level": rho})
    _add_group_rows(builder, problem, rule, group_labels, local, w.positions, np.ones(n), rhs)
