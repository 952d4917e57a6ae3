r"""Year-to-date counters derived from the ledger.

A unit may appear in several batches of a year: refused or not attributed, it comes back
in the next batch (*carried over*). Its state is read from its **latest** batch:

- ``attributed``: an outcome of that batch attributes it (a lease follows);
- ``returned``: that batch has outcomes for it, none attributing (refused, no attribution);
  it goes into the next batch;
- ``pending``: the committee's decision is not recorded yet.

The year-to-date position before month :math:`m` (:func:`year_to_date`) is:

- orientations: each flux unit's latest orientation in batches of months :math:`< m`,
  except the units of the batch being solved (they are oriented again);
- attributions: the attributing outcomes of batches of months :math:`< m`, with the unit's
  attributes and the applicant's flags recorded at attribution.

Counter tables: oriented and attributed units per holder and segment
(:func:`holder_segment_counts`), and quota numerators :math:`N_g` and denominators
:math:`D_g` per group of each quota rule over the attributions (:func:`quota_counts`),
the ratio being :math:`N_g / D_g`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fluxopt.constraints.ruleset import ConstraintSet
from fluxopt.ledger.schema import ATTRIBUTING, OrientationRow, OutcomeRow, ShortlistRow
from fluxopt.ledger.store import Ledger
from fluxopt.rules.filters import filter_mask
from fluxopt.ytd import ATTRIBUTION_COLUMNS, ORIENTATION_COLUMNS, YearToDate

UNIT_STATES = ("attributed", "returned", "pending")


@dataclass(frozen=True)
class YearRecords:
    """The ledger's orientations, shortlists and outcomes of a year before a month.

    Read once (:meth:`read`), then every year-to-date view is computed from these frames.
    """

    orientations: pd.DataFrame
    shortlists: pd.DataFrame
    outcomes: pd.DataFrame

    @classmethod
    def read(cls, ledger: Ledger, year: int, before_month: str | None = None) -> YearRecords:
        """The year's rows from batches of months before ``before_month`` (all if ``None``)."""
        return cls(
            orientations=ledger.frame(OrientationRow, year=year, before_month=before_month),
            shortlists=ledger.frame(ShortlistRow, year=year, before_month=before_month),
            outcomes=ledger.frame(OutcomeRow, year=year, before_month=before_month),
        )

    def unit_states(self) -> pd.DataFrame:
        """Each unit's latest orientation and its state (see the module docstring).

        One row per unit: the columns of ``orientations``, ``batch_month`` (of its latest
        batch), ``state`` and ``batches`` (how many batches of the year it appeared in).
        """
        ordered = self.orientations.sort_values(["unit_id", "batch_month"], kind="stable")
        appearances = ordered.groupby("unit_id")["batch_id"].transform("size")
        latest = ordered.assign(batches=appearances).drop_duplicates("unit_id", keep="last")
        outcomes = self.outcomes
        keys = pd.MultiIndex.from_frame(outcomes[["batch_id", "unit_id"]])
        attributing = pd.Series(outcomes["decision"].isin(ATTRIBUTING).to_numpy(), index=keys)
        decided = attributing.groupby(level=[0, 1]).any()
        found = decided.reindex(pd.MultiIndex.from_frame(latest[["batch_id", "unit_id"]]))
        state = np.select(
            [found.eq(True).to_numpy(dtype=bool), found.notna().to_numpy(dtype=bool)],
            ["attributed", "returned"],
            "pending",
        )
        return latest.assign(state=state).reset_index(drop=True)

    def carried_units(self) -> pd.DataFrame:
        """Units returned by the committee and not attributed since."""
        states = self.unit_states()
        return states[states["state"] == "returned"].reset_index(drop=True)

    def engaged_applicants(self) -> dict[str, set[str]]:
        """Applicants to keep out of a new batch: housed this year, or listed on a pending unit.

        Returns ``{"attributed": {...}, "pending": {...}}``: a household housed this year has
        no demand left, and one listed for a unit awaiting the committee is not listed twice.
        """
        outcomes = self.outcomes
        attributed = set(outcomes.loc[outcomes["decision"].isin(ATTRIBUTING), "applicant_id"])
        states = self.unit_states()
        pending = states.loc[states["state"] == "pending", ["batch_id", "unit_id"]]
        listed = self.shortlists.merge(pending, on=["batch_id", "unit_id"])
        return {
            "attributed": attributed - {""},
            "pending": set(listed["applicant_id"]) - attributed,
        }

    def year_to_date(self, exclude_units: Iterable[str] = ()) -> YearToDate:
        """Orientations and attributions of these batches (see the module docstring)."""
        excluded = set(exclude_units)
        states = self.unit_states()
        flux = states[states["in_flux"] & ~states["unit_id"].isin(excluded)]
        orientations = flux.assign(month=flux["batch_month"])[list(ORIENTATION_COLUMNS)]
        outcomes = self.outcomes
        attributions = outcomes[outcomes["decision"].isin(ATTRIBUTING)]
        return YearToDate(
            orientations=orientations.reset_index(drop=True),
            attributions=attributions[list(ATTRIBUTION_COLUMNS)].reset_index(drop=True),
        )


