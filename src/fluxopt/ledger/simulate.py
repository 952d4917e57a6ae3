"""Simulated committee outcomes of a batch, for demonstrations and tests (seeded).

For each unit of the batch:

- a unit with a shortlist: with probability ``no_attribution_rate`` the committee
  attributes nothing; otherwise each listed candidate, in rank order, refuses with
  probability ``refusal_rate`` and the first who accepts is attributed the unit (so most
  units go to their first-ranked candidate); when all refuse, the unit is ``refused`` and
  comes back in the next batch;
- a unit passed to a holder that proposes its own candidates: with probability
  ``holder_fill_rate`` the holder proposes a registered applicant its channel admits
  (preferring one who wishes the unit's commune), attributed as ``holder_candidate``;
  otherwise ``no_attribution``;
- any other unit (no eligible candidate): ``no_attribution``.

The result is a table in the outcomes-file format of :mod:`fluxopt.ledger.outcomes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fluxopt.constraints.ruleset import load_constraint_set
from fluxopt.instance import Instance, load_instance
from fluxopt.ledger.counters import engaged_applicants
from fluxopt.ledger.schema import OrientationRow, ShortlistRow
from fluxopt.ledger.store import Ledger
from fluxopt.rules.filters import filter_mask
from fluxopt.schema.problems import FluxoptError


@dataclass(frozen=True)
class SimulationSettings:
    """Rates of the simulated committee and the random seed."""

    refusal_rate: float = 0.25
    no_attribution_rate: float = 0.05
    holder_fill_rate: float = 0.8
    seed: int = 0


def simulate_outcomes(
    ledger: Ledger,
    month: str,
    instance: Instance | None = None,
    settings: SimulationSettings | None = None,
) -> pd.DataFrame:
    """Simulated decisions on the batch of ``month`` (see the module docstring)."""
    settings = settings or SimulationSettings()
    for name in ("refusal_rate", "no_attribution_rate", "holder_fill_rate"):
        if not 0.0 <= getattr(settings, name) <= 1.0:
            raise FluxoptError(f"{name.replace('_', ' ')} must lie in [0, 1]")
    batch = ledger.batch(month)
    if batch is None:
        raise FluxoptError(f"the ledger {ledger.name} has no batch for {month}")
    rng = np.random.default_rng([settings.seed, int(month[:4]), int(month[5:7])])
    units = ledger.frame(OrientationRow, months=[month])
    listed = ledger.frame(ShortlistRow, months=[month])
    rows = [_listed_outcomes(listed, settings, rng)]
    direct = units[(units["holder_mode"] == "direct") & ~units["unit_id"].isin(listed["unit_id"])]
    if instance is None and batch["instance_folder"] and Path(batch["instance_folder"]).exists():
        instance = load_instance(batch["instance_folder"])
    if instance is not None and not direct.empty:
        taken = set(listed["applicant_id"]).union(
            *engaged_applicants(ledger, int(month[:4]), month).values()
        )
        rows.append(
            _holder_outcomes(direct, instance, batch["constraint_set"], taken, settings, rng)
        )
    handled = set().union(*(set(r["unit_id"]) for r in rows))
    rest = units[~units["unit_id"].isin(handled)]
    rows.append(_decision_rows(rest["unit_id"], "no_attribution"))
    out = pd.concat([r for r in rows if not r.empty], ignore_index=True)
    out["month"] = month
    out["decided_on"] = f"{month}-28"
    out["note"] = "simulated"
    return out.sort_values(["unit_id", "decision"], kind="stable", ignore_index=True)


def _listed_outcomes(
    listed: pd.DataFrame,
    settings: SimulationSettings,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Refusals in rank order until one accepts, per unit with a shortlist."""
    if listed.empty:
        return _decision_rows(pd.Series(dtype=str), "")
    ordered = listed.sort_values(["unit_id", "rank"], kind="stable").reset_index(drop=True)
    unit_ids = ordered["unit_id"].unique()
    nothing = pd.Series(rng.random(len(unit_ids)) < settings.no_attribution_rate, index=unit_ids)
    accepts = rng.random(len(ordered)) >= settings.refusal_rate
    ordered["accepts"] = accepts
    first = ordered[ordered["accepts"]].groupby("unit_id")["rank"].min()
    chosen = ordered["unit_id"].map(first)
    skip = ordered["unit_id"].map(nothing).to_numpy(dtype=bool)
    attributed = (ordered["rank"] == chosen).to_numpy() & ~skip
    refused = (chosen.isna() | (ordered["rank"] < chosen)).to_numpy() & ~skip
    decisions = np.where(attributed, "attributed", np.where(refused, "refused", ""))
    out = ordered.assign(decision=decisions)[["unit_id", "decision", "applicant_id"]]
    out = out[out["decision"] != ""]
    skipped = _decision_rows(pd.Series(unit_ids[nothing.to_numpy()]), "no_attribution")
    return pd.concat([r for r in (out, skipped) if not r.empty], ignore_index=True)


def _holder_outcomes(
    direct: pd.DataFrame,
    instance: Instance,
    constraint_set: str,
    taken: set[str],
    settings: SimulationSettings,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """A candidate of the holder's own for each direct unit it fills in time."""
    applicants = instance.applicants
    holders = instance.holders
    try:
        channels = load_constraint_set(constraint_set).active_channels
    except FluxoptError:
        channels = ()
    free = ~applicants["applicant_id"].isin(taken).to_numpy()
    wishes = applicants["wished_communes"].fillna("").astype(str)
    records = []
    fills = rng.random(len(direct)) < settings.holder_fill_rate
    for (unit_id, holder_id, commune), fill in zip(
        direct[["unit_id", "holder_id", "commune"]].itertuples(index=False), fills, strict=True
    ):
        if not fill:
            continue
        admitted = free.copy()
        holder = holders[holders["holder_id"] == holder_id]
        for channel in channels:
            if filter_mask(holder, channel.holders, "holders").any():
                admitted &= filter_mask(applicants, channel.admits, "applicants")
        wishing = admitted & wishes.str.contains(str(commune), regex=False).to_numpy()
        pool = np.flatnonzero(wishing if wishing.any() else admitted)
        if len(pool) == 0:
            continue
        pick = int(pool[rng.integers(len(pool))])
        free[pick] = False
        records.append(
            {
                "unit_id": unit_id,
                "decision": "holder_candidate",
                "applicant_id": applicants["applicant_id"].iloc[pick],
            }
        )
    return pd.DataFrame(records, columns=["unit_id", "decision", "applicant_id"], dtype=str)


def _decision_rows(unit_ids: pd.Series, decision: str) -> pd.DataFrame:
    """Rows of one decision without an applicant."""
    ids = unit_ids.astype(str).to_numpy()
    return pd.DataFrame(
        {"unit_id": ids, "decision": decision, "applicant_id": ""},
        columns=["unit_id", "decision", "applicant_id"],
        dtype=str,
    )
