"""What an applicant must be told about the scoring of their demand.

The cotation decree (décret 2019-1378, R441-2-10) requires that applicants be told the
criteria and their weights, their own score, the position of their demand among similar
demands, the average wait of similar demands that were attributed, whether the demand is
a priority one, and what refusing a suitable offer does. :func:`statement` gathers these:

- the score and its breakdown, entry by entry (points, rule, description, and a note when
  a value was missing or a group rule reduced the points);
- the position among *comparable* demands, those with the same home EPCI and the same
  wished typology (both possibly empty): rank :math:`1 + a`, where :math:`a` demands score
  strictly more (ties share the rank), and the share :math:`a / N` ahead of it;
- the average wait of comparable attributions in ``history`` (same EPCI and typology,
  any typology when none is wished), or that there is none;
- whether the demand is priority (``priority`` or ``dalo``) and the refusal consequence.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fluxopt.instance import Instance
from fluxopt.schema.problems import FluxoptError
from fluxopt.scoring.evaluate import Scores, score
from fluxopt.scoring.grid import Grid, Scheme


@dataclass(frozen=True)
class StatementLine:
    """One entry of the applicant's scheme: its rule and what it gives the applicant."""

    entry: str
    kind: str
    rule: str
    description: str
    points: float
    note: str = ""


@dataclass(frozen=True)
class Position:
    """Rank of a demand among comparable ones (same home EPCI and wished typology)."""

    epci: str | None
    rooms: int | None
    rank: int
    count: int
    ahead: int
    tied: int

    @property
    def share_ahead(self) -> float:
        """Share of comparable demands that score strictly more."""
        return self.ahead / self.count if self.count else 0.0

    def sentence(self) -> str:
        """E.g. ``ranked 12 of 340, 3.2 % ahead of you``."""
        ties = f"; {self.tied} other(s) have the same score" if self.tied else ""
        return (
            f"ranked {self.rank} of {self.count}, {100 * self.share_ahead:.1f} % ahead of you{ties}"
        )


@dataclass(frozen=True)
class ComparableWait:
    """Average wait of comparable attributions in the history."""

    attributions: int
    average_months: float | None

    def sentence(self) -> str:
        """E.g. ``7.4 months on average over 25 attributions``."""
        if self.average_months is None and self.attributions:
            return f"{self.attributions} comparable attribution(s), none with a recorded wait"
        if self.average_months is None:
            return "no comparable attribution in the history"
        return (
            f"{self.average_months:.1f} months on average over {self.attributions} attribution(s)"
        )


@dataclass(frozen=True)
class Statement:
    """Everything an applicant is told about the scoring of their demand."""

    applicant_id: str
    grid: str
    scheme: str
    score: float
    lines: tuple[StatementLine, ...]
    position: Position
    comparable_wait: ComparableWait
    wait_months: float | None
    priority: bool
    dalo: bool
    refusal: str | None

    def comparable_label(self) -> str:
        """The comparable demands in words: EPCI and typology."""
        epci = self.position.epci or "no EPCI of this landlord"
        rooms = f"T{self.position.rooms}" if self.position.rooms is not None else "any typology"
        return f"EPCI {epci}, {rooms}"

    def sentences(self) -> list[str]:
        """The statement as plain sentences (for text output and logs)."""
        kind = "transfer demands" if self.scheme == "transfer" else "demands"
        priority = "yes (DALO)" if self.dalo else ("yes" if self.priority else "no")
        lines = [
            f"Demand {self.applicant_id}: {self.score:g} points under grid {self.grid} ({kind}).",
            f"Position among comparable demands ({self.comparable_label()}): "
            f"{self.position.sentence()}.",
            f"Average wait of comparable attributed demands: {self.comparable_wait.sentence()}.",
            f"Priority demand: {priority}.",
        ]
        if self.wait_months is not None:
            lines.append(f"Your demand has waited {self.wait_months:.1f} months.")
        if self.refusal:
            lines.append(f"Refusing a suitable offer: {self.refusal}")
        return lines


