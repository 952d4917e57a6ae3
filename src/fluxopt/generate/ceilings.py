"""Income ceilings (plafonds de ressources) of the synthetic instances: 2025, *autres régions*.

Sources and assumptions (``domain.md`` §5):

- PLUS, categories 1-4: the 2025 values 23,201 / 30,984 / 37,259 / 44,982 € [S46];
- PLUS, categories 5-6 and per extra person: the 2023 values 47,818 / 53,891 / +6,011 € [S45]
  raised by the 2023→2025 index of category 4 (``44,982 / 40,648 ≈ 1.1066``; the same
  index holds for categories 1-3 within 0.01 %);
- PLAI, category 1: the 2025 value 12,759 € [S46]; categories 2-6 and per extra person: the
  2025 PLUS value times the 2023 PLAI/PLUS ratio of the category (11,531 / 16,800 / 20,203 /
  22,479 / 26,300 / 29,641, +3,306 € in 2023 [S45]);
- PLS = PLUS × 1.30 [S46];
- PLI = PLUS × 1.40 ⚠ assumption: real PLI ceilings are set per zone by their own arrêté;
  1.40 sits between PLS and the zone B1/B2 PLI values.

Categories 1..6 follow household size (a disabled member moves the household up one);
``per_extra_person`` (category 6 rows) is added for each person beyond six.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PLUS_2025 = (23_201.0, 30_984.0, 37_259.0, 44_982.0)
PLUS_2023 = (20_966.0, 27_998.0, 33_670.0, 40_648.0, 47_818.0, 53_891.0)
PLUS_2023_EXTRA = 6_011.0
PLAI_2023 = (11_531.0, 16_800.0, 20_203.0, 22_479.0, 26_300.0, 29_641.0)
PLAI_2023_EXTRA = 3_306.0
PLAI_2025_CATEGORY_1 = 12_759.0
PLS_FACTOR = 1.30
PLI_FACTOR = 1.40
"""⚠ Assumed ratio of PLI to PLUS ceilings (see the module docstring)."""


def plus_ceilings() -> tuple[np.ndarray, float]:
    """PLUS ceilings of categories 1..6 and the amount per extra person (2025, rounded)."""
    index = PLUS_2025[3] / PLUS_2023[3]
    values = np.array([*PLUS_2025, PLUS_2023[4] * index, PLUS_2023[5] * index])
    return np.round(values), float(round(PLUS_2023_EXTRA * index))


def ceilings_table() -> pd.DataFrame:
    """The ceilings table: one row per financing class (PLAI, PLUS, PLS, PLI) × category."""
    plus, plus_extra = plus_ceilings()
    ratio = np.array(PLAI_2023) / np.array(PLUS_2023)
    plai = np.round(plus * ratio)
    plai[0] = PLAI_2025_CATEGORY_1
    plai_extra = float(round(plus_extra * PLAI_2023_EXTRA / PLUS_2023_EXTRA))
    rows = {
        "PLAI": (plai, plai_extra),
        "PLUS": (plus, plus_extra),
        "PLS": (np.round(plus * PLS_FACTOR), float(round(plus_extra * PLS_FACTOR))),
        "PLI": (np.round(plus * PLI_FACTOR), float(round(plus_extra * PLI_FACTOR))),
    }
    frames = [
        pd.DataFrame(
            {
                "financing": financing,
                "category": np.arange(1, 7),
                "ceiling": values,
                "per_extra_person": [0.0] * 5 + [extra],
            }
        )
        for financing, (values, extra) in rows.items()
    ]
    return pd.concat(frames, ignore_index=True)


def household_ceiling(
    ceilings: pd.DataFrame, financing: str, category: np.ndarray, household_size: np.ndarray
) -> np.ndarray:
    """Ceiling of each household for one financing class, extra persons beyond six included."""
    rows = ceilings[ceilings["financing"] == financing].set_index("category").reindex(range(1, 7))
    base = rows["ceiling"].to_numpy(dtype="float64")[category - 1]
    extra = float(rows["per_extra_person"].to_numpy(dtype="float64")[5])
    return np.asarray(base + extra * np.maximum(household_size - 6, 0), dtype="float64")
