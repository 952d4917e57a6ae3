r"""The sparse candidate graph: value of each eligible pair, then pruning per unit.

The value of proposing applicant ``a`` for unit ``u`` lies in [0, 1]:

.. math:: v_{ua} = w_s \frac{s_a}{\max_b s_b} + w_w \frac{1}{r_{ua}} + w_f\, \mathrm{fit}_{ua}

with ``s`` the score (cotation), ``r`` the rank of ``u``'s commune among ``a``'s wishes and
the fit ``1 - |rooms_u - ideal_a| / 2`` clipped to [0, 1].

Pruning keeps, for each unit, its ``keep_best`` most valuable candidates (plus one per
rival unit of the same commune and typology, which would otherwise keep the very same
applicants), plus its most
valuable candidates of each *class* that a rule may need (a quota's share and its complement,
a channel's admitted public), ``K`` of each. With ``K`` at least the number of units of the
unit's rule group that may need that class, any assignment of the full graph that serves the
class in ``n <= K`` units can be rebuilt in the pruned graph: units whose class candidates
were all kept take their own; each other unit keeps ``K`` of them, of which at most ``n - 1``
are taken by the others. ``keep_per_class: auto`` sets ``K`` that way, bounded by
``max_per_class``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.constraints.ruleset import PruningRule, ValueRule
from fluxopt.eligibility import PairChunk, concat_chunks


@dataclass(frozen=True)
class PairClass:
    """A class of candidates a rule needs: membership per applicant, per q1 value."""

    name: str
    if_q1: npt.NDArray[np.bool_]
    """Membership of each applicant when the pair is first quartile."""
    if_not_q1: npt.NDArray[np.bool_]
    """Membership of each applicant when it is not."""
    keep: npt.NDArray[np.int64]
    """Candidates of the class to keep for each unit (0 where no rule needs the class)."""

    def members(self, chunk: PairChunk) -> npt.NDArray[np.bool_]:
        """Which pairs of a chunk belong to the class."""
        return np.where(chunk.q1, self.if_q1[chunk.applicant], self.if_not_q1[chunk.applicant])


def pair_values(
    chunk: PairChunk, score_norm: npt.NDArray[np.float64], rule: ValueRule
) -> npt.NDArray[np.float64]:
    """Value in [0, 1] of each pair of a chunk (see the module docstring)."""
    return (
        rule.score * score_norm[chunk.applicant]
        + rule.wish / chunk.wish_rank.astype(np.float64)
        + rule.fit * chunk.fit
    )


def normalised_scores(score: pd.Series) -> npt.NDArray[np.float64]:
    """Scores scaled to [0, 1] by the largest score (all zero when every score is zero)."""
    values = score.to_numpy(dtype=np.float64)
    values = np.where(np.isfinite(values), values, 0.0)
    low = min(values.min(initial=0.0), 0.0)
    shifted = values - low
    top = shifted.max(initial=0.0)
    return shifted / top if top > 0 else np.zeros_like(shifted)


def prune_chunk(
    chunk: PairChunk,
    value: npt.NDArray[np.float64],
    rule: PruningRule,
    classes: Iterable[PairClass],
    forced: npt.NDArray[np.bool_] | None = None,
    rivals: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.int64]:
    """Positions of the pairs of a chunk to keep, sorted by unit then decreasing value.

    ``forced`` marks pairs kept whatever their rank (locked pairs). ``rivals`` gives, per
    unit, how many other units of the batch draw on the same demand (same commune and
    typology): identical units rank the same applicants first, so each keeps that many more
    than ``keep_best`` and the group cannot run out of candidates through pruning alone.
    """
    order = np.lexsort((-value, chunk.unit))
    units_sorted = chunk.unit[order]
    limit = np.full(int(chunk.unit.max(initial=-1)) + 1, rule.keep_best, dtype=np.int64)
    if rivals is not None and len(limit):
        limit = limit + rivals[: len(limit)]
    keep = rank_within(units_sorted) < limit[units_sorted]
    for pair_class in classes:
        member = pair_class.members(chunk)[order]
        if not member.any():
            continue
        limit = pair_class.keep[units_sorted]
        positions = np.flatnonzero(member)
        ranks = rank_within(units_sorted[positions])
        keep[positions[ranks < limit[positions]]] = True
    if forced is not None:
        keep |= forced[order]
    return order[keep]


def rank_within(sorted_groups: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Rank of each element within its run of equal values (0 for the first)."""
    n = len(sorted_groups)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, n]))
    return np.arange(n) - run_start


@dataclass(frozen=True)
class CandidateGraph:
    """The pruned candidate graph, as positional arrays sorted by unit, then by value."""

    unit: npt.NDArray[np.int64]
    applicant: npt.NDArray[np.int64]
    wish_rank: npt.NDArray[np.int64]
    q1: npt.NDArray[np.bool_]
    burden: npt.NDArray[np.float64]
    fit: npt.NDArray[np.float64]
    value: npt.NDArray[np.float64]
    eligible_pairs: int
    """Pairs before pruning."""

    def __len__(self) -> int:
        return len(self.unit)

    @classmethod
    def from_chunks(
        cls, chunks: list[PairChunk], values: list[npt.NDArray[np.float64]], eligible: int
    ) -> CandidateGraph:
        """Assemble pruned chunks into one graph."""
        if chunks:
            merged = concat_chunks(chunks)
            value = np.concatenate(values)
            order = np.lexsort((-value, merged.unit))
            merged, value = merged.take(order), value[order]
        else:
            empty = np.zeros(0, dtype=np.int64)
            merged = PairChunk(empty, empty, empty, np.zeros(0, bool), np.zeros(0), np.zeros(0))
            value = np.zeros(0)
        return cls(
            unit=merged.unit,
            applicant=merged.applicant,
            wish_rank=merged.wish_rank,
            q1=merged.q1,
            burden=merged.burden,
            fit=merged.fit,
            value=value,
            eligible_pairs=eligible,
        )

    def frame(self) -> pd.DataFrame:
        """The graph as a DataFrame (positions, not ids)."""
        return pd.DataFrame(
            {
                "unit": self.unit,
                "applicant": self.applicant,
                "wish_rank": self.wish_rank,
                "q1": self.q1,
                "burden": self.burden,
                "fit": self.fit,
                "value": self.value,
            }
        )

    def per_unit(self, num_units: int) -> npt.NDArray[np.int64]:
        """Number of candidates of each unit."""
        return np.bincount(self.unit, minlength=num_units).astype(np.int64)