def unit_states(ledger: Ledger, year: int, before_month: str | None = None) -> pd.DataFrame:
    """Each unit's latest orientation of the year and its state."""
    return YearRecords.read(ledger, year, before_month).unit_states()


def carried_units(ledger: Ledger, year: int, before_month: str) -> pd.DataFrame:
    """Units returned by the committee in earlier batches and not attributed since."""
    return YearRecords.read(ledger, year, before_month).carried_units()


def engaged_applicants(ledger: Ledger, year: int, before_month: str) -> dict[str, set[str]]:
    """Applicants attributed this year, and applicants listed for units awaiting a decision."""
    return YearRecords.read(ledger, year, before_month).engaged_applicants()


def year_to_date(
    ledger: Ledger, year: int, before_month: str, exclude_units: Iterable[str] = ()
) -> YearToDate:
    """Orientations and attributions of the year before ``before_month`` (module docstring)."""
    return YearRecords.read(ledger, year, before_month).year_to_date(exclude_units)


def holder_segment_counts(ytd: YearToDate) -> pd.DataFrame:
    """Oriented and attributed units per holder and segment (zeros where none)."""
    oriented = ytd.orientations.groupby(["holder_id", "segment"]).size().rename("oriented")
    attributed = ytd.attributions.groupby(["holder_id", "segment"]).size().rename("attributed")
    table = pd.concat([oriented, attributed], axis=1).fillna(0).astype(np.int64)
    return table.sort_index().reset_index()


def quota_counts(ytd: YearToDate, rules: ConstraintSet) -> pd.DataFrame:
    """Numerator and denominator of each quota rule per group, over the year's attributions.

    For rule :math:`r` and group :math:`g` (an EPCI, a holder or a residence), the
    denominator :math:`D_g` counts the attributions in the rule's scope (and, for a
    per-holder rule, through a holder its ``holders`` filter selects), the numerator
    :math:`N_g` those whose applicant matches the rule's ``share``; ``level`` is the rule's
    own level (a per-residence level column of the instance is not in the ledger).
    """
    past = ytd.attributions.reset_index(drop=True)
    records: list[pd.DataFrame] = []
    for rule in rules.active_quotas:
        if past.empty:
            break
        in_scope = filter_mask(past, rule.scope, "attributions")
        if rule.per == "holder" and rule.holders:
            kinds = past.assign(kind=past["holder_kind"], mode="delegated")
            in_scope &= filter_mask(kinds, rule.holders, "holders")
        scoped = past[in_scope]
        member = filter_mask(scoped, rule.share, "attributions")
        key = {"epci": "epci", "holder": "holder_id", "residence": "residence_id"}.get(rule.per)
        groups = scoped[key].astype(str) if key else pd.Series("all", index=scoped.index)
        numerator = pd.Series(member.astype(np.float64), index=scoped.index).groupby(groups).sum()
        denominator = groups.value_counts().astype(np.float64)
        table = pd.DataFrame({"numerator": numerator, "denominator": denominator}).fillna(0.0)
        table.index.name = "group"
        records.append(
            table.reset_index().assign(
                rule=rule.name, per=rule.per, level=rule.level, sense=rule.sense
            )
        )
    columns = ["rule", "per", "group", "numerator", "denominator", "ratio", "level", "sense"]
    if not records:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    out = pd.concat(records, ignore_index=True)
    out["ratio"] = out["numerator"] / out["denominator"]
    return out[columns].sort_values(["rule", "group"], ignore_index=True)
