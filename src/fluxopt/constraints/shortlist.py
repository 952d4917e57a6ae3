r"""Shortlist, first stage: one first-ranked applicant per unit, one unit per applicant.

- per unit ``u``, with ``D(u)`` the holders in ``direct`` mode that may receive it (they
  propose their own candidates, so the landlord ranks nobody for them):
  :math:`\sum_a first_{u,a} + \sum_{h \in D(u)} orient_{u,h} \le 1`;
- per applicant ``a`` (when ``one_list_per_applicant``): :math:`\sum_u first_{u,a} \le 1`.

Ranks 2..k are filled afterwards (:mod:`fluxopt.alternates`) from the applicants left, so
that an applicant stands on one shortlist at most.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fluxopt.model.blocks import ModelBuilder
from fluxopt.model.variables import Variables
from fluxopt.problem import AllocationProblem


def direct_coverage_rows(problem: AllocationProblem) -> np.ndarray:
    """Coverage rows (unit, holder) whose holder is in direct mode."""
    direct = problem.holders["mode"].to_numpy() == "direct"
    return np.flatnonzero(direct[problem.coverage["holder"].to_numpy(dtype=np.int64)])


def add_shortlist(builder: ModelBuilder, problem: AllocationProblem, var: Variables) -> None:
    """Rows ``shortlist:unit`` and ``shortlist:applicant``."""
    graph = problem.graph
    direct = direct_coverage_rows(problem)
    direct_units = problem.coverage["unit"].to_numpy(dtype=np.int64)[direct]
    unit_of_term = np.concatenate([graph.unit, direct_units])
    cols = np.concatenate([var.first.positions, var.orient.index(direct)])
    terms = np.bincount(unit_of_term, minlength=problem.num_units)
    several = np.flatnonzero(terms > 1)
    if len(several):
        renumber = np.full(problem.num_units, -1)
        renumber[several] = np.arange(len(several))
        keep = renumber[unit_of_term] >= 0
        builder.add_rows(
            "shortlist:unit",
            "shortlist",
            pd.DataFrame({"unit_id": problem.units["unit_id"].to_numpy()[several]}),
            renumber[unit_of_term[keep]],
            cols[keep],
            np.ones(int(keep.sum())),
            upper=1.0,
        )
    if not problem.rules.families.shortlist.one_list_per_applicant or len(graph) == 0:
        return
    applicants, app_local = np.unique(graph.applicant, return_inverse=True)
    shared = np.bincount(app_local) > 1
    if not shared.any():
        return
    keep = shared[app_local]
    apps_kept, local = np.unique(app_local[keep], return_inverse=True)
    builder.add_rows(
        "shortlist:applicant",
        "shortlist",
        pd.DataFrame(
            {"applicant_id": problem.applicants["applicant_id"].to_numpy()[applicants[apps_kept]]}
        ),
        local,
        var.first.index(np.flatnonzero(keep)),
        np.ones(int(keep.sum())),
        upper=1.0,
    )
