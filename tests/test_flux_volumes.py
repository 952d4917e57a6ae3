"""Integer annual volumes by largest remainder, computed by hand on the reference scenario.

Reference forecast (see ``test_flux_basis``): department B = 44 (F = 43.75), commune A
B_A = 25 (F_A = 25.3125). ST and AL hold department conventions, CA one on commune A.
"""

from __future__ import annotations

import numpy as np
import pytest

from fluxopt.flux import METHODS, annual_volumes, compare_methods, largest_remainder
from fluxopt.schema.problems import FluxoptError
from test_flux_support import (
    convention,
    make_instance,
    reference_instance,
    residence,
    unit,
    vacancies,
)


def _volumes(method: str | None) -> dict[str, int]:
    table = annual_volumes(reference_instance(), method)
    return dict(zip(table["holder_id"], table["annual_volume"], strict=True))


def test_largest_remainder_example() -> None:
    # Floors (2, 3, 1) leave one unit for the largest remainder 0.6.
    assert largest_remainder([2.6, 3.3, 1.1], 7).tolist() == [3, 3, 1]


def test_largest_remainder_breaks_ties_in_order_and_checks_the_total() -> None:
    assert largest_remainder([0.5, 0.5], 1).tolist() == [1, 0]
    assert largest_remainder([1.0, 2.0], 3).tolist() == [1, 2]
    with pytest.raises(ValueError, match="between the sum of floors"):
        largest_remainder([1.2, 2.2], 6)


def test_stock_share_volumes() -> None:
    # Department: 0.2 × 44 = 8.8 and 0.15 × 44 = 6.6, total 15.4 → 15: floors 8 + 6, the
    # extra unit to ST (.8 > .6). Commune A: 0.1 × 25 = 2.5 → 3. Landlord: 44 − 18 = 26.
    assert _volumes("stock_share") == {"ST": 9, "AL": 6, "CA": 3, "LL": 26}


def test_turnover_weighted_volumes() -> None:
    # 0.254545 × 44 = 11.2 and 0.095455 × 44 = 4.2: total 15.4 → 15 = floors 11 + 4.
    assert _volumes("turnover_weighted") == {"ST": 11, "AL": 4, "CA": 3, "LL": 26}


def test_unique_rights_volumes() -> None:
    # AL: (0.15 + 12/43.75) × 44 = 18.6686; ST 8.8: total 27.4686 → 27, floors 8 + 18, the
    # extra unit to ST (.8 > .67). Landlord: 44 − 9 − 18 − 3 = 14.
    assert _volumes("unique_rights") == {"ST": 9, "AL": 18, "CA": 3, "LL": 14}


def test_negotiated_volumes() -> None:
    # 0.25 × 44 = 11, 0.20 × 44 = 8.8: total 19.8 → 20, the extra unit to AL.
    assert _volumes("negotiated") == {"ST": 11, "AL": 9, "CA": 3, "LL": 21}


def test_volumes_sum_to_the_rounded_basis_for_every_method() -> None:
    for method in METHODS:
        table = annual_volumes(reference_instance(), method)
        assert table["annual_volume"].dtype == np.int64
        assert (table["annual_volume"] >= 0).all()
        assert int(table["annual_volume"].sum()) == 44


def test_nested_perimeters_never_give_more_than_the_basis() -> None:
    # E1 = communes A and B with equal stock; 10 vacancies over two years: F = 5, so
    # F_A = F_B = 2.5 and B_A = B_B = 3 while B = 5. Quotas: D 0.5 × 5 = 2.5 → 3,
    # X 0.5 × 3 = 1.5 → 2, Y 1.5 → 2: 7 > 5. The department and commune A, rounded up the
    # most (by 0.5, first in order), each give one unit back: D 2, X 1, Y 2, landlord 0.
    instance = make_instance(
        residences=[residence("RA", "A", "E1", 50), residence("RB", "B", "E1", 50)],
        units=[unit("U1", "RA"), unit("U2", "RB")],
        holders=[("LL", "landlord"), ("D", "state"), ("X", "commune"), ("Y", "commune")],
        conventions=[
            convention("CD", "D", "department", "99", share=0.5),
            convention("CX", "X", "commune", "A", share=0.5),
            convention("CY", "Y", "commune", "B", share=0.5),
        ],
        history=vacancies("landlord", "E1", "A", 10),
    )
    table = annual_volumes(instance)
    volumes = dict(zip(table["holder_id"], table["annual_volume"], strict=True))
    assert volumes == {"D": 2, "X": 1, "Y": 2, "LL": 0}


def test_fixed_volume_is_kept_and_the_landlord_takes_the_rest() -> None:
    from test_flux_support import reference_tables

    tables = reference_tables()
    tables["conventions"][2] = convention("C_CA", "CA", "commune", "A", volume=2)
    table = annual_volumes(reference_instance(**tables))
    volumes = dict(zip(table["holder_id"], table["annual_volume"], strict=True))
    # ST 11, AL 9 as negotiated; CA's 2 units as written; landlord 44 − 22 = 22.
    assert volumes == {"ST": 11, "AL": 9, "CA": 2, "LL": 22}


def test_compare_methods_side_by_side() -> None:
    table = compare_methods(reference_instance()).set_index("holder_id")
    assert table.loc["AL", "volume_stock_share"] == 6
    assert table.loc["AL", "volume_negotiated"] == 9
    assert table.loc["AL", "delta_stock_share"] == -3
    assert table.loc["AL", "delta_unique_rights"] == 18 - 9
    assert table.loc["LL", "own_method"] == "remainder"
    assert (table["delta_negotiated"] == 0).all()
    for method in METHODS:
        assert int(table[f"volume_{method}"].sum()) == 44
    against_stock = compare_methods(reference_instance(), reference="stock_share")
    assert against_stock.set_index("holder_id").loc["AL", "delta_negotiated"] == 3


def test_compare_rejects_an_unknown_reference() -> None:
    with pytest.raises(FluxoptError, match="unknown conversion method"):
        compare_methods(reference_instance(), reference="fair")
