r"""Is a missed quota attainable at all? The best share the candidate graph can reach.

A quota the candidate graph cannot reach is not an infeasibility: the batch meets it as far
as possible. For every quota group that the verifier finds short, this module computes the
best share reachable with the group's lettings of the batch: the most numerator
applicants that can be ranked first on the group's filled units, each applicant once, is a
maximum bipartite matching between those units and their candidates of the numerator's
public (Hopcroft-Karp, scipy). With ``N``, ``D`` the year-to-date numerator and denominator
and ``F`` the group's units filled by the batch:

.. math:: \text{best} = \frac{N + \\min(M, F)}{D + F} \\quad (\text{at least}), \\qquad
          \text{best} = \frac{N + F - \\min(M^c, F)}{D + F} \\quad (\text{at most})

with ``M^c`` the matching of the complement public. A group whose best is below (above)
its level is *unattainable*; one that is not is a shortfall the solve accepted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import maximum_bipartite_matching

from fluxopt.allocate import Allocation
from fluxopt.problem import as_chunk
from fluxopt.rules.filters import filter_mask
from fluxopt.verify import VerificationReport


def quota_reachability(allocation: Allocation, report: VerificationReport) -> pd.DataFrame:
    """For each quota group short of its level: the best reachable share and a verdict."""
    if report.quotas.empty:
        return pd.DataFrame()
    problem = allocation.problem
    graph = problem.graph
    chunk = as_chunk(graph)
    first = allocation.decisions.first_ranked
    filled_units = set(first["unit_id"])
    unit_ids = problem.units["unit_id"].to_numpy()
    filled = np.array([u in filled_units for u in unit_ids])
    holder_of = allocation.decisions.orientation.set_index("unit_id")["holder_id"]
    unit_holder = np.array([str(holder_of.get(u, "")) for u in unit_ids])
    rules = {rule.name: rule for rule in problem.rules.active_quotas}
    rows = []
    for record in report.quotas[~report.quotas["met"]].to_dict("records"):
        rule = rules.get(str(record["rule"]))
        if rule is None:
            continue
        in_scope = filter_mask(problem.units, rule.scope, "units")
        group = str(record["group"])
        if rule.per == "epci":
            in_group = problem.units["epci"].astype(str).to_numpy() == group
        elif rule.per == "residence":
            in_group = problem.units["residence_id"].astype(str).to_numpy() == group
        elif rule.per == "holder":
            in_group = unit_holder == group
        else:
            in_group = np.ones(problem.num_units, dtype=bool)
        units = in_scope & in_group & filled
        share = problem.share_mask(rule.share)
        wanted = share if rule.sense == "at_least" else ~share
        ok = units[graph.unit] & wanted
        holder_pos = {h: i for i, h in enumerate(problem.holders["holder_id"])}
        for holder_id in set(unit_holder[units]):
            admitted = problem.admits.get(holder_pos.get(holder_id, -1))
            if admitted is not None and admitted.name != "direct-holder":
                on_h = unit_holder[graph.unit] == holder_id
                ok &= ~on_h | admitted.members(chunk)
        matched = _matching(graph.unit[ok], graph.applicant[ok])
        count = int(units.sum())
        past_n = float(record["ytd_numerator"])
        past_d = float(record["ytd_denominator"])
        reach = min(matched, count)
        best_n = past_n + reach if rule.sense == "at_least" else past_n + count - reach
        best = best_n / (past_d + count) if past_d + count > 0 else float("nan")
        level = float(record["level"])
        attainable = best >= level - 1e-9 if rule.sense == "at_least" else best <= level + 1e-9
        rows.append(
            {
                "rule": rule.name,
                "group": group,
                "attained": record["ratio"],
                "best_reachable": best,
                "level": level,
                "sense": rule.sense,
                "attainable": bool(attainable),
                "verdict": "shortfall accepted by the solve"
                if attainable
                else f"unattainable: best reachable {best:.0%} (target {level:.0%})",
            }
        )
    return pd.DataFrame(rows)


def _matching(units: np.ndarray, applicants: np.ndarray) -> int:
    if len(units) == 0:
        return 0
    u_ids, u_idx = np.unique(units, return_inverse=True)
    a_ids, a_idx = np.unique(applicants, return_inverse=True)
    matrix = sp.csr_matrix((np.ones(len(u_idx)), (u_idx, a_idx)), shape=(len(u_ids), len(a_ids)))
    match = maximum_bipartite_matching(matrix, perm_type="column")
    return int((match >= 0).sum())
