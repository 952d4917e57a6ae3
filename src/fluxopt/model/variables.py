"""The decision variables of the first stage, shared by every rule family.

- ``first[p]`` ∈ {0, 1} for each pair ``p = (u, a)`` of the candidate graph: applicant
  ``a`` is ranked first for unit ``u``;
- ``orient[r]`` ∈ {0, 1} for each coverage row ``r = (u, h)``: unit ``u`` goes to holder
  ``h`` (fixed to 1 where ``h`` is the only holder that may receive ``u``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.model.blocks import ColumnBlock, ModelBuilder
from fluxopt.problem import AllocationProblem


@dataclass(frozen=True)
class Variables:
    """The shared column blocks and the index arrays the families use to reach them."""

    first: ColumnBlock
    orient: ColumnBlock
    pair_start: npt.NDArray[np.int64]
    """Position of each unit's first pair in the graph (pairs are sorted by unit)."""
    pair_count: npt.NDArray[np.int64]
    """Number of pairs of each unit."""

    def pairs_of_units(
        self, units: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """All pairs of the given units: (index into ``units``, pair position)."""
        counts = self.pair_count[units]
        owner = np.repeat(np.arange(len(units)), counts)
        starts = np.repeat(self.pair_start[units], counts)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        return owner, starts + offsets


def add_variables(builder: ModelBuilder, problem: AllocationProblem) -> Variables:
    """Register the ``first`` and ``orient`` blocks."""
    graph = problem.graph
    units, applicants = problem.units, problem.applicants
    first = builder.add_columns(
        "first",
        pd.DataFrame(
            {
                "unit_id": units["unit_id"].to_numpy()[graph.unit],
                "applicant_id": applicants["applicant_id"].to_numpy()[graph.applicant],
            }
        ),
    )
    coverage = problem.coverage
    orient = builder.add_columns(
        "orient",
        pd.DataFrame(
            {
                "unit_id": units["unit_id"].to_numpy()[coverage["unit"].to_numpy()],
                "holder_id": problem.holders["holder_id"].to_numpy()[coverage["holder"].to_numpy()],
            }
        ),
        lower=coverage["fixed"].to_numpy(dtype=np.float64),
    )
    count = np.bincount(graph.unit, minlength=len(units)).astype(np.int64)
    start = (np.cumsum(count) - count).astype(np.int64)
    return Variables(first=first, orient=orient, pair_start=start, pair_count=count)


def slack_block(
    builder: ModelBuilder, name: str, labels: pd.DataFrame, cost: float, hard: bool
) -> ColumnBlock:
    """Non-negative continuous slack columns; fixed to 0 when the rule is hard.

    Hard rules keep their (zero-bounded) slack so that an infeasible rule set can be
    diagnosed by re-solving with the slacks freed (see :mod:`fluxopt.diagnose`).
    """
    return builder.add_columns(
        name,
        labels,
        lower=0.0,
        upper=0.0 if hard else np.inf,
        cost=cost,
        integer=False,
    )
