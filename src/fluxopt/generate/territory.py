"""The territory of a synthetic instance: EPCIs, communes and the landlord's residences.

- **EPCIs** (établissements publics de coopération intercommunale, intercommunal
  authorities) get clearly synthetic 9-digit SIREN-like ids ``99`` + department on three
  digits + a sequence number (``990250001`` …), never a real SIREN.
- **Communes** are grouped in EPCIs; each EPCI has a main town holding most of its stock,
  and the other communes follow a Zipf-like law (weight of the k-th commune ∝ ``1/k^1.1``).
  The ``demo`` preset uses a Doubs-like territory (Grand Besançon Métropole, Pays de
  Montbéliard Agglomération, CC du Grand Pontarlier) with real commune names and
  invented weights; the other presets invent names.
- **Residences** (buildings or programmes) share the landlord's stock among communes in
  proportion to the commune weights. Residences of communes with a priority district are
  placed in QPV with the probability that puts the preset's QPV share of the stock in QPV;
  about 12 % of residences are fragile (odds 8:1 for a QPV residence, so about three
  quarters of them are in QPV); 40 % of the fragile residences cap first-quartile lettings
  at 30-40 % (``cap_q1_share``), a fifth of the others cap priority households at 40-50 %.
- Main towns and about a fifth of the other communes have a priority district, except in
  one EPCI without any (the last one; CC du Grand Pontarlier in ``demo``), where the LEC
  quotas do not apply.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fluxopt.generate.presets import Preset
from fluxopt.generate.sampling import choice_within_groups, pick, quota_counts, stream

DOUBS_EPCIS = (
    ("Grand Besançon Métropole", 1.05),
    ("Pays de Montbéliard Agglomération", 0.92),
    ("CC du Grand Pontarlier", 1.20),
)
"""Name and relative income level of each EPCI of the Doubs-like territory."""

DOUBS_COMMUNES = (
    # commune, EPCI position, stock weight, has a priority district (QPV)
    ("Besançon", 0, 30.0, True),
    ("Saint-Vit", 0, 1.2, False),
    ("École-Valentin", 0, 0.8, False),
    ("Serre-les-Sapins", 0, 0.7, False),
    ("Pouilley-les-Vignes", 0, 0.6, False),
    ("Thise", 0, 0.6, False),
    ("Miserey-Salines", 0, 0.6, False),
    ("Franois", 0, 0.5, False),
    ("Saône", 0, 0.5, False),
    ("Montbéliard", 1, 12.0, True),
    ("Audincourt", 1, 7.0, True),
    ("Valentigney", 1, 4.0, True),
    ("Bethoncourt", 1, 3.5, True),
    ("Grand-Charmont", 1, 3.0, True),
    ("Sochaux", 1, 1.5, False),
    ("Seloncourt", 1, 1.5, False),
    ("Mandeure", 1, 1.5, False),
    ("Hérimoncourt", 1, 1.2, False),
    ("Exincourt", 1, 1.2, False),
    ("Pontarlier", 2, 6.0, False),
    ("Houtaud", 2, 0.4, False),
    ("Granges-Narboz", 2, 0.3, False),
)
"""Communes of the Doubs-like territory (weights invented, names real)."""

DOUBS_OUTSIDE = ("Dole", "Belfort", "Vesoul", "Lons-le-Saunier", "Morteau", "Baume-les-Dames")
"""Communes outside the landlord's territory that some applicants also wish."""

