"""Perimeters of the conventions, the landlord's channel, and the checks on holders.

A reservation convention (convention de réservation) grants a holder (réservataire) a
share of the flux on a perimeter. A perimeter *contains* a place (a unit, a residence, a
year-to-date row) when:

- ``department``: the perimeter is the instance's department
  (``perimeter_id == instance.config.territory.department``), so it contains every place;
- ``epci``: the place's EPCI is the perimeter, ``epci == perimeter_id``;
- ``commune``: the place's commune is the perimeter, ``commune == perimeter_id``.

The holder of kind ``landlord`` (the bailleur itself) holds the non-reserved remainder: it
covers every flux unit and needs no convention. The checks here report every problem of
the holders and conventions at once (see :func:`check_holders`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fluxopt.schema.problems import ProblemLog

LANDLORD_KIND = "landlord"
"""``holders.kind`` of the landlord, who holds the non-reserved remainder of the flux."""

PERIMETER_COLUMNS = ["convention_id", "holder_id", "perimeter_kind", "perimeter_id"]


def landlord_ids(holders: pd.DataFrame) -> list[str]:
    """Identifiers of the holders of kind ``landlord``, in table order."""
    return holders.loc[holders["kind"] == LANDLORD_KIND, "holder_id"].astype(str).tolist()


def perimeter_pairs(
    places: pd.DataFrame, conventions: pd.DataFrame, department: str
) -> pd.DataFrame:
    """Every (place, convention) pair where the convention's perimeter contains the place.

    Parameters
    ----------
    places
        Any table with ``commune`` and ``epci`` columns; its row positions identify places.
    conventions
        The conventions table (at least the :data:`PERIMETER_COLUMNS`).
    department
        The instance's department code; a ``department`` convention on another code
        contains nothing.

    Returns
    -------
    pandas.DataFrame
        Columns ``pos`` (row position in ``places``) and the :data:`PERIMETER_COLUMNS`,
        one row per pair, sorted by ``pos`` then by the conventions' order.
    """
    commune = places["commune"].astype(str).to_numpy()
    epci = places["epci"].astype(str).to_numpy()
    conv = conventions[PERIMETER_COLUMNS].astype(str).reset_index(drop=True)
    kind = conv["perimeter_kind"].to_numpy()
    target = conv["perimeter_id"].to_numpy()
    codes, _ = pd.factorize(np.concatenate([commune, epci, target]))
    n = len(places)
    commune_code, epci_code, target_code = codes[:n], codes[n : 2 * n], codes[2 * n :]
    whole = (kind == "department") & (target == department)
    match = (
        whole[None, :]
        | ((kind == "epci")[None, :] & (epci_code[:, None] == target_code[None, :]))
        | ((kind == "commune")[None, :] & (commune_code[:, None] == target_code[None, :]))
    )
    pos, column = np.nonzero(match)
    pairs = conv.iloc[column].reset_index(drop=True)
    pairs.insert(0, "pos", pos.astype("int64"))
    return pairs


def places_of(instance_units: pd.DataFrame, residences: pd.DataFrame) -> pd.DataFrame:
    """Distinct (commune, epci) places of the landlord: residences and units together."""
    frames = [residences[["commune", "epci"]], instance_units[["commune", "epci"]]]
    places = pd.concat(frames, ignore_index=True).astype(str).drop_duplicates()
    return places.sort_values(["epci", "commune"], ignore_index=True)


def check_holders(
    log: ProblemLog,
    holders: pd.DataFrame,
    conventions: pd.DataFrame,
    units: pd.DataFrame,
    places: pd.DataFrame,
    department: str,
) -> None:
    """Report every problem of the holders and of the conventions' perimeters.

    Rules:

    - exactly one holder has kind ``landlord``; it holds the remainder and has no convention;
    - every other holder has at least one convention, unless it only holds units kept in
      stock (``flux_status == "stock:<holder_id>"``, e.g. defence reservations);
    - a ``department`` convention names the instance's department;
    - the conventions of one holder do not overlap: no place is in two of its perimeters
      (merge them into one convention), so that a unit oriented to a holder counts against
      exactly one of its conventions.
    """
    landlords = landlord_ids(holders)
    if not landlords:
        log.error(
            "holders",
            "no holder has kind 'landlord'",
            "add the landlord as a holder of kind landlord: it holds the non-reserved flux",
            column="kind",
        )
    for extra in landlords[1:]:
        log.error(
            "holders",
            f"a second holder of kind landlord ({extra!r}; the first is {landlords[0]!r})",
            "keep exactly one holder of kind landlord",
            row=_row_of(holders, "holder_id", extra),
            column="kind",
            key=extra,
        )
    with_convention = set(conventions["holder_id"].astype(str))
    status = units["flux_status"].astype(str)
    stock_only = set(status[status.str.startswith("stock:")].str.slice(len("stock:")))
    for position, (holder, kind) in enumerate(
        zip(holders["holder_id"].astype(str), holders["kind"].astype(str), strict=True)
    ):
        if kind == LANDLORD_KIND and holder in with_convention:
            log.error(
                "conventions",
                f"the landlord {holder!r} has a convention",
                "the landlord holds the remainder of the flux and needs no convention; "
                "remove it or give the holder another kind",
                column="holder_id",
                key=holder,
            )
        elif kind != LANDLORD_KIND and holder not in with_convention | stock_only:
            log.error(
                "holders",
                f"holder {holder!r} has no convention",
                "add a row to the conventions table for this holder, or remove the holder",
                row=position + 1,
                column="holder_id",
                key=holder,
            )
    other_department = (conventions["perimeter_kind"] == "department") & (
        conventions["perimeter_id"].astype(str) != department
    )
    for position in map(int, other_department.to_numpy().nonzero()[0]):
        row = conventions.iloc[position]
        log.error(
            "conventions",
            f"department {row['perimeter_id']!r} is not the instance's department {department!r}",
            "correct perimeter_id, or territory.department in instance.yaml",
            row=position + 1,
            column="perimeter_id",
            key=str(row["convention_id"]),
        )
    _check_overlaps(log, conventions, places, department)


def _check_overlaps(
    log: ProblemLog, conventions: pd.DataFrame, places: pd.DataFrame, department: str
) -> None:
    pairs = perimeter_pairs(places, conventions, department)
    if pairs.empty:
        return
    per_place = pairs.groupby(["pos", "holder_id"])["convention_id"].agg(tuple)
    overlapping = sorted({ids for ids in per_place.to_numpy() if len(ids) > 1})
    for ids in overlapping:
        holder = str(conventions.loc[conventions["convention_id"] == ids[0], "holder_id"].iloc[0])
        log.error(
            "conventions",
            f"holder {holder!r} has overlapping conventions {', '.join(ids)}",
            "a unit must count against one convention of its holder; merge them into one",
            column="perimeter_id",
            key=holder,
        )


def _row_of(frame: pd.DataFrame, column: str, value: str) -> int | None:
    hits = (frame[column].astype(str) == value).to_numpy().nonzero()[0]
    return int(hits[0]) + 1 if len(hits) else None
