"""Random draws with exact shares, shared by every part of the generator.

Calibration targets are shares (31 % of units in QPV, 22 % priority applicants, …). Drawing
each row independently would leave sampling noise of several points on small instances, so
the generator draws *counts* first and then *which rows*:

- :func:`quota_counts` turns shares into whole counts that sum to ``n`` (largest remainder);
- :func:`shuffled_labels` lays those counts out in a random order;
- :func:`pick` chooses exactly ``k`` rows with probability increasing in a weight
  (Gumbel top-k: ``argmax_k(log w_i + G_i)`` with ``G_i`` standard Gumbel draws, which is
  sampling without replacement proportionally to ``w``), so that a flag can be both exact
  in share and correlated with other columns.

Each part of the generator draws from its own stream (:func:`stream`), so that changing one
part never shifts the draws of another.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

STREAMS = (
    "territory",
    "residences",
    "units",
    "holders",
    "applicants",
    "wishes",
    "incomes",
    "history",
)
"""Named random streams, one per part of the generator (order fixed forever)."""


def stream(seed: int, name: str) -> np.random.Generator:
    """The random generator of one part of the generator for a seed."""
    return np.random.default_rng([seed, STREAMS.index(name)])


def quota_counts(n: int, shares: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Whole counts proportional to ``shares`` that sum to ``n`` (largest remainder).

    ``count_i = floor(n s_i / S) + 1`` for the ``n - Σ floor(·)`` largest remainders,
    with ``S = Σ s_i``; ties go to the earlier share.
    """
    weights = np.asarray(shares, dtype="float64")
    exact = n * weights / weights.sum()
    counts = np.floor(exact).astype("int64")
    missing = n - int(counts.sum())
    if missing > 0:
        order = np.argsort(-(exact - counts), kind="stable")
        counts[order[:missing]] += 1
    return counts


def shuffled_labels(
    rng: np.random.Generator, n: int, labels: Sequence[object], shares: Sequence[float]
) -> npt.NDArray[np.generic]:
    """``n`` labels in the given shares (as exactly as whole counts allow), in random order."""
    counts = quota_counts(n, shares)
    values = np.repeat(np.asarray(labels), counts)
    return rng.permutation(values)


def exact_count(n: int, share: float) -> int:
    """The whole number of rows closest to ``share`` of ``n``."""
    return round(n * share)


def pick(rng: np.random.Generator, weights: npt.ArrayLike, k: int) -> npt.NDArray[np.bool_]:
    """Mark exactly ``k`` rows, chosen without replacement with probability rising with weight.

    Rows of weight 0 are never chosen (so fewer than ``k`` rows may be marked when too few
    rows have a positive weight).
    """
    w = np.asarray(weights, dtype="float64")
    chosen = np.zeros(len(w), dtype=bool)
    k = min(k, int((w > 0).sum()))
    if k <= 0:
        return chosen
    with np.errstate(divide="ignore"):
        keys = np.log(w) + rng.gumbel(size=len(w))
    top = np.argpartition(-keys, k - 1)[:k]
    chosen[top] = True
    return chosen


def choice_within_groups(
    rng: np.random.Generator,
    row_groups: npt.NDArray[np.int64],
    item_groups: npt.NDArray[np.int64],
    item_weights: npt.NDArray[np.float64],
) -> npt.NDArray[np.int64]:
    """For each row, draw one item of the row's group with probability ∝ the item's weight.

    ``row_groups[i]`` is the group of row ``i``; ``item_groups[j]`` and ``item_weights[j]``
    the group and weight of item ``j``. Returns item positions. Vectorised: the items are
    sorted by group, each row draws a uniform point in its group's slice of the cumulative
    weights, and a binary search finds the item, in O(n log m) time and O(n + m) memory.
    Every group a row names must hold an item of positive weight.
    """
    order = np.argsort(item_groups, kind="stable")
    sorted_groups = item_groups[order]
    cumulative = np.cumsum(item_weights[order].astype("float64"))
    n_groups = int(max(sorted_groups.max(), row_groups.max())) + 1
    first = np.searchsorted(sorted_groups, np.arange(n_groups), side="left")
    last = np.searchsorted(sorted_groups, np.arange(n_groups), side="right") - 1
    low = np.where(first > 0, cumulative[np.maximum(first - 1, 0)], 0.0)
    high = cumulative[np.maximum(last, 0)]
    points = low[row_groups] + rng.random(len(row_groups)) * (high - low)[row_groups]
    position = np.searchsorted(cumulative, points, side="right")
    position = np.clip(position, first[row_groups], last[row_groups])
    return order[position].astype("int64")
