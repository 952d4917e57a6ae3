r"""Scoring grids (grilles de cotation) as frozen, strictly validated models.

A grid is a YAML file parsed into :class:`Grid`. It holds one scoring *scheme* for every
demand and, optionally, a separate scheme for transfer demands (mutation: a sitting social
tenant asking to move), which the territory's demand-management plan (PPGD, plan partenarial
de gestion de la demande) may define. A scheme combines five kinds of entries:

- **ordered criteria** (:class:`Ordered`): yes/no criteria listed by priority. Criterion
  :math:`i` of :math:`n` (0 = highest) weighs :math:`w_i = b \cdot 2^{n-1-i}`, so that
  :math:`w_i - \sum_{j>i} w_j = b`. The base :math:`b` is larger than the whole range of
  the additive part below (the *tie-break*), hence meeting a higher criterion always
  outranks any combination of lower criteria and tie-break points;
- **criteria** (:class:`Criterion`): a yes/no expression worth fixed points;
- **brackets** (:class:`Bracket`): a numeric expression (e.g. the rent burden
  ``housing_cost_now * 12 / annual_income``) cut into bands, each worth points;
- **wait** (:class:`Wait`): points per month of wait (``wait_months``), up to a cap;
- **refusal** (:class:`Refusal`): points (zero or negative) per suitable offer refused,
  down to a floor, with the consequence stated to applicants.

Criteria and brackets may share a **group** (:class:`Group`): in a ``highest`` group only
the highest of its members counts (as in the Paris grid), in a ``sum`` group the members
add up; either may be capped.

Every expression is written in the one expression language of fluxopt (the familiar pandas
filter syntax, checked against an allow-list and never handed to ``eval``; see
:mod:`fluxopt.rules.expression`) over applicant columns; :mod:`fluxopt.scoring.check`
validates them.
"""

from __future__ import annotations

