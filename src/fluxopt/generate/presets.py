"""Sizes and parameters of the synthetic instance presets.

A preset fixes everything about a synthetic instance except the random draws: the
territory (how many EPCIs and communes, or the Doubs-like territory of ``demo``), the
period, the volumes (vacated units per month, active demands), and the shares the
generator calibrates on (``domain.md`` §6 and the seed's figures table):

- ``tiny``: a hand-checkable instance (8 units, 30 applicants, 3 communes);
- ``demo``: a Doubs-like department (9,864 active demands, 47 % transfers, 70 % filed
  under 12 months, about 80 vacancies a month in January-March 2026, 41.7 % of the stock
  in QPV rounded to 40 %);
- ``medium``, ``large``, ``xl``: the benchmark sizes of design §10 (300 / 3,000 / 30,000
  units, 10,000 / 100,000 / 500,000 applicants), about 30 % transfers.

The landlord's stock follows from the yearly turnover (rotation): about 9 % of the stock
is vacated every year, so ``stock = 12 × units_per_month / 0.09``.
"""

from __future__ import annotations

from dataclasses import dataclass

TURNOVER_PER_YEAR = 0.09
"""Share of the stock vacated each year (≈ 9.3 % of units had a move-in in 2018, RPLS)."""


@dataclass(frozen=True)
class Preset:
    """Every size and share a synthetic instance is generated from."""

    name: str
    description: str
    department: str
    department_name: str
    landlord: str
    year: int
    months: tuple[str, ...]
    units_per_month: int
    applicants: int
    epcis: int
    communes: int
    residences: int
    transfer_share: float
    under_12_months_share: float
    qpv_share: float
    commune_holders: int
    epci_holders: int
    department_holder: bool = True
    other_flux_holder: bool = False
    defense_holder: bool = False
    round_money: bool = False
    history_wait_mean_months: float = 8.0
    outside_wish_share: float = 0.04
    doubs: bool = False

    @property
    def units(self) -> int:
        """Vacated units of the instance (all months)."""
        return self.units_per_month * len(self.months)

    @property
    def stock(self) -> int:
        """Dwellings the landlord owns: twelve months of vacancies over the turnover rate."""
        return round(12 * self.units_per_month / TURNOVER_PER_YEAR)


def _months(year: int, count: int) -> tuple[str, ...]:
    return tuple(f"{year}-{m:02d}" for m in range(1, count + 1))


PRESETS: dict[str, Preset] = {
    "tiny": Preset(
        name="tiny",
        description="Hand-checkable synthetic instance: 8 vacated units, 30 applicants.",
        department="00",
        department_name="Synthetic department",
        landlord="Habitat Synthétique",
        year=2026,
        months=_months(2026, 1),
        units_per_month=8,
        applicants=30,
        epcis=2,
        communes=3,
        residences=4,
        transfer_share=0.30,
        under_12_months_share=0.60,
        qpv_share=0.31,
        commune_holders=1,
        epci_holders=0,
        department_holder=False,
        round_money=True,
    ),
    "demo": Preset(
        name="demo",
        description=(
            "Doubs-like synthetic instance: three EPCIs, 9,864 active demands, "
            "about 80 vacancies a month from January to March 2026."
        ),
        department="25",
        department_name="Doubs",
        landlord="Habitat du Doubs (synthetic)",
        year=2026,
        months=_months(2026, 3),
        units_per_month=80,
        applicants=9_864,
        epcis=3,
        communes=22,
        residences=180,
        transfer_share=0.47,
        under_12_months_share=0.70,
        qpv_share=0.40,
        commune_holders=2,
        epci_holders=1,
        defense_holder=True,
        history_wait_mean_months=6.2,
        doubs=True,
    ),
    "medium": Preset(
        name="medium",
        description="Synthetic monthly batch: 300 vacated units, 10,000 applicants, 4 EPCIs.",
        department="00",
        department_name="Synthetic department",
        landlord="Habitat Synthétique",
        year=2026,
        months=_months(2026, 1),
        units_per_month=300,
        applicants=10_000,
        epcis=4,
        communes=20,
        residences=600,
        transfer_share=0.30,
        under_12_months_share=0.60,
        qpv_share=0.31,
        commune_holders=2,
        epci_holders=1,
        defense_holder=True,
    ),
    "large": Preset(
        name="large",
        description=(
            "Synthetic monthly batch: 3,000 vacated units, 100,000 applicants, "
            "20 EPCIs, 12 holders."
        ),
        department="00",
        department_name="Synthetic department",
        landlord="Habitat Synthétique",
        year=2026,
        months=_months(2026, 1),
        units_per_month=3_000,
        applicants=100_000,
        epcis=20,
        communes=120,
        residences=6_000,
        transfer_share=0.30,
        under_12_months_share=0.60,
        qpv_share=0.31,
        commune_holders=3,
        epci_holders=2,
        other_flux_holder=True,
        defense_holder=True,
    ),
    "xl": Preset(
        name="xl",
        description=(
            "Synthetic monthly batch of a national-scale landlord: 30,000 vacated units, "
            "500,000 applicants, 40 EPCIs."
        ),
        department="00",
        department_name="Synthetic department",
        landlord="Habitat Synthétique",
        year=2026,
        months=_months(2026, 1),
        units_per_month=30_000,
        applicants=500_000,
        epcis=40,
        communes=300,
        residences=40_000,
        transfer_share=0.30,
        under_12_months_share=0.60,
        qpv_share=0.31,
        commune_holders=3,
        epci_holders=2,
        other_flux_holder=True,
        defense_holder=True,
    ),
}
"""The presets by name."""


def get_preset(name: str) -> Preset:
    """The preset called ``name``; a :class:`KeyError` names the known ones otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(PRESETS)
        raise KeyError(f"unknown preset {name!r}; use one of: {known}") from None
