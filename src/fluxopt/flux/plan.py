"""The tables of the flux plan and of the comparison of conversion methods.

:func:`plan_table` joins, per holder, the share and integer annual volume of the year
(:mod:`~fluxopt.flux.volumes`), the segment mix of its targets and its position to date
(:mod:`~fluxopt.flux.targets`). :func:`compare_methods` puts the four conversion methods
side by side, with the difference each makes against a reference method.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from fluxopt.flux.conversion import METHODS, check_method, convert
from fluxopt.flux.targets import FluxTargets, batch_targets
from fluxopt.flux.volumes import annual_volumes
from fluxopt.instance import Instance

KEYS = ["holder_id", "convention_id"]


@dataclass(frozen=True, eq=False)
class FluxPlan:
    """The plan table and the batch targets it was built from."""

    table: pd.DataFrame
    targets: FluxTargets


def plan_table(
    instance: Instance,
    method: str | None = None,
    month: str | None = None,
    ytd: pd.DataFrame | None = None,
    horizon_years: float = 1.0,
) -> FluxPlan:
    """One row per convention and one for the landlord: share, volume, mix and position.

    Columns: ``holder_id``, ``name``, ``convention_id``, ``perimeter`` (``kind id``),
    ``method``, ``share``, ``annual_volume`` (integer, forecast year), ``segment_mix`` (how
    the holder's cumulative target splits over room groups, and its part in QPV),
    ``basis_ytd``, ``oriented_ytd``, ``target_ytd``, ``position`` (``oriented_ytd -
    target_ytd``: positive when ahead), ``basis_batch``, ``target_cumulative`` and
    ``need`` (see :func:`~fluxopt.flux.targets.batch_targets`).
    """
    conversion = convert(instance, method, horizon_years=horizon_years)
    volumes = annual_volumes(instance, method, horizon_years=horizon_years, conversion=conversion)
    targets = batch_targets(instance, month, ytd, method, conversion=conversion)
    held = targets.holders.drop(columns=["share", "method"])
    table = volumes[[*KEYS, "perimeter_kind", "perimeter_id", "method", "share", "annual_volume"]]
    table = table.merge(held.drop(columns=["perimeter_kind", "perimeter_id"]), on=KEYS, how="left")
    names = instance.holders.set_index("holder_id")["name"].astype(str)
    table.insert(1, "name", table["holder_id"].map(names).fillna(""))
    table.insert(3, "perimeter", table["perimeter_kind"] + " " + table["perimeter_id"])
    table["segment_mix"] = _segment_mix(targets.segments, table)
    table["position"] = table["oriented_ytd"] - table["target_ytd"]
    columns = [
        "holder_id",
        "name",
        "convention_id",
        "perimeter",
        "method",
        "share",
        "annual_volume",
        "segment_mix",
        "basis_ytd",
        "oriented_ytd",
        "target_ytd",
        "position",
        "basis_batch",
        "target_cumulative",
        "need",
        "tolerance",
    ]
    return FluxPlan(table=table[columns], targets=targets)


def _segment_mix(segments: pd.DataFrame, table: pd.DataFrame) -> pd.Series:
    """Text like ``T1-T2 40% · T3 35% · T4 25% · QPV 30%`` per holder row."""
    parts = segments["segment"].str.split("|", expand=True, n=2)
    frame = segments[KEYS].assign(
        room_group=parts[0] if len(segments) else "",
        qpv=(parts[1] == "QPV") if len(segments) else False,
        target=segments["target_cumulative"],
    )
    by_group = frame.groupby([*KEYS, "room_group"])["target"].sum()
    total = frame.groupby(KEYS)["target"].sum()
    in_qpv = frame[frame["qpv"]].groupby(KEYS)["target"].sum()
    texts = []
    for holder, convention in zip(table["holder_id"], table["convention_id"], strict=True):
        key = (holder, convention)
        whole = float(total.get(key, 0.0))
        if whole <= 0:
            texts.append("")
            continue
        groups = by_group.loc[key] if key in total.index else pd.Series(dtype="float64")
        shown = [f"{group} {value / whole:.0%}" for group, value in groups.items() if value > 0]
        shown.append(f"QPV {float(in_qpv.get(key, 0.0)) / whole:.0%}")
        texts.append(" · ".join(shown))
    return pd.Series(texts, index=table.index, dtype="str")


def compare_methods(
    instance: Instance,
    year: int | None = None,
    horizon_years: float = 1.0,
    reference: str = "negotiated",
) -> pd.DataFrame:
    """The four conversion methods side by side, per convention and for the landlord.

    Columns: ``holder_id``, ``convention_id``, ``perimeter_kind``, ``perimeter_id``,
    ``own_method`` (the convention's), then for each method *M* of :data:`METHODS`
    ``share_M`` and ``volume_M`` (integer annual volume under *M* applied to every
    convention), then ``delta_M = volume_M - volume_<reference>``: how many units a year
    the holder gains (positive) or loses under *M* compared with the reference.
    """
    check_method(reference)
    own = instance.conventions.set_index("convention_id")["method"].astype(str)
    base = convert(instance, reference, year, horizon_years)
    merged: pd.DataFrame | None = None
    for name in METHODS:
        conversion = convert(instance, name, year, horizon_years, converted=base)
        volumes = annual_volumes(instance, name, year, horizon_years, conversion=conversion)
        part = volumes[[*KEYS, "perimeter_kind", "perimeter_id", "share", "annual_volume"]]
        part = part.rename(columns={"share": f"share_{name}", "annual_volume": f"volume_{name}"})
        if merged is None:
            merged = part
        else:
            merged = merged.merge(part.drop(columns=["perimeter_kind", "perimeter_id"]), on=KEYS)
    assert merged is not None
    merged.insert(4, "own_method", merged["convention_id"].map(own).fillna("remainder"))
    for name in METHODS:
        merged[f"delta_{name}"] = merged[f"volume_{name}"] - merged[f"volume_{reference}"]
    return merged.reset_index(drop=True)
