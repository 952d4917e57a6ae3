"""Past vacancies and attributions of the two years before the instance's year.

Each dwelling vacated in those years belonged to a contingent: the stock reserved to a
holder before the conversion to flux (``reserved_units`` of its convention, inside the
convention's perimeter) or the landlord's own non-reserved stock (``landlord``). Vacancies per
contingent are ``reserved × turnover(kind) × 2 years``, with yearly turnover differing by
contingent (plausible, ⚠ not sourced beyond the ~9-10 % average and "small units turn over
twice as fast as T5"): State contingents 12 % (their dwellings are smaller), State agents
11 %, Action Logement and other holders 9 %, the landlord and the department 8.5 %,
communes and EPCIs 8 %. So the history holds about two years of vacancies of the stock.

About 96 % of the vacancies were let 1 to 11 weeks later (an attribution event, when it
falls before the year's end). Attributions record whether the household was first quartile
(17 % outside QPV, below the 25 % LEC target as in reality; 30 % in QPV), priority (75 % for
the State contingent, 22 % elsewhere) and the wait from filing to lease (gamma law with the
preset's mean: 6.2 months in the Doubs file).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fluxopt.generate.presets import Preset
from fluxopt.generate.sampling import stream
from fluxopt.generate.territory import draw_residences
from fluxopt.generate.units import ROOM_SHARES

TURNOVER_BY_KIND = {
    "state": 0.12,
    "state_agents": 0.11,
    "action_logement": 0.09,
    "other": 0.09,
    "department": 0.085,
    "landlord": 0.085,
    "commune": 0.08,
    "epci": 0.08,
}
"""Yearly turnover of each contingent, by holder kind."""
SMALL_ROOM_SHARES = (12.0, 28.0, 35.0, 20.0, 4.5, 0.5)
"""Typology mix of the State contingents (smaller dwellings)."""
FINANCING = ("PLAI", "PLUS", "PLS", "PLI")
FINANCING_P = (0.20, 0.70, 0.08, 0.02)
LET_SHARE = 0.96
YEARS = 2
Q1_SHARE = {False: 0.17, True: 0.30}
PRIORITY_SHARE_STATE = 0.75
PRIORITY_SHARE_OTHER = 0.22
LANDLORD_CONTINGENT = "landlord"


def make_history(
    preset: Preset,
    residences: pd.DataFrame,
    holders: pd.DataFrame,
    conventions: pd.DataFrame,
    seed: int,
) -> pd.DataFrame:
    """Vacancies and attributions of the two years before ``preset.year``."""
    rng = stream(seed, "history")
    old = ~residences["new_programme"].to_numpy()
    kinds = dict(zip(holders["holder_id"], holders["kind"], strict=True))
    reserved_total = 0
    blocks: list[pd.DataFrame] = []
    for holder_id, perimeter_kind, perimeter_id, reserved in zip(
        conventions["holder_id"].to_numpy(dtype=str),
        conventions["perimeter_kind"].to_numpy(dtype=str),
        conventions["perimeter_id"].to_numpy(dtype=str),
        conventions["reserved_units"].to_numpy(dtype="int64"),
        strict=True,
    ):
        kind = str(kinds[holder_id])
        if perimeter_kind in ("commune", "epci"):
            inside = residences[perimeter_kind].to_numpy() == perimeter_id
        else:
            inside = np.ones(len(residences), dtype=bool)
        reserved_total += int(reserved)
        count = round(int(reserved) * TURNOVER_BY_KIND[kind] * YEARS)
        blocks.append(
            _vacancies(rng, preset.year, residences, inside & old, count, str(holder_id), kind)
        )
    own = max(int(residences.loc[old, "stock_units"].sum()) - reserved_total, 0)
    count = round(own * TURNOVER_BY_KIND["landlord"] * YEARS)
    blocks.append(
        _vacancies(rng, preset.year, residences, old, count, LANDLORD_CONTINGENT, "landlord")
    )
    vacancies = pd.concat(blocks, ignore_index=True)
    attributions = _attributions(rng, preset, vacancies)
    history = pd.concat([vacancies, attributions], ignore_index=True)
    history = history.sort_values(["date", "event", "residence_id"], kind="stable")
    history = history.drop(columns=["kind"]).reset_index(drop=True)
    history.insert(0, "event_id", [f"H{i + 1:07d}" for i in range(len(history))])
    return history


def _vacancies(
    rng: np.random.Generator,
    year: int,
    residences: pd.DataFrame,
    mask: np.ndarray,
    count: int,
    contingent: str,
    kind: str,
) -> pd.DataFrame:
    position = draw_residences(rng, residences, mask, count)
    res = residences.iloc[position]
    shares = SMALL_ROOM_SHARES if kind == "state" else ROOM_SHARES
    rooms = rng.choice(np.arange(1, 7), size=len(position), p=np.asarray(shares) / sum(shares))
    start = np.datetime64(f"{year - YEARS}-01-01", "D")
    days = int((np.datetime64(f"{year}-01-01", "D") - start).astype(int))
    return pd.DataFrame(
        {
            "event": "vacancy",
            "date": start + rng.integers(0, days, len(position)).astype("timedelta64[D]"),
            "residence_id": res["residence_id"].to_numpy(),
            "epci": res["epci"].to_numpy(),
            "commune": res["commune"].to_numpy(),
            "rooms": rooms,
            "financing": rng.choice(FINANCING, size=len(position), p=FINANCING_P),
            "qpv": res["qpv"].to_numpy(),
            "contingent": contingent,
            "kind": kind,
        }
    )


def _attributions(
    rng: np.random.Generator, preset: Preset, vacancies: pd.DataFrame
) -> pd.DataFrame:
    """Leases signed after the vacancies (1-11 weeks later, within the history's years)."""
    n = len(vacancies)
    delay = rng.integers(7, 78, n).astype("timedelta64[D]")
    date = vacancies["date"].to_numpy().astype("datetime64[D]") + delay
    end = np.datetime64(f"{preset.year}-01-01", "D")
    let = (rng.random(n) < LET_SHARE) & (date < end)
    out = vacancies.loc[let].copy()
    out["event"] = "attribution"
    out["date"] = date[let]
    qpv = out["qpv"].to_numpy()
    out["q1"] = rng.random(len(out)) < np.where(qpv, Q1_SHARE[True], Q1_SHARE[False])
    state = out["kind"].to_numpy() == "state"
    out["priority"] = rng.random(len(out)) < np.where(
        state, PRIORITY_SHARE_STATE, PRIORITY_SHARE_OTHER
    )
    shape = 1.6
    wait = rng.gamma(shape, preset.history_wait_mean_months / shape, len(out))
    out["wait_months"] = np.round(wait, 1)
    return out
