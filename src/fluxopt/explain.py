"""Why each candidate, what each rule achieved and paid, and what each rule costs.

- :func:`candidate_reasons`: for every shortlist row, a plain-language reason (score and
  its main criteria, wish rank, fit, the holder's channel that admits the applicant) and
  the quota groups a first-ranked applicant counts for;
- :func:`rule_table`: for every soft rule and group, its attainment from the verifier, the
  shortfall the solution left (the rule's slack in the model) and the penalty paid;
- :func:`rule_prices`: the price of each rule family, the objective lost by enforcing it,
  from a re-solve with that family switched off (on request: it costs one solve per family).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from fluxopt.allocate import Allocation, SolveSettings, allocate
from fluxopt.constraints.ruleset import ConstraintSet
from fluxopt.problem import applicant_class
from fluxopt.rules.filters import filter_mask
from fluxopt.verify import VerificationReport


def candidate_reasons(
    allocation: Allocation, breakdown: pd.DataFrame | None = None, top: int = 3
) -> pd.DataFrame:
    """One row per shortlist row with ``why`` (text) and ``serves`` (rules counted for).

    ``breakdown`` is the grid's per-criterion points (index ``applicant_id``), when a grid
    was used; its ``top`` largest entries are named.
    """
    problem = allocation.problem
    shortlist = allocation.decisions.shortlist.copy()
    if shortlist.empty:
        return shortlist.assign(why=pd.Series(dtype=str), serves=pd.Series(dtype=str))
    units = problem.units.set_index("unit_id")
    applicants = problem.applicants.set_index("applicant_id")
    holders = problem.holders.set_index("holder_id")
    holder_pos = pd.Series(np.arange(len(problem.holders)), index=problem.holders["holder_id"])
    app_pos = pd.Series(
        np.arange(len(problem.applicants)), index=problem.applicants["applicant_id"]
    )
    holder_names = holders["name"].astype(str).to_dict()
    dalo = applicants["dalo"].astype(bool).to_dict()
    priority = applicants["priority"].astype(bool).to_dict()
    why: list[str] = []
    records = zip(
        shortlist["applicant_id"].astype(str),
        shortlist["holder_id"].astype(str),
        shortlist["score"].to_numpy(dtype=float),
        shortlist["wish_rank"].to_numpy(dtype=np.int64),
        shortlist["fit"].to_numpy(dtype=float),
        shortlist["q1"].to_numpy(dtype=bool),
        strict=True,
    )
    for applicant_id, holder_id, score, wish, fit, q1 in records:
        parts = [f"score {score:g}"]
        if breakdown is not None and applicant_id in breakdown.index:
            points = breakdown.loc[applicant_id]
            points = points[points > 0].sort_values(ascending=False).head(top)
            if len(points):
                parts[0] += " (" + ", ".join(f"{k} {v:g}" for k, v in points.items()) + ")"
        parts += [f"wish {wish}", f"fit {fit:.0%}"]
        if dalo.get(applicant_id):
            parts.append("DALO household")
        elif priority.get(applicant_id):
            parts.append("priority household")
        if q1:
            parts.append("first quartile here")
        admitted = problem.admits.get(int(holder_pos[holder_id]))
        if admitted is not None and admitted.name != "direct-holder":
            member = admitted.if_q1 if q1 else admitted.if_not_q1
            if member[int(app_pos[applicant_id])]:
                parts.append(f"admitted by {holder_names[holder_id]} ({admitted.name})")
        why.append("; ".join(parts))
    shortlist["why"] = why
    shortlist["serves"] = _served_rules(allocation, shortlist, units)
    return shortlist


def _served_rules(
    allocation: Allocation, shortlist: pd.DataFrame, units: pd.DataFrame
) -> list[str]:
    problem = allocation.problem
    served: list[list[str]] = [[] for _ in range(len(shortlist))]
    first = (shortlist["rank"] == 1).to_numpy()
    unit_rows = units.loc[shortlist["unit_id"]].reset_index()
    holder_kind = problem.holders.set_index("holder_id")["kind"]
    app_index = pd.Series(
        np.arange(len(problem.applicants)), index=problem.applicants["applicant_id"]
    )
    a = app_index.loc[shortlist["applicant_id"]].to_numpy()
    q1 = shortlist["q1"].to_numpy(dtype=bool)
    for rule in problem.rules.active_quotas:
        share = applicant_class(problem.applicants, rule.share, np.zeros(0, dtype=np.int64))
        member = np.where(q1, share.if_q1[a], share.if_not_q1[a])
        in_scope = filter_mask(unit_rows, rule.scope, "units")
        if rule.per == "holder" and rule.holders:
            holder_rows = problem.holders.set_index("holder_id").loc[shortlist["holder_id"]]
            in_scope &= filter_mask(holder_rows.reset_index(), rule.holders, "holders")
        group = {
            "epci": unit_rows["epci"].astype(str).to_numpy(),
            "residence": unit_rows["residence_id"].astype(str).to_numpy(),
            "holder": shortlist["holder_id"].astype(str).to_numpy(),
            "all": np.full(len(shortlist), "all", dtype=object),
        }[rule.per]
        verb = "counts for" if rule.sense == "at_least" else "counts against the cap of"
        for i in np.flatnonzero(first & in_scope & member):
            served[i].append(f"{verb} {rule.name} ({rule.per} {group[i]})")
    del holder_kind
    return ["; ".join(items) for items in served]


def rule_table(allocation: Allocation, report: VerificationReport) -> pd.DataFrame:
    """Per soft rule and group: attainment, shortfall left by the solution, penalty paid."""
    model, x = allocation.model, allocation.x
    weights = allocation.problem.rules.weights
    rows = []
    for name, block in model.columns.items():
        if not name.endswith((":under", ":over", ":shortfall")):
            continue
        values = x[block.start : block.stop]
        cost = model.cost[block.start : block.stop]
        labels = block.labels
        for i in range(block.size):
            label = labels.iloc[i]
            group = str(label.get("group", "")) or " ".join(
                str(v) for v in label.to_numpy() if str(v)
            )
            rows.append(
                {
                    "rule": name.rsplit(":", 1)[0],
                    "side": name.rsplit(":", 1)[1],
                    "group": group,
                    "shortfall": float(values[i]),
                    "weight": float(cost[i]),
                    "penalty": float(values[i] * cost[i]),
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    if not report.quotas.empty:
        quotas = report.quotas.assign(
            rule="quota:" + report.quotas["rule"], group=report.quotas["group"].astype(str)
        )
        table = table.merge(
            quotas[["rule", "group", "numerator", "denominator", "ratio", "level", "met"]],
            on=["rule", "group"],
            how="left",
        )
    del weights
    return table


def rule_prices(
    allocation: Allocation,
    *,
    settings: SolveSettings | None = None,
) -> pd.DataFrame:
    """The price of each soft rule family: objective with it minus objective without it.

    Each family (each quota rule, the channels, the flux positions, the segment mix) is
    switched off in turn and the batch solved again with the same data.
    """
    problem = allocation.problem
    settings = settings or allocation.settings
    base = allocation.objective
    rows = []
    for name, rules in _without_each_family(problem.rules):
        other = allocate(
            problem.instance,
            rules,
            month=problem.month,
            unit_ids=list(problem.units["unit_id"]),
            scores=problem.applicants.set_index("applicant_id")["score"],
            ytd=problem.ytd,
            settings=settings,
        )
        rows.append(
            {
                "family": name,
                "objective_with": base,
                "objective_without": other.objective,
                "price": None
                if base is None or other.objective is None
                else base - other.objective,
                "status_without": str(other.status),
                "gap_without": other.gap,
            }
        )
    return pd.DataFrame(rows)


def _without_each_family(rules: ConstraintSet) -> list[tuple[str, ConstraintSet]]:
    families = rules.families
    variants: list[tuple[str, ConstraintSet]] = []
    for quota in rules.active_quotas:
        quotas = tuple(q for q in families.quotas if q.name != quota.name)
        variants.append((f"quota:{quota.name}", _with(rules, quotas=quotas)))
    if rules.active_channels:
        variants.append(("channels", _with(rules, channels=())))
    if families.flux.enabled:
        variants.append(
            ("flux", _with(rules, flux=families.flux.model_copy(update={"enabled": False})))
        )
        if families.flux.segment_mix:
            variants.append(
                (
                    "segment-mix",
                    _with(rules, flux=families.flux.model_copy(update={"segment_mix": False})),
                )
            )
    return variants


def _with(rules: ConstraintSet, **changes: object) -> ConstraintSet:
    return rules.model_copy(update={"families": rules.families.model_copy(update=changes)})


del dataclasses