import itertools
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*$"
"""Entry names: a letter or underscore, then letters, digits, underscores or hyphens."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderedCriterion(_Strict):
    """A yes/no criterion of an ordered block; its weight comes from its rank."""

    name: str = Field(pattern=NAME_PATTERN, description="Name of the criterion.")
    expression: str = Field(description="Expression giving true when the criterion is met.")
    description: str = Field(default="", description="What the criterion means, for applicants.")
    enabled: bool = Field(default=True, description="False switches the criterion off.")


class Ordered(_Strict):
    r"""Yes/no criteria listed by priority, the first the most important.

    With :math:`n` enabled criteria and base :math:`b`, criterion :math:`i` (0-based)
    weighs :math:`w_i = b \cdot 2^{n-1-i}`. Dominance: for every :math:`i`,
    :math:`w_i > \sum_{j>i} w_j + R`, where :math:`R` is the range (highest minus lowest
    total) of the scheme's additive part, because :math:`w_i - \sum_{j>i} w_j = b > R`.
    ``base: auto`` takes the smallest power of ten strictly above :math:`R`.
    """

    base: float | Literal["auto"] = Field(
        default="auto", description="Weight of the last criterion; 'auto' derives it."
    )
    criteria: tuple[OrderedCriterion, ...] = Field(min_length=1)

    @field_validator("base")
    @classmethod
    def _base_is_positive(cls, base: float | str) -> float | str:
        if isinstance(base, float | int) and base <= 0:
            raise ValueError("base must be positive")
        return base

    @property
    def active(self) -> tuple[OrderedCriterion, ...]:
        """The enabled criteria, in priority order."""
        return tuple(c for c in self.criteria if c.enabled)


class Criterion(_Strict):
    """A yes/no criterion worth fixed points when its expression is true."""

    name: str = Field(pattern=NAME_PATTERN, description="Name of the criterion.")
    expression: str = Field(description="Expression giving true when the criterion is met.")
    points: float = Field(description="Points when met (may be negative).")
    description: str = Field(default="", description="What the criterion means, for applicants.")
    group: str | None = Field(default=None, description="Group the criterion belongs to.")
    enabled: bool = Field(default=True, description="False switches the criterion off.")


class Band(_Strict):
    r"""One band of a bracket: values in ``[min, max)`` score ``points``.

    A missing ``min`` is :math:`-\infty` and a missing ``max`` is :math:`+\infty`.
    """

    min: float | None = None
    max: float | None = None
    points: float

    @model_validator(mode="after")
    def _bounds_are_ordered(self) -> Band:
        if self.min is None and self.max is None:
            raise ValueError("a band needs min, max or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"band min {self.min:g} must be below max {self.max:g}")
        return self

    @property
    def low(self) -> float:
        r"""Lower bound (inclusive), :math:`-\infty` when open."""
        return -math.inf if self.min is None else self.min

    @property
    def high(self) -> float:
        r"""Upper bound (exclusive), :math:`+\infty` when open."""
        return math.inf if self.max is None else self.max


class Bracket(_Strict):
    r"""A numeric expression cut into bands; values outside every band score 0.

    A missing value (empty cell, or 0/0) scores 0 and is flagged as missing in the
    breakdown; :math:`+\infty` (e.g. a cost over a zero income) falls in an open top band.
    """

    name: str = Field(pattern=NAME_PATTERN, description="Name of the bracket.")
    expression: str = Field(description="Expression giving a number.")
    bands: tuple[Band, ...] = Field(min_length=1)
    description: str = Field(default="", description="What the bracket measures, for applicants.")
    group: str | None = Field(default=None, description="Group the bracket belongs to.")
    enabled: bool = Field(default=True, description="False switches the bracket off.")

    @field_validator("bands")
    @classmethod
    def _bands_do_not_overlap(cls, bands: tuple[Band, ...]) -> tuple[Band, ...]:
        ordered = sorted(bands, key=lambda band: band.low)
        for before, after in itertools.pairwise(ordered):
            if after.low < before.high:
                raise ValueError(
                    f"bands [{before.low:g}, {before.high:g}) and "
                    f"[{after.low:g}, {after.high:g}) overlap"
                )
        return bands


class Wait(_Strict):
    """Points per month of wait, up to a cap (seniority of the demand).

    ``points = min(cap, points_per_month * m)`` where :math:`m` is ``wait_months``, rounded
    down to whole months when ``whole_months`` is true.
    """

    name: str = Field(default="wait", pattern=NAME_PATTERN)
    expression: str = Field(default="wait_months", description="Months waited.")
    points_per_month: float = Field(ge=0)
    cap: float | None = Field(default=None, gt=0, description="Most points the wait can give.")
    whole_months: bool = Field(default=True, description="Count completed months only.")
    description: str = Field(default="", description="How seniority is counted, for applicants.")


class Refusal(_Strict):
    """What refusing a suitable offer does to the score, as told to applicants.

    ``points = max(lowest, points_per_refusal * r)`` where :math:`r` is ``refusals`` (offers
    refused in the last year). ``points_per_refusal`` is zero or negative; with zero, the
    entry only states the consequence (it is then no breakdown column).
    """

    name: str = Field(default="refusals", pattern=NAME_PATTERN)
    expression: str = Field(default="refusals", description="Number of offers refused.")
    points_per_refusal: float = Field(default=0.0, le=0)
    lowest: float | None = Field(default=None, le=0, description="Floor of the penalty.")
    consequence: str = Field(min_length=1, description="The consequence, told to applicants.")


class Group(_Strict):
    r"""Members of a group are combined before they count.

    ``highest``: only the largest member's points count, :math:`g = \min(c, \max_k p_k)`;
    ``sum``: the members add up, :math:`g = \min(c, \sum_k p_k)`, where :math:`c` is the cap
    (:math:`+\infty` when absent).
    """

    mode: Literal["highest", "sum"] = "highest"
    cap: float | None = Field(default=None, gt=0)
    description: str = ""


class Scheme(_Strict):
    """One scoring system: ordered block, criteria, brackets, wait, refusal, groups."""

    ordered: Ordered | None = None
    criteria: tuple[Criterion, ...] = ()
    brackets: tuple[Bracket, ...] = ()
    wait: Wait | None = None
    refusal: Refusal | None = None
    groups: dict[str, Group] = Field(default_factory=dict)

    @property
    def active_criteria(self) -> tuple[Criterion, ...]:
        """The enabled additive criteria."""
        return tuple(c for c in self.criteria if c.enabled)

    @property
    def active_brackets(self) -> tuple[Bracket, ...]:
        """The enabled brackets."""
        return tuple(b for b in self.brackets if b.enabled)

    @property
    def scored_refusal(self) -> Refusal | None:
        """The refusal entry when it changes the score (a zero penalty only informs)."""
        if self.refusal is not None and self.refusal.points_per_refusal < 0:
            return self.refusal
        return None

    @property
    def group_members(self) -> dict[str, list[str]]:
        """Names of the enabled criteria and brackets of each group, in grid order."""
        members: dict[str, list[str]] = {}
        items: list[Criterion | Bracket] = [*self.active_criteria, *self.active_brackets]
        for item in items:
            if item.group is not None:
                members.setdefault(item.group, []).append(item.name)
        return members

    def group_of(self, name: str) -> str | None:
        """The group an enabled criterion or bracket belongs to (None when ungrouped)."""
        for group, names in self.group_members.items():
            if name in names:
                return group
        return None

    @property
    def entry_names(self) -> tuple[str, ...]:
        """Names of the enabled entries, in breakdown order (ordered block first)."""
        names = [c.name for c in self.ordered.active] if self.ordered else []
        names += [c.name for c in self.active_criteria]
        names += [b.name for b in self.active_brackets]
        if self.wait is not None:
            names.append(self.wait.name)
        if self.scored_refusal is not None:
            names.append(self.scored_refusal.name)
        return tuple(names)

    def additive_range(self) -> tuple[float, float]:
        """Lowest and highest total of the additive part (all but the ordered block).

        Each ungrouped entry adds its own range; a group adds the range of its combination
        (highest member or sum, then the cap). The wait ranges over ``[0, cap]`` and the
        refusal over ``[lowest, 0]``; either is unbounded without its cap.
        """
        low = high = 0.0
        options: dict[str, list[tuple[float, float]]] = {}
        entries = [
            (c.group, (min(0.0, c.points), max(0.0, c.points))) for c in self.active_criteria
        ]
        for bracket in self.active_brackets:
            points = [0.0, *(band.points for band in bracket.bands)]
            entries.append((bracket.group, (min(points), max(points))))
        for group, (entry_low, entry_high) in entries:
            if group is None:
                low, high = low + entry_low, high + entry_high
            else:
                options.setdefault(group, []).append((entry_low, entry_high))
        for name, ranges in options.items():
            spec = self.groups.get(name, Group())
            if spec.mode == "highest":
                group_low, group_high = max(r[0] for r in ranges), max(r[1] for r in ranges)
            else:
                group_low, group_high = sum(r[0] for r in ranges), sum(r[1] for r in ranges)
            if spec.cap is not None:
                group_low, group_high = min(group_low, spec.cap), min(group_high, spec.cap)
            low, high = low + group_low, high + group_high
        if self.wait is not None and self.wait.points_per_month > 0:
            high += math.inf if self.wait.cap is None else self.wait.cap
        if self.refusal is not None and self.refusal.points_per_refusal < 0:
            low += -math.inf if self.refusal.lowest is None else self.refusal.lowest
        return low, high

    def ordered_base(self) -> float:
        """Base weight :math:`b` of the ordered block (see :class:`Ordered`).

        ``auto``: the smallest power of ten strictly above the additive range :math:`R`
        (1 when :math:`R = 0`). Infinite when :math:`R` is unbounded (an invalid grid).
        """
        low, high = self.additive_range()
        spread = high - low
        if self.ordered is not None and self.ordered.base != "auto":
            return float(self.ordered.base)
        if math.isinf(spread):
            return math.inf
        base = 1.0
        while base <= spread:
            base *= 10.0
        return base

    def ordered_weights(self) -> dict[str, float]:
        r"""Weight of each enabled ordered criterion: :math:`w_i = b \cdot 2^{n-1-i}`."""
        if self.ordered is None:
            return {}
        active = self.ordered.active
        base = self.ordered_base()
        count = len(active)
        return {c.name: base * 2.0 ** (count - 1 - i) for i, c in enumerate(active)}


class Grid(Scheme):
    """A scoring grid: the scheme for every demand, and an optional transfer scheme.

    When ``transfer`` is given, applicants with ``is_transfer`` are scored by it and all
    others by the top-level scheme; otherwise everyone is scored by the top-level scheme.
    """

    name: str = Field(description="Short name of the grid.")
    description: str = Field(default="", description="What the grid is and where it comes from.")
    territory: str = Field(default="", description="Territory the grid applies to.")
    version: str = Field(default="", description="Version or adoption date of the grid.")
    transfer: Scheme | None = Field(
        default=None, description="Separate scheme for transfer demands (mutations)."
    )
    _file: str = PrivateAttr(default="")

    @property
    def file(self) -> str:
        """Name of the file the grid was read from (the grid's name when built in memory)."""
        return self._file or self.name

    def schemes(self) -> dict[str, Scheme]:
        """The schemes by label: ``main`` and, when defined, ``transfer``."""
        out: dict[str, Scheme] = {"main": self}
        if self.transfer is not None:
            out["transfer"] = self.transfer
        return out

    @property
    def breakdown_columns(self) -> tuple[str, ...]:
        """Breakdown columns: entries of the main scheme, then those only in the transfer one."""
        names = list(self.entry_names)
        if self.transfer is not None:
            names += [n for n in self.transfer.entry_names if n not in names]
        return tuple(names)
