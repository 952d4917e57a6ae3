r"""Shortlist, first stage: at most one first-ranked applicant per unit, one unit per applicant.

- per unit ``u``: :math:`\sum_a first_{u,a} \le 1`;
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


def add_shortlist(builder: ModelBuilder, problem: AllocationProblem, var: Variables) -> None:
    """Rows ``shortlist:unit`` and ``shortlist:applicant``."""
    graph = problem.graph
    if len(graph) == 0:
        return
    units, unit_local = np.unique(graph.unit, return_inverse=True)
    several = np.bincount(unit_local) > 1
    if several.any():
        keep = several[unit_local]
        units_kept, local = np.unique(unit_local[keep], return_inverse=True)
        builder.add_rows(
            "shortlist:unit",
            "shortlist",
            pd.DataFrame({"unit_id": problem.units["unit_id"].to_numpy()[units[units_kept]]}),
            local,
            var.first.index(np.flatnonzero(keep)),
            np.ones(int(keep.sum())),
            upper=1.0,
        )
    if not problem.rules.families.shortlist.one_list_per_applicant:
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
