"""Year-to-date position passed to a batch: what was oriented and attributed earlier.

The ledger produces it; a what-if run may build it by hand; a first batch of the year passes
an empty one. Flux targets read ``orientations`` (flux units oriented earlier in the year);
quota rules read ``attributions`` (leases signed earlier in the year, with the unit's
attributes and the applicant's flags at attribution), so that a quota is met over the year,
not batch by batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

ORIENTATION_COLUMNS = ("unit_id", "month", "commune", "epci", "segment", "holder_id")
ATTRIBUTION_COLUMNS = (
    "unit_id",
    "month",
    "commune",
    "epci",
    "residence_id",
    "qpv",
    "fragile",
    "lec_applies",
    "segment",
    "holder_id",
    "holder_kind",
    "applicant_id",
    "q1",
    "priority",
    "dalo",
    "renewal_relocation",
    "is_transfer",
    "employer_action_logement",
    "state_agent",
)
"""Columns kept for each attribution: unit scope columns and the applicant flags that quota
rules may count (``q1`` is measured against the unit's EPCI threshold)."""


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})


@dataclass(frozen=True)
class YearToDate:
    """Orientations and attributions of the year before the current batch."""

    orientations: pd.DataFrame = field(default_factory=lambda: _empty(ORIENTATION_COLUMNS))
    attributions: pd.DataFrame = field(default_factory=lambda: _empty(ATTRIBUTION_COLUMNS))

    @classmethod
    def empty(cls) -> YearToDate:
        """The position of a first batch of the year."""
        return cls()

    @property
    def is_empty(self) -> bool:
        """Whether nothing happened yet this year."""
        return self.orientations.empty and self.attributions.empty
