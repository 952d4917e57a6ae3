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
    """Vacancies and attributions of the two years before ``preset.year``, in date order."""
    rng = stream(seed, "history")
    old = ~residences["new_programme"].to_numpy()
    kinds = dict(zip(holders["holder_id"], holders["kind"], strict=True))
    reserved_total = 0
    blocks: list[dict[str, np.ndarray]] = []
    contingents: list[str] = []
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
        blocks.append(_vacancies(rng, preset.year, residences, inside & old, count, kind))
        contingents.append(str(holder_id))
    own = max(int(residences.loc[old, "stock_units"].sum()) - reserved_total, 0)
    count = round(own * TURNOVER_BY_KIND["landlord"] * YEARS)
    blocks.append(_vacancies(rng, preset.year, residences, old, count, "landlord"))
    contingents.append(LANDLORD_CONTINGENT)
    vacancies = {key: np.concatenate([block[key] for block in blocks]) for key in blocks[0]}
    vacancies["contingent"] = np.repeat(
        np.arange(len(blocks)), [len(block["residence"]) for block in blocks]
    )
    state = np.isin(
        vacancies["contingent"],
        [i for i, c in enumerate(contingents) if kinds.get(c) == "state"],
    )
    events = _with_attributions(rng, preset, vacancies, state)
    order = np.lexsort((events["residence"], events["attribution"], events["date"]))
    events = {key: values[order] for key, values in events.items()}
    res = events["residence"]
    attribution = events["attribution"]
    qpv = residences["qpv"].to_numpy()[res]
    q1 = _q1(events["q1_draw"], qpv)
    return pd.DataFrame(
        {
            "event_id": ("H" + pd.Series(np.arange(1, len(res) + 1)).astype(str).str.zfill(7)),
            "event": np.where(attribution, "attribution", "vacancy"),
            "date": events["date"].astype("datetime64[s]"),
            "residence_id": residences["residence_id"].to_numpy()[res],
            "epci": residences["epci"].to_numpy()[res],
            "commune": residences["commune"].to_numpy()[res],
            "rooms": events["rooms"],
            "financing": np.asarray(FINANCING)[events["financing"]],
            "qpv": qpv,
            "contingent": np.asarray(contingents)[events["contingent"]],
            "q1": pd.Series(q1, dtype="boolean").where(attribution),
            "priority": pd.Series(events["priority"], dtype="boolean").where(attribution),
            "wait_months": np.where(attribution, events["wait_months"], np.nan),
        }
    )


def _vacancies(
    rng: np.random.Generator,
    year: int,
    residences: pd.DataFrame,
    mask: np.ndarray,
    count: int,
    kind: str,
) -> dict[str, np.ndarray]:
    """Vacancies of one contingent: residence position, date, typology, financing class."""
    position = draw_residences(rng, residences, mask, count)
    shares = np.asarray(SMALL_ROOM_SHARES if kind == "state" else ROOM_SHARES)
    rooms = rng.choice(np.arange(1, 7), size=len(position), p=shares / shares.sum())
    start = np.datetime64(f"{year - YEARS}-01-01", "D")
    days = int((np.datetime64(f"{year}-01-01", "D") - start).astype(int))
    return {
        "residence": position,
        "date": start + rng.integers(0, days, len(position)).astype("timedelta64[D]"),
        "rooms": rooms,
        "financing": rng.choice(len(FINANCING), size=len(position), p=FINANCING_P),
    }


def _with_attributions(
    rng: np.random.Generator,
    preset: Preset,
    vacancies: dict[str, np.ndarray],
    state: np.ndarray,
) -> dict[str, np.ndarray]:
    """Vacancies followed by the leases signed 1-11 weeks later, within the history's years.

    Returns the vacancy rows then the attribution rows, with the flag ``attribution`` and the
    attribution columns (``q1_draw``, ``priority``, ``wait_months``; meaningless on vacancies).
    """
    n = len(vacancies["residence"])
    date = vacancies["date"] + rng.integers(7, 78, n).astype("timedelta64[D]")
    end = np.datetime64(f"{preset.year}-01-01", "D")
    let = (rng.random(n) < LET_SHARE) & (date < end)
    k = int(let.sum())
    out = {key: np.concatenate([values, values[let]]) for key, values in vacancies.items()}
    out["date"][n:] = date[let]
    out["attribution"] = np.r_[np.zeros(n, dtype=bool), np.ones(k, dtype=bool)]
    out["state"] = np.r_[state, state[let]]
    shape = 1.6
    out["wait_months"] = np.round(
        rng.gamma(shape, preset.history_wait_mean_months / shape, n + k), 1
    )
    out["priority"] = rng.random(n + k) < np.where(
        out["state"], PRIORITY_SHARE_STATE, PRIORITY_SHARE_OTHER
    )
    out["q1_draw"] = rng.random(n + k)
    return out


def _q1(q1_draw: np.ndarray, qpv: np.ndarray) -> np.ndarray:
    """First-quartile attributions: 17 % outside QPV, 30 % in QPV."""
    return q1_draw < np.where(qpv, Q1_SHARE[True], Q1_SHARE[False])
