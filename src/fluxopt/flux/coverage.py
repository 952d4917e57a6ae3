r"""Which holders may receive each unit, and with which share (coverage).

A convention covers a unit when its perimeter contains the unit (see
:mod:`fluxopt.flux.perimeter`). For a flux unit *u*, the covering conventions' shares
:math:`s_c` sum to at most 1 and the landlord's implicit share is the rest:

.. math::

    s_{\text{landlord}}(u) = 1 - \sum_{c \ni u} s_c

Units outside the flux have one channel: ``stock:<h>`` units go to holder *h* alone,
``excluded:*`` units (internal transfers, urban-renewal relocations, defence) stay with the
landlord; both appear with share 1 and ``in_flux`` false.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fluxopt.flux.basis import status_kind
from fluxopt.flux.conversion import convert
from fluxopt.flux.perimeter import landlord_ids, perimeter_pairs
from fluxopt.instance import Instance

COVERAGE_COLUMNS = ["unit_id", "holder_id", "convention_id", "share", "in_flux"]


def covering_shares(places: pd.DataFrame, table: pd.DataFrame, department: str) -> pd.DataFrame:
    """Pairs (place position, convention) with the convention's share, from a conversion table.

    ``table`` is the output of :func:`fluxopt.flux.conversion.convert`. Returns the columns
    of :func:`~fluxopt.flux.perimeter.perimeter_pairs` plus ``share``.
    """
    pairs = perimeter_pairs(places, table, department)
    shares = table.set_index("convention_id")["share"]
    return pairs.assign(share=pairs["convention_id"].map(shares).astype("float64"))


def landlord_shares(count: int, pairs: pd.DataFrame) -> np.ndarray:
    """The landlord's implicit share of each of ``count`` places: 1 minus the covering shares."""
    covered = np.bincount(
        pairs["pos"].to_numpy(), weights=pairs["share"].to_numpy(), minlength=count
    )
    return np.clip(1.0 - covered, 0.0, 1.0)


def coverage(
    instance: Instance,
    units: pd.DataFrame | None = None,
    method: str | None = None,
    conversion: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (unit, covering holder) with the holder's share of that unit.

    Parameters
    ----------
    instance
        The instance (its conventions, holders and territory).
    units
        Units to cover (columns ``unit_id``, ``commune``, ``epci`` and ``flux_status``; a
        missing ``flux_status`` means every unit is in the flux); default: all the
        instance's units.
    method
        Conversion method applied to every convention; default: each convention's own.
    conversion
        A table already returned by :func:`~fluxopt.flux.conversion.convert` (``method``
        is then ignored).

    Returns
    -------
    pandas.DataFrame
        ``unit_id``, ``holder_id``, ``convention_id`` (empty for the landlord and for
        units outside the flux), ``share`` (the holder's share of that unit) and
        ``in_flux``. A flux unit has one row per covering convention, then one for the
        landlord (implicit share, possibly 0); a unit outside the flux has one row, share 1.
    """
    table = convert(instance, method) if conversion is None else conversion
    landlord = landlord_ids(instance.holders)[0]
    frame = instance.units if units is None else units
    if "flux_status" in frame:
        kind = status_kind(frame["flux_status"]).to_numpy()
        status = frame["flux_status"].astype(str).to_numpy()
    else:
        kind = np.full(len(frame), "flux")
        status = np.full(len(frame), "flux")
    unit_ids = frame["unit_id"].astype(str).to_numpy()
    flux_pos = np.flatnonzero(kind == "flux")
    flux_places = frame.iloc[flux_pos]
    pairs = covering_shares(flux_places, table, instance.config.territory.department)
    reserved = pd.DataFrame(
        {
            "order": flux_pos[pairs["pos"].to_numpy()],
            "rank": 0,
            "holder_id": pairs["holder_id"].to_numpy(),
            "convention_id": pairs["convention_id"].to_numpy(),
            "share": pairs["share"].to_numpy(),
        }
    )
    remainder = pd.DataFrame(
        {
            "order": flux_pos,
            "rank": 1,
            "holder_id": landlord,
            "convention_id": "",
            "share": landlord_shares(len(flux_pos), pairs),
        }
    )
    outside_pos = np.flatnonzero(kind != "flux")
    channel = np.where(
        kind[outside_pos] == "stock",
        pd.Series(status[outside_pos], dtype="str").str.removeprefix("stock:").to_numpy(),
        landlord,
    )
    outside = pd.DataFrame(
        {
            "order": outside_pos,
            "rank": 0,
            "holder_id": channel,
            "convention_id": "",
            "share": 1.0,
        }
    )
    rows = pd.concat([reserved, remainder, outside], ignore_index=True)
    rows = rows.sort_values(["order", "rank", "convention_id"], kind="stable", ignore_index=True)
    return pd.DataFrame(
        {
            "unit_id": pd.Series(unit_ids[rows["order"].to_numpy()], dtype="str"),
            "holder_id": rows["holder_id"].astype("str"),
            "convention_id": rows["convention_id"].astype("str"),
            "share": rows["share"].astype("float64"),
            "in_flux": kind[rows["order"].to_numpy()] == "flux",
        }
    )
