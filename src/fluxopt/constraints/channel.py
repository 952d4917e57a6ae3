r"""Channels: a holder's unit goes to an applicant its channel admits.

Some holders restrict whom they accept (the State: priority households; the State-agents
contingent: State agents; Action Logement: employees of contributing firms); holders in
``direct`` mode propose their own candidates, so the landlord ranks nobody for them. For one
unit the choice "one holder, then at most one first-ranked applicant admitted by that
holder" is a flow from holders to applicants; by Gale's supply-demand theorem its convex
hull is described, for every set ``Q`` of restricted holders that may receive ``u`` (with
``D(u)`` the direct holders, who admit nobody), by

.. math:: \sum_{a \,:\, a \notin adm(h)\ \forall h \in Q} first_{u,a}
          + \sum_{h \in Q \cup D(u)} orient_{u,h} \le 1

(``Q = ∅`` is the unit row of :mod:`fluxopt.constraints.shortlist`). With a handful of
restricted holders this is a few rows per unit, and the LP relaxation no longer "half
orients" a unit to the State with "half" a non-priority applicant. Units whose holder is fixed
have their inadmissible pairs removed from the graph instead.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.constraints.shortlist import direct_coverage_rows
from fluxopt.model.blocks import ModelBuilder
from fluxopt.model.variables import Variables
from fluxopt.problem import AllocationProblem, as_chunk

MAX_RESTRICTED_HOLDERS = 6
"""Above this many restricted holders on one unit only single-holder rows are written."""


def add_channels(builder: ModelBuilder, problem: AllocationProblem, var: Variables) -> None:
    """Rows ``channel``: one per unit and set of restricted holders that may receive it."""
    coverage = problem.coverage
    direct = problem.holders["mode"].to_numpy() == "direct"
    restricted = sorted(h for h in problem.admits if not direct[h])
    if not restricted:
        return
    chunk = as_chunk(problem.graph)
    refused = {h: ~problem.admits[h].members(chunk) for h in restricted}
    cov_unit = coverage["unit"].to_numpy(dtype=np.int64)
    cov_holder = coverage["holder"].to_numpy(dtype=np.int64)
    choice = ~coverage["fixed"].to_numpy(dtype=bool)
    n = problem.num_units
    row_of = {}
    for h in restricted:
        rows = np.full(n, -1, dtype=np.int64)
        mask = (cov_holder == h) & choice
        rows[cov_unit[mask]] = np.flatnonzero(mask)
        row_of[h] = rows
    direct_rows = direct_coverage_rows(problem)
    sizes = [1] if len(restricted) > MAX_RESTRICTED_HOLDERS else range(1, len(restricted) + 1)
    locals_: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    labels: list[pd.DataFrame] = []
    offset = 0
    for size in sizes:
        for subset in combinations(restricted, size):
            units = np.flatnonzero(np.all([row_of[h] >= 0 for h in subset], axis=0))
            if len(units) == 0:
                continue
            owner, pairs = var.pairs_of_units(units)
            excluded = np.all([refused[h][pairs] for h in subset], axis=0)
            owner, pairs = owner[excluded], pairs[excluded]
            has_terms = np.bincount(owner, minlength=len(units)) > 0
            if not has_terms.any():
                continue
            kept = np.flatnonzero(has_terms)
            renumber = np.full(len(units), -1, dtype=np.int64)
            renumber[kept] = np.arange(len(kept)) + offset
            kept_units = units[kept]
            orient_rows = [row_of[h][kept_units] for h in subset]
            in_row = np.full(n, -1, dtype=np.int64)
            in_row[kept_units] = renumber[kept]
            direct_local = in_row[cov_unit[direct_rows]]
            direct_kept = direct_local >= 0
            locals_ += [renumber[owner], *([renumber[kept]] * size), direct_local[direct_kept]]
            cols += [
                var.first.index(pairs),
                *(var.orient.index(r) for r in orient_rows),
                var.orient.index(direct_rows[direct_kept]),
            ]
            names = "+".join(problem.admits[h].name for h in subset)
            labels.append(
                pd.DataFrame(
                    {
                        "unit_id": problem.units["unit_id"].to_numpy()[kept_units],
                        "holders": "+".join(
                            str(problem.holders["holder_id"].iloc[h]) for h in subset
                        ),
                        "channel": names,
                    }
                )
            )
            offset += len(kept)
    if not labels:
        return
    local = np.concatenate(locals_)
    builder.add_rows(
        "channel",
        "channel",
        pd.concat(labels, ignore_index=True),
        local,
        np.concatenate(cols),
        np.ones(len(local)),
        upper=1.0,
    )
