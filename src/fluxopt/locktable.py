"""The locks table of a batch: human overrides, checked and made positional.

A lock row names a unit of the batch and an action: ``orient`` (the unit goes to
``holder_id``), ``require`` (``applicant_id`` is ranked first for the unit) or ``exclude``
(``applicant_id`` is never proposed for it). Every bad row is reported at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fluxopt.schema.problems import InvalidInputError, Problem


def read_locks(
    locks: pd.DataFrame | None,
    units: pd.DataFrame,
    applicants: pd.DataFrame,
    holders: pd.DataFrame,
) -> pd.DataFrame:
    """Check a locks table (unit_id, action, holder_id, applicant_id) and make it positional.

    Actions: ``orient`` (the unit goes to holder_id), ``require`` (applicant_id is ranked
    first for the unit), ``exclude`` (applicant_id is never proposed for the unit).
    """
    columns = ["unit", "action", "holder", "applicant", "unit_id", "holder_id", "applicant_id"]
    if locks is None or locks.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    problems: list[Problem] = []
    unit_pos = pd.Series(np.arange(len(units)), index=units["unit_id"])
    app_pos = pd.Series(np.arange(len(applicants)), index=applicants["applicant_id"])
    holder_pos = pd.Series(np.arange(len(holders)), index=holders["holder_id"])
    rows = []
    for i, lock in enumerate(locks.fillna("").astype(str).to_dict("records"), start=1):
        action = lock.get("action", "")
        unit_id = lock.get("unit_id", "")
        if unit_id not in unit_pos.index:
            problems.append(
                Problem(
                    "locks",
                    f"unit {unit_id!r} is not in the batch",
                    "check unit_id",
                    row=i,
                    column="unit_id",
                )
            )
            continue
        holder_id, applicant_id = lock.get("holder_id", ""), lock.get("applicant_id", "")
        if action == "orient" and holder_id not in holder_pos.index:
            problems.append(
                Problem(
                    "locks",
                    f"holder {holder_id!r} is unknown",
                    "check holder_id",
                    row=i,
                    column="holder_id",
                )
            )
            continue
        if action in ("require", "exclude") and applicant_id not in app_pos.index:
            problems.append(
                Problem(
                    "locks",
                    f"applicant {applicant_id!r} is unknown",
                    "check applicant_id",
                    row=i,
                    column="applicant_id",
                )
            )
            continue
        if action not in ("orient", "require", "exclude"):
            problems.append(
                Problem(
                    "locks",
                    f"unknown action {action!r}",
                    "use orient, require or exclude",
                    row=i,
                    column="action",
                )
            )
            continue
        rows.append(
            {
                "unit": int(unit_pos[unit_id]),
                "action": action,
                "holder": int(holder_pos[holder_id]) if action == "orient" else -1,
                "applicant": int(app_pos[applicant_id]) if action != "orient" else -1,
                "unit_id": unit_id,
                "holder_id": holder_id,
                "applicant_id": applicant_id,
            }
        )
    if problems:
        raise InvalidInputError("locks", problems)
    return pd.DataFrame(rows, columns=columns)
