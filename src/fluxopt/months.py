"""Months in order: which month a batch may (re)write, and what it leaves stale.

A ledger's year is a chain: each month's batch is solved on the year to date of the months
before it. Hence:

- **in order**: the batch of month :math:`m` is refused while an earlier month of the
  instance (listed in ``months`` of ``instance.yaml``, or in which a unit becomes available,
  from the instance's first month on) has no batch, or has a stale one, unless the user
  accepts the gap (``allow_gap``);
- **replacing**: a month whose committee outcomes are recorded, or which later batches
  (still up to date) build on, is replaced only with ``force``; replacing a month marks
  every later batch of the year *stale* (:meth:`fluxopt.ledger.store.Ledger.record_batch`),
  and a stale month may be run again without ``force`` unless its outcomes are recorded.
"""

from __future__ import annotations

import pandas as pd

from fluxopt.instance import Instance
from fluxopt.ledger.schema import OutcomeRow
from fluxopt.ledger.store import Ledger
from fluxopt.schema.problems import RefusedError


def earlier_months(instance: Instance, month: str) -> list[str]:
    """The instance's months before ``month``: listed in its config or with units."""
    config = instance.config
    first = config.period_start.strftime("%Y-%m")
    months = set(config.months) | set(instance.units["month"].astype(str))
    return sorted(m for m in months if first <= m < month)


def check_order(batches: pd.DataFrame, instance: Instance, month: str, allow_gap: bool) -> None:
    """Refuse a month whose earlier months are missing or stale, unless ``allow_gap``."""
    if allow_gap:
        return
    recorded = dict(zip(batches["month"], batches["stale"], strict=True))
    missing = [m for m in earlier_months(instance, month) if m not in recorded]
    stale = sorted(m for m, why in recorded.items() if m < month and why)
    if not missing and not stale:
        return
    problems = []
    if missing:
        problems.append(f"no batch is recorded for {', '.join(missing)}")
    if stale:
        problems.append(
            f"the batches of {', '.join(stale)} are stale (an earlier month was re-run)"
        )
    first = min(missing + stale)
    raise RefusedError(
        f"months are solved in order and {' and '.join(problems)}: the batch of {month} would "
        f"be solved on an incomplete year to date. Run {first} first (then each month in "
        "turn), or pass --allow-gap to solve it anyway"
    )


def check_replaceable(
    ledger: Ledger,
    batches: pd.DataFrame,
    instance: Instance,
    month: str,
    has_previous: bool,
    force: bool,
) -> None:
    """Refuse to (re)write a month when that would lose or stale recorded facts.

    The ledger's year must belong to the same instance; without ``force``, a month whose
    outcomes are recorded, or which later batches that are not yet stale build on, is not
    replaced.
    """
    others = sorted(set(batches["instance"]) - {instance.name})
    if others:
        raise RefusedError(
            f"the ledger {ledger.name} holds batches of instance {others[0]!r} for "
            f"{month[:4]}; use another ledger for instance {instance.name!r}"
        )
    if force:
        return
    later = batches[(batches["month"] > month) & (batches["stale"] == "")]
    if not later.empty:
        months = ", ".join(later["month"])
        raise RefusedError(
            f"batches of later months are recorded ({months}); re-running {month} would "
            "leave their year to date stale; pass --force to replace it anyway (they are then "
            "marked stale, to be run again in order)"
        )
    if has_previous:
        decided = ledger.frame(OutcomeRow, months=[month])
        if not decided.empty:
            raise RefusedError(
                f"the committee's outcomes of {month} are recorded ({len(decided)} row(s)); "
                "re-running the batch would discard them; pass --force to replace it anyway"
            )
