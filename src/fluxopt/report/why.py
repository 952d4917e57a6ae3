"""Short reasons why a candidate is on a unit's shortlist, for the committee.

Each reason is a phrase; a candidate's reasons are joined with ``; `` in this order:

- the top criteria of the score, when a scoring grid (cotation) is used;
- the rank of the unit's commune among the applicant's wishes (``wished commune #1``);
- ``priority household (DALO)`` or ``priority household (L441-1)``: the household is
  recognised as a priority by the DALO commission (*droit au logement opposable*, the
  enforceable right to housing) or falls under a priority criterion of article L441-1;
- ``serves quota <rule> in EPCI <id>`` (or ``for holder``/``in residence``): the unit is in
  the scope of an "at least" quota rule and the applicant counts in its numerator;
- ``holder channel: …``: the unit's holder admits only some applicants and this one is
  admitted (e.g. an employee of a firm contributing to Action Logement);
- ``internal transfer`` or ``urban-renewal relocation`` for units withdrawn from the flux.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd

from fluxopt.constraints.ruleset import ConstraintSet
from fluxopt.rules.filters import filter_mask

CHANNEL_PHRASES = {
    "state": "State contingent, priority household",
    "state_agents": "State agent",
    "action_logement": "Action Logement employee",
}
"""How a restricted channel is named, by the kind of holder it belongs to."""

GROUP_PHRASES = {"epci": "in EPCI", "holder": "for holder", "residence": "in residence"}


def join_parts(
    parts: Sequence[npt.NDArray[np.object_]], sep: str = "; "
) -> npt.NDArray[np.object_]:
    """Join the non-empty strings of several same-length arrays, element-wise."""
    if not parts:
        return np.zeros(0, dtype=object)
    out = np.asarray(parts[0], dtype=object).copy()
    for part in parts[1:]:
        part = np.asarray(part, dtype=object)
        both = (out != "") & (part != "")
        out = np.where(both, out + sep + part, np.where(out == "", part, out))
    return out


def candidate_reasons(
    candidates: pd.DataFrame,
    units: pd.DataFrame,
    applicants: pd.DataFrame,
    rules: ConstraintSet,
    holders: pd.DataFrame,
    top_criteria: pd.Series | None = None,
) -> pd.Series:
    """The reasons of each candidate row (see the module docstring).

    ``candidates`` is the shortlist (with ``q1`` measured against the unit's EPCI);
    ``units`` the batch's units; ``applicants`` the applicant table; ``top_criteria`` the
    score's top entries as text when a grid is used (``None`` otherwise).
    """
    if candidates.empty:
        return pd.Series(dtype=object)
    frame = _pair_frame(candidates, units, applicants)
    parts: list[npt.NDArray[np.object_]] = []
    if top_criteria is not None:
        parts.append(np.where(top_criteria != "", "score: " + top_criteria.astype(str), ""))
    wish = frame["wish_rank"].astype(int).to_numpy()
    parts.append(np.where(wish > 0, "wished commune #" + wish.astype(str).astype(object), ""))
    parts.append(
        np.where(
            frame["dalo"].astype(bool),
            "priority household (DALO)",
            np.where(frame["priority"].astype(bool), "priority household (L441-1)", ""),
        )
    )
    parts.extend(_quota_reasons(frame, rules, holders))
    parts.append(_channel_reasons(frame, rules, holders))
    channel = frame["channel"].astype(str).to_numpy()
    parts.append(
        np.where(
            channel == "excluded:mutation",
            "internal transfer",
            np.where(channel == "excluded:renewal", "urban-renewal relocation", ""),
        )
    )
    return pd.Series(join_parts(parts), index=candidates.index, dtype=object)


def _pair_frame(
    candidates: pd.DataFrame, units: pd.DataFrame, applicants: pd.DataFrame
) -> pd.DataFrame:
    """One row per candidate with the unit's columns and the applicant's flags."""
    unit_columns = [c for c in units.columns if c not in ("holder_id",)]
    frame = candidates[["unit_id", "applicant_id", "holder_id", "wish_rank", "q1"]].merge(
        units[unit_columns], on="unit_id", how="left"
    )
    people = applicants.drop(
        columns=[c for c in applicants.columns if c in frame.columns and c != "applicant_id"]
    )
    frame = frame.merge(people, on="applicant_id", how="left")
    for column in ("q1", "dalo", "priority", "qpv", "lec_applies", "fragile"):
        if column in frame:
            frame[column] = frame[column].fillna(False).astype(bool)
    frame["holder_kind"] = frame["holder_kind"].fillna("").astype(str)
    return frame


def _quota_reasons(
    frame: pd.DataFrame, rules: ConstraintSet, holders: pd.DataFrame
) -> list[npt.NDArray[np.object_]]:
    parts = []
    for rule in rules.active_quotas:
        if rule.sense != "at_least":
            continue
        serves = filter_mask(frame, rule.scope, "units") & filter_mask(
            frame, rule.share, "applicants"
        )
        if rule.per == "holder" and rule.holders:
            chosen = set(holders.loc[filter_mask(holders, rule.holders, "holders"), "holder_id"])
            serves &= frame["holder_id"].isin(chosen).to_numpy()
        key = {"epci": "epci", "holder": "holder_id", "residence": "residence_id"}.get(rule.per)
        where = (
            " " + GROUP_PHRASES[rule.per] + " " + frame[key].astype(str).to_numpy().astype(object)
            if key
            else ""
        )
        parts.append(np.where(serves, f"serves quota {rule.name}" + where, ""))
    return parts


def _channel_reasons(
    frame: pd.DataFrame, rules: ConstraintSet, holders: pd.DataFrame
) -> npt.NDArray[np.object_]:
    out = np.full(len(frame), "", dtype=object)
    for channel in rules.active_channels:
        chosen = holders[filter_mask(holders, channel.holders, "holders")]
        through = frame["holder_id"].isin(set(chosen["holder_id"])).to_numpy()
        admitted = filter_mask(frame, channel.admits, "applicants")
        phrase = frame["holder_kind"].map(CHANNEL_PHRASES).fillna(channel.name).to_numpy(object)
        out = np.where(through & admitted & (out == ""), "holder channel: " + phrase, out)
    return out
