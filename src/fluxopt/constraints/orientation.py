r"""Orientation: every unit goes to exactly one of the holders that may receive it.

For each unit ``u`` with several covering holders ``H(u)``:
:math:`\sum_{h \in H(u)} orient_{u,h} = 1`. A unit with a single possible holder (a unit
withdrawn from the flux, kept in stock, or covered only by the landlord) has its orient
column fixed to 1 and needs no row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fluxopt.model.blocks import ModelBuilder
from fluxopt.model.variables import Variables
from fluxopt.problem import AllocationProblem


def add_orientation(builder: ModelBuilder, problem: AllocationProblem, var: Variables) -> None:
    """One equality row per unit with a choice of holders."""
    coverage = problem.coverage
    choice = ~coverage["fixed"].to_numpy(dtype=bool)
    if not choice.any():
        return
    rows = np.flatnonzero(choice)
    unit_of_row = coverage["unit"].to_numpy(dtype=np.int64)[rows]
    units, local = np.unique(unit_of_row, return_inverse=True)
    labels = pd.DataFrame({"unit_id": problem.units["unit_id"].to_numpy()[units]})
    builder.add_rows(
        "orientation",
        "orientation",
        labels,
        local,
        var.orient.index(rows),
        np.ones(len(rows)),
        lower=1.0,
        upper=1.0,
    )