NAME_STEMS = (
    "Saint-Martin", "Villers", "Montigny", "Beaulieu", "Fontaine", "Champagne", "Rochefort",
    "Bellevue", "Neuville", "Chateauneuf", "Valmont", "Clairefont", "Marcilly", "Sainte-Croix",
    "Boisseron", "Longeville", "Mirebel", "Vauclair", "Hauterive", "Belmont", "Courcelles",
    "Pierrefeu", "Roussillon", "Blanzac", "Aubigny", "Sauveterre", "Montferrand", "Lavergne",
    "Malval", "Brioude", "Charmoy", "Vernois", "Thorey", "Perrigny", "Esserval", "Gorgier",
)  # fmt: skip
NAME_SUFFIXES = (
    "", "-sur-Loue", "-les-Bois", "-la-Rivière", "-le-Haut", "-en-Plaine", "-sur-Ognon",
    "-les-Vignes", "-le-Château", "-la-Forêt", "-sous-Roche", "-en-Val", "-les-Prés",
)  # fmt: skip
RESIDENCE_NAMES = (
    "Les Tilleuls", "Les Acacias", "Les Érables", "Le Parc", "Les Cèdres", "Les Lilas",
    "Les Peupliers", "Le Clos", "Les Jardins", "Le Belvédère", "Les Vergers", "La Source",
    "Les Marronniers", "Le Moulin", "Les Charmes", "La Colline", "Les Saules", "Le Verger",
)  # fmt: skip

FRAGILE_SHARE = 0.12
"""Share of residences whose occupancy the allocation agreement flags as fragile."""
QPV_FRAGILE_WEIGHT = 8.0
"""Odds weight of a QPV residence over another to be fragile (about 3/4 of fragile are in QPV)."""
MIXITY_CAP_SHARE = 0.4
"""Share of the fragile residences with a first-quartile mixity cap."""


@dataclass(frozen=True)
class Territory:
    """EPCIs and communes of a synthetic instance (plus a few communes outside it)."""

    epcis: pd.DataFrame
    """One row per EPCI: epci, epci_name, income_level."""
    communes: pd.DataFrame
    """One row per commune: commune, epci, epci_pos, weight, qpv_commune, main."""
    outside: tuple[str, ...]
    """Communes outside the landlord's territory (wished by a few applicants)."""


