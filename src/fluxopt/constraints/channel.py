r"""Channels: a holder's unit goes to an applicant its channel admits.

For each unit ``u`` and each holder ``h`` that may receive it with a restricted channel
(State: priority households; State agents; Action Logement: employees of contributing
firms):

.. math:: orient_{u,h} + \\sum_{a \notin adm(h)} first_{u,a} \\le 1

so that if ``u`` goes to ``h`` its first-ranked applicant is admissible by ``h``. Units whose
holder is fixed have their inadmissible pairs removed from the graph instead; holders in
``direct`` mode are handled by the unit row of :mod:`fluxopt.constraints.shortlist`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fluxopt.model.blocks import ModelBuilder
from fluxopt.model.variables import Variables
from fluxopt.problem import AllocationProblem, as_chunk


def add_channels(builder: ModelBuilder, problem: AllocationProblem, var: Variables) -> None:
    """Rows ``channel:<holder kind rule>``, one per (unit, restricted holder) with a choice."""
    coverage = problem.coverage
    chunk = as_chunk(problem.graph)
    rows_all: list[np.ndarray] = []
    cols_all: list[np.ndarray] = []
    labels: list[pd.DataFrame] = []
    offset = 0
    direct = problem.holders["mode"].to_numpy() == "direct"
    for holder, admitted in sorted(problem.admits.items()):
        if direct[holder]:
            continue
        rows = np.flatnonzero(
            (coverage["holder"].to_numpy() == holder) & ~coverage["fixed"].to_numpy(dtype=bool)
        )
        if len(rows) == 0:
            continue
        units = coverage["unit"].to_numpy(dtype=np.int64)[rows]
        owner, pairs = var.pairs_of_units(units)
        refused = ~admitted.members(chunk)[pairs]
        owner, pairs = owner[refused], pairs[refused]
        has_refused = np.bincount(owner, minlength=len(units)) > 0
        if not has_refused.any():
            continue
        kept_rows = np.flatnonzero(has_refused)
        renumber = np.full(len(units), -1)
        renumber[kept_rows] = np.arange(len(kept_rows))
        local = np.concatenate([renumber[kept_rows], renumber[owner]]) + offset
        cols = np.concatenate([var.orient.index(rows[kept_rows]), var.first.index(pairs)])
        rows_all.append(local)
        cols_all.append(cols)
        labels.append(
            pd.DataFrame(
                {
                    "unit_id": problem.units["unit_id"].to_numpy()[units[kept_rows]],
                    "holder_id": problem.holders["holder_id"].iloc[holder],
                    "channel": admitted.name,
                }
            )
        )
        offset += len(kept_rows)
    if not labels:
        return
    local = np.concatenate(rows_all)
    builder.add_rows(
        "channel",
        "channel",
        pd.concat(labels, ignore_index=True),
        local,
        np.concatenate(cols_all),
        np.ones(len(local)),
        upper=1.0,
    )
