r"""The price of each rule family, and trade-off curves of a quota level.

Price of a rule
    For a scenario :math:`s`, every rule family it enforces is switched off in turn (each
    quota rule by name, all channel rules, the flux positions, the segment mix) and the
    batch solved again. With :math:`z(s)` the optimal loss (the objective, minimised), the
    price of a family :math:`f` is what enforcing it costs:

    .. math::

        \text{price}(f) = z(s) - z(s \setminus f)

    i.e. the penalties it makes the solve pay plus the candidate value given up to meet it
    (both in the objective's units). The table also reports what switching the rule off
    changes in units filled, priority households housed, mean wait and each quota's
    attainment (measured even when the quota is off). Prices are exact only between
    optimal solves; the ``gap`` columns say how far each solve is from its bound.
Trade-off curve
    The same scenario solved at several levels of one quota (e.g. the first-quartile share
    outside QPV from 15 % to 35 %): objective, priority households housed and the quota's
    attainment per level.

Both are plain scenarios (:func:`price_scenarios`, :func:`tradeoff_scenarios`), run by a
sweep like any other, so that they run in parallel and resume from the cache.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fluxopt.constraints.ruleset import ConstraintSet
from fluxopt.scenarios.spec import Scenario, merge

WITHOUT = " without "
AT = " at "
TOLERANCE = 1e-9
COMPARED = ("objective", "units_filled", "priority_housed", "mean_wait_housed")


def families_of(rules: ConstraintSet) -> list[tuple[str, dict[str, Any]]]:
    """Each enforced rule family as (label, the scenario keys that switch it off)."""
    out: list[tuple[str, dict[str, Any]]] = [
        (f"quota {q.name}", {"quotas": {q.name: {"enabled": False}}}) for q in rules.active_quotas
    ]
    if rules.active_channels:
        out.append(("channels", {"families": {"channels": False}}))
    flux = rules.families.flux
    if flux.enabled:
        out.append(("flux", {"families": {"flux": False}}))
        if flux.segment_mix:
            out.append(("segment mix", {"families": {"segment_mix": False}}))
    return out


def price_scenarios(scenario: Scenario, rules: ConstraintSet) -> list[Scenario]:
    """The scenario, then one copy per rule family of ``rules`` switched off.

    ``rules`` is the scenario's constraint set with its overrides applied
    (:func:`fluxopt.scenarios.apply.apply_rules`).
    """
    return [scenario] + [
        variant(scenario, f"{scenario.name}{WITHOUT}{label}", changes)
        for label, changes in families_of(rules)
    ]


def tradeoff_scenarios(scenario: Scenario, rule: str, levels: list[float]) -> list[Scenario]:
    """The scenario at each level of the quota ``rule``."""
    return [
        variant(
            scenario, f"{scenario.name}{AT}{rule}={level:g}", {"quotas": {rule: {"level": level}}}
        )
        for level in levels
    ]


def variant(scenario: Scenario, name: str, changes: dict[str, Any]) -> Scenario:
    """A copy of ``scenario`` named ``name`` with ``changes`` laid over it, validated."""
    data = merge(scenario.model_dump(mode="json"), changes)
    data["name"] = name
    return Scenario.model_validate(data)


def price_table(rows: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    r"""One row per rule family: its price and what switching it off changes.

    Columns: ``rule``, ``status``, ``gap``, ``objective_without``, ``price``
    (:math:`z(s) - z(s \setminus f)`), then ``<figure>_with``/``<figure>_without`` for units
    filled, priority households housed and mean wait, and the change of every quota
    attainment column (``quota:...`` without minus with).
    """
    by_name = rows.set_index("scenario")
    if scenario.name not in by_name.index:
        return pd.DataFrame()
    reference = by_name.loc[scenario.name]
    prefix = f"{scenario.name}{WITHOUT}"
    quota_columns = [c for c in rows.columns if str(c).startswith("quota:")]
    records = []
    for name, row in by_name.iterrows():
        if not str(name).startswith(prefix):
            continue
        record: dict[str, Any] = {
            "rule": str(name)[len(prefix) :],
            "status": row["status"],
            "error": row.get("error", ""),
            "gap": row.get("gap"),
            "objective_with": reference.get("objective"),
            "objective_without": row.get("objective"),
            "price": _difference(reference.get("objective"), row.get("objective")),
        }
        for figure in COMPARED[1:]:
            record[f"{figure}_with"] = reference.get(figure)
            record[f"{figure}_without"] = row.get(figure)
        for column in quota_columns:
            record[f"change {column}"] = _difference(row.get(column), reference.get(column))
        records.append(record)
    return pd.DataFrame(records)


def tradeoff_table(
    rows: pd.DataFrame, scenario: Scenario, rule: str, at_most: bool = False
) -> pd.DataFrame:
    """One row per level of ``rule``: objective, housed priority households, attainment.

    ``attainment_min`` and ``attainment_mean`` are the lowest and mean ratio of the rule
    over its groups (EPCI or holder); ``groups_met`` the share of groups meeting the level
    (ratio at least the level, or at most it for an ``at_most`` rule).
    """
    prefix = f"{scenario.name}{AT}{rule}="
    chosen = rows[rows["scenario"].astype(str).str.startswith(prefix)]
    columns = [
        c
        for c in rows.columns
        if str(c).startswith(f"quota:{rule}:") and not str(c).endswith(":met")
    ]
    ratios = chosen[columns].apply(pd.to_numeric, errors="coerce") if columns else None
    out = pd.DataFrame(
        {
            "level": chosen["scenario"].str[len(prefix) :].astype(float),
            "status": chosen["status"],
            **{figure: _numbers(chosen, figure) for figure in ("objective", "gap", *COMPARED[1:])},
        }
    )
    if ratios is not None:
        out["attainment_min"] = ratios.min(axis=1)
        out["attainment_mean"] = ratios.mean(axis=1)
        meets = (
            ratios.le(out["level"] + TOLERANCE, axis=0)
            if at_most
            else ratios.ge(out["level"] - TOLERANCE, axis=0)
        )
        out["groups_met"] = meets.where(ratios.notna()).mean(axis=1)
    return out.sort_values("level", ignore_index=True)


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    """A column as numbers (missing when the rows have no such column)."""
    if column not in frame:
        return pd.Series(float("nan"), index=frame.index)
    return pd.Series(pd.to_numeric(frame[column], errors="coerce"), index=frame.index)


def _difference(left: Any, right: Any) -> float | None:
    try:
        a, b = float(left), float(right)
    except (TypeError, ValueError):
        return None
    if pd.isna(a) or pd.isna(b):
        return None
    return a - b