def slug(text: str) -> str:
    """An upper-case ASCII identifier made from a name (``Besançon`` → ``BESANCON``)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    cleaned = "".join(c if c.isalnum() else "_" for c in ascii_text.upper())
    return "_".join(part for part in cleaned.split("_") if part)


def epci_id(department: str, position: int) -> str:
    """A synthetic 9-digit SIREN-like EPCI id: ``99`` + department (3 digits) + sequence."""
    return f"99{department:0>3}{position + 1:04d}"


def make_territory(preset: Preset, seed: int) -> Territory:
    """The EPCIs and communes of a preset (fixed for ``demo``, invented otherwise)."""
    if preset.doubs:
        return _doubs_territory(preset)
    return _synthetic_territory(preset, stream(seed, "territory"))


def _doubs_territory(preset: Preset) -> Territory:
    epcis = pd.DataFrame(
        {
            "epci": [epci_id(preset.department, i) for i in range(len(DOUBS_EPCIS))],
            "epci_name": [name for name, _ in DOUBS_EPCIS],
            "income_level": [level for _, level in DOUBS_EPCIS],
        }
    )
    communes = pd.DataFrame(
        DOUBS_COMMUNES, columns=["commune", "epci_pos", "weight", "qpv_commune"]
    )
    communes["epci"] = epcis["epci"].to_numpy()[communes["epci_pos"].to_numpy()]
    communes["main"] = ~communes["epci_pos"].duplicated()
    return Territory(epcis, communes[_COMMUNE_COLUMNS], DOUBS_OUTSIDE)


_COMMUNE_COLUMNS = ["commune", "epci", "epci_pos", "weight", "qpv_commune", "main"]


def _synthetic_territory(preset: Preset, rng: np.random.Generator) -> Territory:
    pool = [stem + suffix for suffix in NAME_SUFFIXES for stem in NAME_STEMS]
    n_outside = 4
    names = rng.choice(pool, size=preset.communes + n_outside, replace=False)
    epci_weight = 1.0 / np.arange(1, preset.epcis + 1) ** 0.8
    extra = quota_counts(preset.communes - preset.epcis, np.sqrt(epci_weight))
    per_epci = extra + 1
    epci_pos = np.repeat(np.arange(preset.epcis), per_epci)
    rank = np.concatenate([np.arange(1, k + 1) for k in per_epci])
    weight = epci_weight[epci_pos] * 10.0 / rank**1.1 * rng.lognormal(0.0, 0.2, len(rank))
    main = rank == 1
    # Main towns have a priority district; so do about a fifth of the other communes.
    qpv_commune = main | (rng.random(len(rank)) < 0.2)
    if preset.epcis > 1:
        qpv_commune[epci_pos == preset.epcis - 1] = False  # one EPCI without any QPV
    ids = [epci_id(preset.department, i) for i in range(preset.epcis)]
    main_names = names[: preset.communes][main]
    kinds = np.where(np.arange(preset.epcis) < max(1, preset.epcis // 4), "CA", "CC")
    epci_names = [
        f"Communauté d'agglomération de {town}" if kind == "CA" else f"CC de {town}"
        for kind, town in zip(kinds, main_names, strict=True)
    ]
    epcis = pd.DataFrame(
        {
            "epci": ids,
            "epci_name": epci_names,
            "income_level": np.round(rng.lognormal(0.0, 0.12, preset.epcis), 3),
        }
    )
    communes = pd.DataFrame(
        {
            "commune": names[: preset.communes],
            "epci": np.asarray(ids)[epci_pos],
            "epci_pos": epci_pos,
            "weight": weight,
            "qpv_commune": qpv_commune,
            "main": main,
        }
    )
    return Territory(epcis, communes, tuple(str(n) for n in names[preset.communes :]))


def make_residences(preset: Preset, territory: Territory, seed: int) -> pd.DataFrame:
    """The landlord's residences with the stock, QPV, fragility and mixity caps.

    Each commune gets at least one residence; the rest are spread ∝ commune weight. The stock
    of a residence is ∝ its commune's weight share times a lognormal size factor, so that the
    stock sums to the preset's stock. Besides the declared columns, the frame keeps the hidden
    columns ``built_year``, ``floors``, ``renewal`` (an urban-renewal site) and
    ``new_programme`` (delivered in the period, see :func:`_new_programmes`) that units use.
    """
    rng = stream(seed, "residences")
    communes = territory.communes
    n = max(preset.residences, len(communes))
    per_commune = quota_counts(n - len(communes), communes["weight"].to_numpy()) + 1
    position = np.repeat(np.arange(len(communes)), per_commune)
    size = rng.lognormal(0.0, 0.5, n)
    commune_weight = communes["weight"].to_numpy()
    share = commune_weight[position] * size / np.bincount(position, weights=size)[position]
    stock = np.maximum(4, np.round(preset.stock * share / commune_weight.sum())).astype("int64")
    in_qpv_commune = communes["qpv_commune"].to_numpy()[position]
    qpv_stock = float(stock[in_qpv_commune].sum())
    p_qpv = min(0.95, preset.qpv_share * float(stock.sum()) / qpv_stock) if qpv_stock else 0.0
    qpv = in_qpv_commune & (rng.random(n) < p_qpv)
    n_fragile = round(FRAGILE_SHARE * n)
    fragile = pick(rng, np.where(qpv, QPV_FRAGILE_WEIGHT, 1.0), n_fragile)
    capped = fragile & pick(rng, fragile.astype(float), round(MIXITY_CAP_SHARE * n_fragile))
    cap_q1 = np.where(capped, rng.choice([0.30, 0.35, 0.40], n), np.nan)
    capped_priority = fragile & ~capped & (rng.random(n) < 0.2)
    cap_priority = np.where(capped_priority, rng.choice([0.40, 0.50], n), np.nan)
    built_year = _built_years(rng, n, preset.year)
    floors = np.where(qpv, rng.integers(4, 13, n), rng.integers(1, 6, n))
    renewal = qpv & (rng.random(n) < 0.3)
    new = _new_programmes(rng, preset, communes)
    position = np.concatenate([position, new["position"]])
    n_all = len(position)
    names = rng.choice(RESIDENCE_NAMES, n_all)
    commune_names = communes["commune"].to_numpy()[position]
    no_value = np.full(len(new["stock"]), np.nan)
    return pd.DataFrame(
        {
            "residence_id": [f"R{i + 1:05d}" for i in range(n_all)],
            "name": [f"{a} ({b})" for a, b in zip(names, commune_names, strict=True)],
            "commune": commune_names,
            "epci": communes["epci"].to_numpy()[position],
            "qpv": np.concatenate([qpv, np.zeros(len(no_value), dtype=bool)]),
            "stock_units": np.concatenate([stock, new["stock"]]),
            "fragile": np.concatenate([fragile, np.zeros(len(no_value), dtype=bool)]),
            "cap_q1_share": np.concatenate([cap_q1, no_value]),
            "cap_priority_share": np.concatenate([cap_priority, no_value]),
            "built_year": np.concatenate([built_year, np.full(len(no_value), preset.year)]),
            "floors": np.concatenate([floors, rng.integers(2, 6, len(no_value))]),
            "renewal": np.concatenate([renewal, np.zeros(len(no_value), dtype=bool)]),
            "new_programme": np.arange(n_all) >= n,
        }
    )


NEW_BUILD_SHARE = 0.04
"""Share of the vacated units that are first lettings of new programmes (mises en service)."""
NEW_PROGRAMME_SIZE = 12
"""Typical number of dwellings of a new programme delivered in the period."""


def new_build_count(preset: Preset) -> int:
    """Vacated units of the period that are first lettings of a new programme."""
    return round(NEW_BUILD_SHARE * preset.units)


def _new_programmes(
    rng: np.random.Generator, preset: Preset, communes: pd.DataFrame
) -> dict[str, np.ndarray]:
    """New programmes delivered in the period: all their dwellings are let for the first time.

    Their count is ``ceil(new units / 12)``; they lie in communes drawn ∝ weight, outside QPV
    (new supply is built away from priority districts for mixity), and their stock is exactly
    their new units.
    """
    n_new = new_build_count(preset)
    count = -(-n_new // NEW_PROGRAMME_SIZE)
    if count == 0:
        return {"position": np.zeros(0, dtype="int64"), "stock": np.zeros(0, dtype="int64")}
    weight = communes["weight"].to_numpy(dtype="float64")
    position = rng.choice(len(communes), size=count, p=weight / weight.sum())
    stock = quota_counts(n_new, np.ones(count))
    return {"position": position.astype("int64"), "stock": stock}


HIDDEN_RESIDENCE_COLUMNS = ("built_year", "floors", "renewal", "new_programme")
"""Residence attributes the generator uses but the schema does not declare."""


def _built_years(rng: np.random.Generator, n: int, year: int) -> np.ndarray:
    """Construction years: most of the social stock dates from 1950-1999, a tail to today."""
    periods = rng.choice(5, size=n, p=[0.05, 0.38, 0.30, 0.17, 0.10])
    starts = np.array([1950, 1955, 1975, 2000, 2013])
    ends = np.array([1955, 1975, 2000, 2013, year])
    return (starts[periods] + rng.random(n) * (ends[periods] - starts[periods])).astype("int64")


def residence_table(residences: pd.DataFrame) -> pd.DataFrame:
    """The residences as the schema declares them (hidden generator columns dropped)."""
    return residences.drop(columns=list(HIDDEN_RESIDENCE_COLUMNS))


def draw_residences(
    rng: np.random.Generator, residences: pd.DataFrame, mask: np.ndarray, count: int
) -> np.ndarray:
    """Draw ``count`` residence positions among ``mask`` with probability ∝ stock."""
    weights = np.where(mask, residences["stock_units"].to_numpy(dtype="float64"), 0.0)
    if count == 0 or weights.sum() == 0:
        return np.zeros(0, dtype="int64")
    groups = np.zeros(count, dtype="int64")
    items = np.zeros(len(weights), dtype="int64")
    return choice_within_groups(rng, groups, items, weights)
