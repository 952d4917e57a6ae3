r"""Flux: each holder's cumulative oriented volume within tolerance of its target.

For each convention ``c`` of holder ``h`` (and the landlord's remainder), with ``need_c`` its
cumulative target minus what it received earlier in the year and ``tol_c`` its tolerance:

.. math:: need_c - tol_c \le \sum_{u \in P_c} orient_{u,h} + s^-_c - s^+_c \le need_c + tol_c

where ``P_c`` are the batch's units in the convention's perimeter and ``s^±`` are penalised
slacks (fixed to 0 when the rule is hard). Positions are counted in whole dwellings: the
band is narrowed to the integers it contains, :math:`[\lceil need_c - tol_c \rceil,
\lfloor need_c + tol_c \rfloor]` (or the two integers around ``need_c`` when it contains
none), which is what an integer count can reach anyway and keeps the LP relaxation from
meeting a target with a fraction of a dwelling.

Segment mix: for each convention and segment ``g`` (typology group × QPV × financing) with
its own need, the same row restricted to ``P_c ∩ g`` with the segment tolerance (default one
unit, so that any rounding of the fractional targets is free), always soft, so that no
holder receives only the least wanted units.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.model.blocks import ModelBuilder
from fluxopt.model.variables import Variables, slack_block
from fluxopt.problem import AllocationProblem


def integer_band(
    need: npt.NDArray[np.float64], tolerance: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """The integers within ``need ± tolerance`` (or the two around ``need`` if none)."""
    eps = 1e-9
    lower = np.ceil(need - tolerance - eps)
    upper = np.floor(need + tolerance + eps)
    empty = lower > upper
    lower[empty] = np.floor(need[empty])
    upper[empty] = np.ceil(need[empty])
    return lower, upper


def add_flux(builder: ModelBuilder, problem: AllocationProblem, var: Variables) -> None:
    """Rows ``flux:position`` and ``flux:segment``."""
    rule = problem.rules.families.flux
    if not rule.enabled or problem.conventions.empty:
        return
    weights = problem.rules.weights
    conventions = problem.conventions
    membership = problem.membership
    labels = conventions[["holder_id", "convention_id"]].reset_index(drop=True)
    count = len(conventions)
    under = slack_block(builder, "flux:under", labels, weights.flux, rule.hard)
    over = slack_block(builder, "flux:over", labels, weights.flux, rule.hard)
    need = conventions["need"].to_numpy(dtype=np.float64)
    tol = conventions["tolerance"].to_numpy(dtype=np.float64)
    lower, upper = integer_band(need, tol)
    conv_rows = membership["convention_row"].to_numpy(dtype=np.int64)
    cov_rows = membership["coverage_row"].to_numpy(dtype=np.int64)
    local = np.concatenate([conv_rows, np.arange(count), np.arange(count)])
    cols = np.concatenate([var.orient.index(cov_rows), under.positions, over.positions])
    vals = np.concatenate([np.ones(len(cov_rows)), np.ones(count), -np.ones(count)])
    builder.add_rows(
        "flux:position",
        "flux",
        labels.assign(need=need, tolerance=tol),
        local,
        cols,
        vals,
        lower=lower,
        upper=upper,
    )
    if rule.segment_mix:
        _add_segments(builder, problem, var)


def _add_segments(builder: ModelBuilder, problem: AllocationProblem, var: Variables) -> None:
    segments = problem.segments
    if segments.empty:
        return
    conventions = problem.conventions
    membership = problem.membership
    conv_key = conventions["holder_id"].astype(str) + "|" + conventions["convention_id"].astype(str)
    seg_key = (
        segments["holder_id"].astype(str)
        + "|"
        + segments["convention_id"].astype(str)
        + "|"
        + segments["segment"].astype(str)
    )
    seg_row = pd.Series(np.arange(len(segments)), index=seg_key.to_numpy())
    cov_rows = membership["coverage_row"].to_numpy(dtype=np.int64)
    unit_segment = problem.units["segment"].to_numpy()[
        problem.coverage["unit"].to_numpy(dtype=np.int64)[cov_rows]
    ]
    member_key = conv_key.to_numpy()[membership["convention_row"].to_numpy()] + "|" + unit_segment
    local = seg_row.reindex(member_key).to_numpy()
    known = ~np.isnan(local)
    labels = segments[["holder_id", "convention_id", "segment"]].reset_index(drop=True)
    count = len(segments)
    weight = problem.rules.weights.segment
    under = slack_block(builder, "segment:under", labels, weight, False)
    over = slack_block(builder, "segment:over", labels, weight, False)
    need = segments["need"].to_numpy(dtype=np.float64)
    tolerance = np.full(count, problem.rules.families.flux.segment_tolerance)
    lower, upper = integer_band(need, tolerance)
    builder.add_rows(
        "flux:segment",
        "flux",
        labels.assign(need=need),
        np.concatenate([local[known].astype(np.int64), np.arange(count), np.arange(count)]),
        np.concatenate([var.orient.index(cov_rows[known]), under.positions, over.positions]),
        np.concatenate([np.ones(int(known.sum())), np.ones(count), -np.ones(count)]),
        lower=lower,
        upper=upper,
    )
