"""What applicants wish: ranked communes and a typology, and what they live in now.

- **Communes**: 1 to 4 communes (45 / 30 / 15 / 10 %), ranked. The first wish is drawn ∝ the
  commune's demand weight (its stock weight times a lognormal pressure factor of spread
  0.3), so that main towns draw most first wishes with a Zipf-like tail. Further wishes
  follow a Plackett-Luce draw without replacement (sequential draws) where communes of the first
  wish's EPCI weigh 12 times more than the others. About 4 % of applicants also name one
  commune outside the landlord's territory, at a random rank (a shared demand file is
  normal: validation only warns).
- **Typology** wished by household size (plausible practice, no legal mapping):
  1 person → T1 (40 %) / T2; 2 → T2 (65 %) / T3; 3 → T3 (85 %) / T4; 4 → T3 (45 %) / T4;
  5 → T4 (60 %) / T5; 6+ → T5 (85 %) / T6; left empty ("any fitting typology") for 10 %.
- **Current dwelling** of housed applicants: rooms near the household's need, sometimes
  over-occupied; monthly cost at 6.5 €/m² in social housing, 10.5 €/m² in the private
  sector, plus 1.5 €/m² of charges. Without housing or hosted: 0 rooms, no cost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fluxopt.generate.presets import Preset
from fluxopt.generate.sampling import choice_within_groups, exact_count, pick, shuffled_labels
from fluxopt.generate.territory import Territory
from fluxopt.generate.units import SURFACE_BY_ROOMS

WISH_COUNT_SHARES = (0.45, 0.30, 0.15, 0.10)
SAME_EPCI_WEIGHT = 12.0
MAX_WISHES = 4
ROOM_CHOICE = np.array([[0, 0.0], [1, 0.40], [2, 0.65], [3, 0.85], [3, 0.45], [4, 0.60], [5, 0.85]])
"""By household size 0..6 (6 = six or more): smaller typology wished, probability of it."""
NO_ROOM_WISH_SHARE = 0.10


def wished_communes(
    rng: np.random.Generator, preset: Preset, territory: Territory
) -> tuple[pd.Series, np.ndarray]:
    """The ';'-separated ranked wishes and the position of each applicant's first commune.

    The first commune in the territory decides the applicant's home EPCI.
    """
    n = preset.applicants
    communes = territory.communes
    names = communes["commune"].to_numpy(dtype=object)
    demand = communes["weight"].to_numpy() * rng.lognormal(0.0, 0.3, len(communes))
    count = shuffled_labels(rng, n, [1, 2, 3, 4], WISH_COUNT_SHARES).astype(int)
    count = np.minimum(count, len(communes))
    first = rng.choice(len(communes), size=n, p=demand / demand.sum())
    others = _further_wishes(rng, first, count, communes["epci_pos"].to_numpy(), demand)
    slots = np.full((n, MAX_WISHES + 1), "", dtype=object)
    slots[:, 0] = names[first]
    for rank in range(1, MAX_WISHES):
        slots[:, rank] = np.where(count > rank, names[others[:, rank - 1]], "")
    outside = pick(rng, np.ones(n), exact_count(n, preset.outside_wish_share))
    if territory.outside:
        slots = _insert_outside(rng, slots, count, outside, territory.outside)
    joined = slots[:, 0].copy()
    for rank in range(1, MAX_WISHES + 1):
        column = slots[:, rank]
        joined = joined + np.where(column != "", ";" + column, "")
    return pd.Series(joined, dtype="str"), first


def _further_wishes(
    rng: np.random.Generator,
    first: np.ndarray,
    count: np.ndarray,
    epci_pos: np.ndarray,
    demand: np.ndarray,
) -> np.ndarray:
    """Wishes 2..4 of each applicant, in order (-1 where the applicant wishes fewer).

    A sequential draw without replacement (Plackett-Luce) with weights
    ``w'(c) = demand(c) × (1 + (SAME_EPCI_WEIGHT − 1) · [epci(c) = epci(first)])``: each rank
    draws from ``w'`` as a mixture (all communes ∝ demand with probability
    ``S / (S + (k − 1) S_e)``, else the first wish's EPCI ∝ demand, with ``k`` =
    ``SAME_EPCI_WEIGHT`` and ``S``, ``S_e`` the total demand of the territory and of that
    EPCI) and draws again where the commune is already wished. A row still unlucky after
    100 draws takes the first commune it lacks.
    """
    n, m = len(first), len(demand)
    out = np.full((n, MAX_WISHES - 1), -1, dtype="int64")
    home = epci_pos[first]
    epci_demand = np.bincount(epci_pos, weights=demand)
    total = float(demand.sum())
    p_any = total / (total + (SAME_EPCI_WEIGHT - 1.0) * epci_demand[home])
    chosen = first[:, None]
    for rank in range(1, MAX_WISHES):
        pending = np.flatnonzero(count > rank)
        for _ in range(100):
            if len(pending) == 0:
                break
            draw = np.empty(len(pending), dtype="int64")
            anywhere = rng.random(len(pending)) < p_any[pending]
            draw[anywhere] = rng.choice(m, size=int(anywhere.sum()), p=demand / total)
            near = pending[~anywhere]
            if len(near):
                draw[~anywhere] = choice_within_groups(rng, home[near], epci_pos, demand)
            taken = (chosen[pending] == draw[:, None]).any(axis=1)
            out[pending[~taken], rank - 1] = draw[~taken]
            pending = pending[taken]
        for row in pending:  # pragma: no cover - vanishingly rare
            out[row, rank - 1] = next(c for c in range(m) if c not in chosen[row])
        chosen = np.column_stack([first, out[:, :rank]])
    return out


def _insert_outside(
    rng: np.random.Generator,
    slots: np.ndarray,
    count: np.ndarray,
    outside: np.ndarray,
    outside_names: tuple[str, ...],
) -> np.ndarray:
    """Insert one commune outside the territory at a random rank for the chosen applicants.

    When the applicant already names four communes, the last one gives way.
    """
    n = len(count)
    rank = np.floor(rng.random(n) * (np.minimum(count, MAX_WISHES - 1) + 1)).astype(int)
    name = np.asarray(outside_names, dtype=object)[rng.integers(0, len(outside_names), n)]
    out = slots.copy()
    for position in range(MAX_WISHES + 1):
        shifted = outside & (position > rank)
        if position > 0:
            out[shifted, position] = slots[shifted, position - 1]
        out[outside & (position == rank), position] = name[outside & (position == rank)]
    out[:, MAX_WISHES] = ""
    return out


def wished_rooms(rng: np.random.Generator, size: np.ndarray) -> pd.Series:
    """Typology wished by each household (nullable; empty for about 10 %)."""
    capped = np.minimum(size, 6)
    low = ROOM_CHOICE[capped, 0].astype("int64")
    p_low = ROOM_CHOICE[capped, 1]
    rooms = low + (rng.random(len(size)) >= p_low)
    empty = pick(rng, np.ones(len(size)), exact_count(len(size), NO_ROOM_WISH_SHARE))
    return pd.Series(pd.array(np.where(empty, 0, rooms), dtype="Int64")).mask(empty)


def current_dwelling(
    rng: np.random.Generator, size: np.ndarray, situation: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Rooms and monthly housing cost (rent + charges) of the current dwelling."""
    n = len(size)
    housed = np.isin(situation, ["social_tenant", "private_tenant", "other"])
    need = np.clip(size, 1, 5)
    rooms = np.clip(need + rng.choice([-1, 0, 1], size=n, p=[0.35, 0.45, 0.20]), 1, 6)
    surface = SURFACE_BY_ROOMS[rooms - 1] * rng.lognormal(0.0, 0.1, n)
    rate = np.where(situation == "social_tenant", 6.5, 10.5) * rng.lognormal(0.0, 0.1, n) + 1.5
    cost = np.round(surface * rate)
    return np.where(housed, rooms, 0), np.where(housed, cost, 0.0)