def statement(
    instance: Instance, grid: Grid, applicant_id: str, scores: Scores | None = None
) -> Statement:
    """The statement for one applicant of ``instance`` under ``grid``.

    ``scores`` may be given when the whole table was scored already.
    """
    applicants = instance.applicants
    ids = applicants["applicant_id"].astype(str)
    hits = np.flatnonzero((ids == str(applicant_id)).to_numpy())
    if len(hits) == 0:
        close = difflib.get_close_matches(str(applicant_id), ids.tolist(), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise FluxoptError(f"no applicant {applicant_id!r} in instance {instance.name}.{hint}")
    scores = scores if scores is not None else score(grid, applicants)
    row = applicants.iloc[int(hits[0])]
    own = score(grid, applicants.iloc[hits[:1]], keep_raw=True)
    label = "transfer" if bool(own.transfer.iloc[0]) else "main"
    scheme = grid.schemes()[label]
    position = _position(applicants, scores.total, int(hits[0]))
    wait = row.get("wait_months")
    return Statement(
        applicant_id=str(applicant_id),
        grid=grid.name,
        scheme=label,
        score=float(own.total.iloc[0]),
        lines=tuple(_lines(scheme, own)),
        position=position,
        comparable_wait=_comparable_wait(instance.history, position.epci, position.rooms),
        wait_months=None if wait is None or pd.isna(wait) else float(wait),
        priority=bool(row.get("priority", False)) or bool(row.get("dalo", False)),
        dalo=bool(row.get("dalo", False)),
        refusal=scheme.refusal.consequence if scheme.refusal is not None else None,
    )


def entry_rules(scheme: Scheme) -> list[tuple[str, str, str, str]]:
    """Each enabled entry of a scheme as (name, kind, rule in words, description)."""
    rules: list[tuple[str, str, str, str]] = []
    weights = scheme.ordered_weights()
    count = len(weights)
    for rank, (name, weight) in enumerate(weights.items(), start=1):
        assert scheme.ordered is not None
        item = next(c for c in scheme.ordered.active if c.name == name)
        rules.append(
            (name, "ordered", f"priority {rank} of {count}: {_points(weight)}", item.description)
        )
    for criterion in scheme.active_criteria:
        group = f" (group {criterion.group})" if criterion.group else ""
        rules.append(
            (
                criterion.name,
                "criterion",
                f"{_points(criterion.points)}{group}",
                criterion.description,
            )
        )
    for bracket in scheme.active_brackets:
        bands = "; ".join(
            f"[{_bound(band.min)}, {_bound(band.max)}): {band.points:g}" for band in bracket.bands
        )
        group = f" (group {bracket.group})" if bracket.group else ""
        rules.append((bracket.name, "bracket", bands + group, bracket.description))
    if scheme.wait is not None:
        wait = scheme.wait
        cap = f", at most {wait.cap:g}" if wait.cap is not None else ""
        unit = "completed month" if wait.whole_months else "month"
        rules.append(
            (wait.name, "wait", f"{wait.points_per_month:g} per {unit}{cap}", wait.description)
        )
    if scheme.scored_refusal is not None:
        refusal = scheme.scored_refusal
        lowest = f", at least {refusal.lowest:g}" if refusal.lowest is not None else ""
        rules.append(
            (
                refusal.name,
                "refusal",
                f"{refusal.points_per_refusal:g} per refusal{lowest}",
                refusal.consequence,
            )
        )
    return rules


def _lines(scheme: Scheme, own: Scores) -> list[StatementLine]:
    lines: list[StatementLine] = []
    for name, kind, rule, description in entry_rules(scheme):
        points = float(own.breakdown[name].iloc[0])
        raw = float(own.raw[name].iloc[0]) if own.raw is not None else points
        note = ""
        if bool(own.missing[name].iloc[0]):
            note = "value missing: counts 0"
        elif raw != points:
            group = scheme.group_of(name)
            rule_text = (
                "only the highest of its group counts"
                if group is not None and scheme.groups[group].mode == "highest"
                else "group capped"
            )
            note = f"{raw:g} before group {group}: {rule_text}"
        lines.append(StatementLine(name, kind, rule, description, points, note))
    return lines


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if abs(value) == 1 else "s")


def _bound(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _same(series: pd.Series, value: object) -> np.ndarray:
    """Rows equal to ``value``, where an empty value matches empty cells."""
    if value is None:
        return series.isna().to_numpy()
    return (series == value).fillna(False).to_numpy(dtype=bool)


def _position(applicants: pd.DataFrame, totals: pd.Series, row: int) -> Position:
    epci_value = applicants["home_epci"].iloc[row]
    epci = None if pd.isna(epci_value) else str(epci_value)
    rooms_value = applicants["wished_rooms"].iloc[row]
    rooms = None if pd.isna(rooms_value) else int(rooms_value)
    comparable = _same(applicants["home_epci"], epci) & _same(applicants["wished_rooms"], rooms)
    values = totals.to_numpy()[comparable]
    own = float(totals.iloc[row])
    ahead = int((values > own).sum())
    tied = int((values == own).sum()) - 1
    return Position(epci, rooms, ahead + 1, int(comparable.sum()), ahead, tied)


def _comparable_wait(history: pd.DataFrame, epci: str | None, rooms: int | None) -> ComparableWait:
    if history.empty or epci is None:
        return ComparableWait(0, None)
    chosen = (history["event"] == "attribution").to_numpy() & _same(history["epci"], epci)
    if rooms is not None:
        chosen &= _same(history["rooms"], rooms)
    waits = history["wait_months"][chosen].dropna()
    if waits.empty:
        return ComparableWait(int(chosen.sum()), None)
    return ComparableWait(len(waits), float(waits.mean()))
