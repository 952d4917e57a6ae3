"""Scores of the committed ``instances/tiny`` under each shipped grid, checked by hand.

Applicants are named by the last three digits of their number. What matters in the data
(reference date 2026-01-01; completed months of wait in brackets; ``burden`` is
housing_cost_now × 12 / annual_income):

- 001 hosted (2), 002 hosted (0), 003 hosted, job (12), 004 transfer, priority, single
  parent, burden 0.371 (1), 005 none (9), 006 transfer, one refusal (49), 007 priority,
  homeless, 4,800 €/UC (29), 008 hosted, single parent, job (14), 009 transfer (59),
  010 burden 0.479 (4), 011 eviction, burden 0.506 (6), 012 single parent, burden 0.466 (0),
  013 priority, homeless, 5,700 €/UC, one refusal (15), 014 transfer, single parent (25),
  015 DALO, priority, hosted, eviction (5), 016 hosted (11), 017 priority, eviction,
  burden 0.402 (18), 018 hosted, single parent, job (38), 019 transfer, single parent (8),
  020 transfer, single parent (23), 021 transfer, burden 0.392 (6), 022 burden 0.467 (4),
  023 job (5), 024 transfer, single parent, burden 0.335 (10), 025 transfer, burden 0.302
  (1), 026 none (2), 027 priority, indecent housing, burden 0.2996 (19), 028 burden 0.9
  (0), 029 priority, burden 0.660 (0), 030 hosted (23).
- Nobody is disabled, a victim of domestic violence, overcrowded or under-occupying; every
  hosted or homeless household has a zero housing cost (burden 0, not missing).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from fluxopt.instance import Instance, load_instance
from fluxopt.scoring import load_grid, score

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"

MONTBELIARD = {
    # ordered weights: dalo 51,200, domestic violence 25,600, homeless 12,800, eviction
    # 6,400, indecent 3,200, overcrowded 1,600, disability 800, hosted 400, job 200,
    # single parent 100; then min(36, completed months)
    "001": 402,  # hosted 400 + 2 months
    "002": 400,
    "003": 612,  # hosted 400 + job 200 + 12
    "004": 101,  # single parent 100 + 1 (priority alone is no criterion of this grid)
    "005": 9,
    "006": 36,  # 49 months, capped at 36; a refusal costs nothing here
    "007": 12829,  # homeless 12,800 + 29
    "008": 714,  # hosted 400 + job 200 + single parent 100 + 14
    "009": 36,
    "010": 4,
    "011": 6406,
    "012": 100,
    "013": 12815,
    "014": 125,
    "015": 58005,  # dalo 51,200 + eviction 6,400 + hosted 400 + 5
    "016": 411,
    "017": 6418,
    "018": 736,  # 400 + 200 + 100 + 36 (38 months capped)
    "019": 108,
    "020": 123,
    "021": 6,
    "022": 4,
    "023": 205,
    "024": 110,
    "025": 1,
    "026": 2,
    "027": 3219,  # indecent 3,200 + 19
    "028": 0,
    "029": 0,
    "030": 423,
}

LYON = {
    # first-time demands: eviction 20, single parent 5, dalo 30, homeless 20, hosted 10,
    # indecent 10, burden >= 0.3: 10, one point a month, -5 per refusal
    "001": 12,
    "002": 10,
    "003": 22,  # hosted 10 + 12 (job mobility only counts for transfers)
    "005": 9,
    "007": 49,  # homeless 20 + 29
    "008": 29,  # hosted 10 + single parent 5 + 14
    "010": 14,
    "011": 36,  # eviction 20 + burden 10 + 6
    "012": 15,
    "013": 30,  # homeless 20 + 15 - 5 for one refusal
    "015": 65,  # dalo 30 + eviction 20 + hosted 10 + 5
    "016": 21,
    "017": 48,
    "018": 53,
    "022": 14,
    "023": 5,
    "026": 2,
    "027": 29,  # indecent 10 + 19; burden 0.2996 stays below 0.3
    "028": 10,
    "029": 10,
    "030": 33,
    # transfer demands: eviction 20, single parent 5, job 5, burden 10, one point a month
    "004": 16,  # single parent 5 + burden 10 + 1
    "006": 44,  # 49 - 5 for one refusal
    "009": 59,  # no cap on seniority
    "014": 30,
    "019": 13,
    "020": 28,
    "021": 16,
    "024": 25,  # single parent 5 + burden 10 + 10
    "025": 11,  # burden 0.302 >= 0.3: 10 + 1
}

PARIS = {
    # housing: highest of homeless 17 / eviction 10 / indecent 8 / hosted 6; family: sum of
    # single parent 3 + job 1 (cap 6); resources: highest of < 6,000 €/UC 3 and burden bands
    # 2 / 4 / 6, capped at 4; 0.25 a completed month up to 10; -2 per refusal
    "001": 6.5,
    "002": 6,
    "003": 10,  # hosted 6 + job 1 + 12 × 0.25
    "004": 5.25,  # single parent 3 + burden band 2 + 0.25
    "005": 2.25,
    "006": 8,  # seniority 49 × 0.25 = 12.25 capped at 10, - 2 for one refusal
    "007": 27.25,  # homeless 17 + low resources 3 + 29 × 0.25
    "008": 13.5,
    "009": 10,
    "010": 5,
    "011": 15.5,  # eviction 10 + burden 6 capped at 4 + 1.5
    "012": 7,
    "013": 21.75,  # homeless 17 + low resources 3 + 3.75 - 2
    "014": 9.25,
    "015": 11.25,  # highest of eviction 10 and hosted 6 + 1.25 (no DALO criterion)
    "016": 8.75,
    "017": 18.5,
    "018": 19.5,
    "019": 5,
    "020": 8.75,
    "021": 3.5,
    "022": 5,
    "023": 2.25,
    "024": 7.5,
    "025": 2.25,
    "026": 0.5,
    "027": 12.75,
    "028": 4,
    "029": 4,
    "030": 11.75,
}


@pytest.fixture(scope="module")
def tiny() -> Instance:
    return load_instance(TINY)


def by_suffix(totals: pd.Series) -> dict[str, float]:
    shortened = {str(key)[-3:]: float(value) for key, value in totals.items()}
    assert len(shortened) == len(totals)
    return shortened


@pytest.mark.parametrize(
    ("grid_name", "expected"),
    [("montbeliard-ordered", MONTBELIARD), ("lyon-additive", LYON), ("paris-groups", PARIS)],
)
def test_tiny_scores_match_the_hand_computation(
    tiny: Instance, grid_name: str, expected: dict[str, float]
) -> None:
    result = score(load_grid(grid_name), tiny.applicants)
    assert by_suffix(result.total) == pytest.approx(expected)
    assert not result.missing.to_numpy().any()


def test_tiny_breakdown_of_a_few_applicants(tiny: Instance) -> None:
    paris = score(load_grid("paris-groups"), tiny.applicants)
    row = paris.breakdown.rename(index=lambda key: str(key)[-3:]).loc["011"]
    assert row[row != 0].to_dict() == {
        "threatened_eviction": 10,
        "rent_burden": 4,
        "seniority": 1.5,
    }
    lyon = score(load_grid("lyon-additive"), tiny.applicants)
    transfers = by_suffix(lyon.transfer[lyon.transfer])
    assert sorted(transfers) == ["004", "006", "009", "014", "019", "020", "021", "024", "025"]
