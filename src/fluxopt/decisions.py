"""The decision tables a batch produces: orientation and shortlists, labelled by domain ids.

- ``orientation``: one row per unit of the batch: the holder it goes to (réservataire), the
  channel (``flux``, ``stock``, or the exclusion it falls under), and the unit attributes
  the reports break down by.
- ``shortlist``: one row per (unit, rank): the applicant, the holder whose channel presents
  them, and the figures the committee reads (score, value, wish rank, fit, burden, flags).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.problem import AllocationProblem

ORIENTATION_COLUMNS = (
    "unit_id",
    "holder_id",
    "holder_kind",
    "holder_mode",
    "channel",
    "in_flux",
    "month",
    "residence_id",
    "commune",
    "epci",
    "qpv",
    "fragile",
    "lec_applies",
    "rooms",
    "financing",
    "segment",
    "construction_period",
)

SHORTLIST_COLUMNS = (
    "unit_id",
    "rank",
    "applicant_id",
    "holder_id",
    "score",
    "value",
    "wish_rank",
    "fit",
    "rent_burden",
    "q1",
    "priority",
    "dalo",
    "is_transfer",
    "wait_months",
)


@dataclass(frozen=True)
class Decisions:
    """The two decision tables of a batch."""

    orientation: pd.DataFrame
    shortlist: pd.DataFrame

    @property
    def first_ranked(self) -> pd.DataFrame:
        """The rank-1 rows of the shortlist."""
        return self.shortlist[self.shortlist["rank"] == 1]


def make_decisions(
    problem: AllocationProblem,
    unit_holder: npt.NDArray[np.int64],
    pairs: npt.NDArray[np.int64],
    ranks: npt.NDArray[np.int64],
) -> Decisions:
    """Label the positional decisions: each unit's holder and the ranked pairs."""
    units, holders, graph = problem.units, problem.holders, problem.graph
    holder_ids = holders["holder_id"].to_numpy()
    orientation = units[[c for c in ORIENTATION_COLUMNS if c in units.columns]].copy()
    orientation.insert(1, "holder_id", np.where(unit_holder >= 0, holder_ids[unit_holder], ""))
    orientation.insert(
        2, "holder_kind", np.where(unit_holder >= 0, holders["kind"].to_numpy()[unit_holder], "")
    )
    orientation.insert(
        3, "holder_mode", np.where(unit_holder >= 0, holders["mode"].to_numpy()[unit_holder], "")
    )
    orientation = orientation[list(ORIENTATION_COLUMNS)]
    applicants = problem.applicants
    a = graph.applicant[pairs]
    u = graph.unit[pairs]
    shortlist = pd.DataFrame(
        {
            "unit_id": units["unit_id"].to_numpy()[u],
            "rank": ranks,
            "applicant_id": applicants["applicant_id"].to_numpy()[a],
            "holder_id": np.where(unit_holder[u] >= 0, holder_ids[unit_holder[u]], ""),
            "score": applicants["score"].to_numpy(dtype=np.float64)[a],
            "value": graph.value[pairs],
            "wish_rank": graph.wish_rank[pairs],
            "fit": graph.fit[pairs],
            "rent_burden": graph.burden[pairs],
            "q1": graph.q1[pairs],
            "priority": applicants["priority"].to_numpy(dtype=bool)[a],
            "dalo": applicants["dalo"].to_numpy(dtype=bool)[a],
            "is_transfer": applicants["is_transfer"].to_numpy(dtype=bool)[a],
            "wait_months": applicants["wait_months"].to_numpy(dtype=np.float64)[a],
        }
    )
    shortlist = shortlist.sort_values(["unit_id", "rank"], kind="stable", ignore_index=True)
    return Decisions(orientation=orientation.reset_index(drop=True), shortlist=shortlist)
