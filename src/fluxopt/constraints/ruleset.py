"""Constraint sets: which rule families apply, with what parameters, hard or soft.

A constraint set is a YAML file of ``models/constraints/`` parsed into frozen pydantic
models that reject unknown keys, so that a misspelt key fails with its location. Filters are
expressions of the one expression language of fluxopt (:mod:`fluxopt.rules.expression`),
checked when the set is read against the declared columns of the table each applies to
(:mod:`fluxopt.rules.filters`): a refused filter stops the load with the file, the key
(``families.quotas[0].scope``) and the part at fault, before anything runs. Every entry
carries a description and can be switched off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from fluxopt.rules.filters import (
    APPLICANT_FILTER,
    HOLDER_FILTER,
    UNIT_FILTER,
    FilterKind,
    filter_problem,
)
from fluxopt.schema.problems import FluxoptError, InvalidInputError, Problem

Level = Literal["unfilled", "quota", "flux", "mixity", "segment", "shortlist", "value"]


class Strict(BaseModel):
    """Base of every rule model: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


EXPRESSION_ERROR = "expression"
"""Type of the validation error of a refused filter (its context carries the hint)."""


def checked_filter(text: str, kind: FilterKind) -> str:
    """``text`` when it is a valid filter of its kind; a located validation error otherwise."""
    problem = filter_problem(text, kind)
    if problem is not None:
        raise PydanticCustomError(
            EXPRESSION_ERROR,
            "{reason} ({label})",
            {"reason": problem.message, "label": kind.label, "hint": problem.hint},
        )
    return text


class Weights(Strict):
    """Objective weights per level of importance (penalty per unit of shortfall).

    The default order puts a unit left without a candidate that could have had one far above
    the legal quotas and the holders' flux positions, those far above mixity goals and the
    segment mix, and those above the value (score, wish, fit) of the chosen candidates, whose
    loss lies in [0, 1] per unit.
    """

    unfilled: float = Field(
        default=10_000.0, gt=0, description="Per unit left without a candidate."
    )
    quota: float = Field(default=200.0, ge=0, description="Per attribution missing from a quota.")
    flux: float = Field(default=200.0, ge=0, description="Per unit beyond a holder's tolerance.")
    mixity: float = Field(default=20.0, ge=0, description="Per attribution above a mixity cap.")
    segment: float = Field(default=5.0, ge=0, description="Per unit of segment-mix deviation.")
    shortlist: float = Field(default=50.0, ge=0, description="Per alternate missing from a list.")
    value: float = Field(default=1.0, ge=0, description="Per unit of candidate value lost.")

    def of(self, level: Level) -> float:
        """The weight of one level."""
        return float(getattr(self, level))


class ValueRule(Strict):
    """How a candidate's value for a unit is made, each part in [0, 1], weights summing to 1."""

    score: float = Field(default=0.6, ge=0, description="Weight of the normalised score.")
    wish: float = Field(default=0.25, ge=0, description="Weight of the wish rank of the commune.")
    fit: float = Field(default=0.15, ge=0, description="Weight of the typology fit.")

    @model_validator(mode="after")
    def _sum_to_one(self) -> ValueRule:
        total = self.score + self.wish + self.fit
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"value weights must sum to 1, got {total:g}")
        return self


class BenefitRule(Strict):
    """A simplified housing-benefit (APL) estimate used for the net rent burden.

    ⚠ Approximation, not the legal computation: the benefit is
    ``max(0, min(rent, rent_cap) + charge_allowance - (base + rate · monthly income))``
    with ``rent_cap`` by household size (``rent_cap_extra`` per person beyond the table).
    """

    enabled: bool = True
    rent_cap: dict[int, float] = Field(default_factory=lambda: {1: 280.0, 2: 340.0, 3: 385.0})
    rent_cap_extra: float = 55.0
    charge_allowance: float = 57.0
    charge_allowance_extra: float = 13.0
    base: float = 40.0
    rate: float = Field(default=0.2, ge=0, le=1)


class EligibilityRule(Strict):
    """Which unit × applicant pairs may be proposed at all."""

    rooms_for_size: dict[int, tuple[int, int]] = Field(
        default_factory=lambda: {
            1: (1, 2),
            2: (1, 3),
            3: (2, 4),
            4: (3, 5),
            5: (3, 6),
            6: (4, 6),
        },
        description="Household size → allowed typologies (min, max rooms); sizes above the "
        "largest key use its row.",
    )
    wished_rooms_slack: int | None = Field(
        default=1,
        ge=0,
        description="Rooms may differ from the wished typology by this much "
        "(null: ignore the wish).",
    )
    max_rent_burden: float | None = Field(
        default=0.35, gt=0, le=1, description="Highest net rent burden (taux d'effort)."
    )
    income_floor_per_uc: float = Field(
        default=6500.0,
        ge=0,
        description="Resources counted at least this per consumption unit and year (social "
        "minima are not in the taxable income) ⚠ assumption.",
    )
    benefit: BenefitRule = BenefitRule()
    check_income_ceiling: bool = True
    respect_max_rent: bool = True
    check_access: bool = True


class PruningRule(Strict):
    """How the candidate graph is thinned before the model (see ``candidates``)."""

    keep_best: int = Field(default=25, ge=1, description="Best-valued candidates kept per unit.")
    keep_per_class: int | Literal["auto"] = Field(
        default="auto",
        description="Candidates kept per unit for each quota and channel class; 'auto' keeps "
        "as many as the class can be needed in the unit's quota group.",
    )
    max_per_class: int = Field(default=15, ge=1, description="Upper bound of 'auto'.")


class ChannelRule(Strict):
    """Which applicants a holder's channel admits (as first-ranked and listed)."""

    name: str
    description: str = ""
    enabled: bool = True
    holders: str = Field(description="Holder filter, e.g. \"kind == 'state'\".")
    admits: str = Field(description="Applicant filter, e.g. 'priority or dalo'.")

    @field_validator("holders")
    @classmethod
    def _holder_filter(cls, text: str) -> str:
        return checked_filter(text, HOLDER_FILTER)

    @field_validator("admits")
    @classmethod
    def _applicant_filter(cls, text: str) -> str:
        return checked_filter(text, APPLICANT_FILTER)


class QuotaRule(Strict):
    """A ratio rule over first-ranked attributions, year-to-date included.

    For each group ``g`` of ``per`` (epci, holder or residence), over the units matching
    ``scope`` (and holders matching ``holders``), with ``N`` the attributions whose applicant
    matches ``share`` and ``D`` all attributions of the group (both year to date plus this
    batch): ``at_least``: ``N >= rho · D``; ``at_most``: ``N <= rho · D``.
    """

    name: str
    description: str = ""
    enabled: bool = True
    per: Literal["epci", "holder", "residence", "all"]
    scope: str = Field(default="", description="Unit filter (empty: all units).")
    holders: str = Field(default="", description="Holder filter for per: holder.")
    share: str = Field(description="Applicant filter counted in the numerator.")
    at_least: float | None = Field(default=None, ge=0, le=1)
    at_most: float | None = Field(default=None, ge=0, le=1)
    level_column: str | None = Field(
        default=None,
        description="A residence column giving the group's own level (e.g. cap_q1_share); "
        "at_least/at_most is then the fallback where that column is empty.",
    )
    hard: bool = False
    penalty: Level = "quota"

    @field_validator("scope")
    @classmethod
    def _unit_filter(cls, text: str) -> str:
        return checked_filter(text, UNIT_FILTER)

    @field_validator("holders")
    @classmethod
    def _holder_filter(cls, text: str) -> str:
        return checked_filter(text, HOLDER_FILTER)

    @field_validator("share")
    @classmethod
    def _applicant_filter(cls, text: str) -> str:
        return checked_filter(text, APPLICANT_FILTER)

    @model_validator(mode="after")
    def _one_direction(self) -> QuotaRule:
        if (self.at_least is None) == (self.at_most is None):
            raise ValueError("give exactly one of at_least or at_most")
        return self

    @property
    def sense(self) -> Literal["at_least", "at_most"]:
        """Direction of the ratio."""
        return "at_least" if self.at_least is not None else "at_most"

    @property
    def level(self) -> float:
        """The ratio ``rho``."""
        return float(self.at_least if self.at_least is not None else self.at_most)  # type: ignore[arg-type]


class FluxRule(Strict):
    """Holders' cumulative flux positions within tolerance, and the segment mix."""

    enabled: bool = True
    hard: bool = False
    segment_mix: bool = True
    segment_tolerance: float = Field(
        default=1.0,
        ge=0,
        description="Free deviation from a holder's target in each segment, in units; with "
        "1, rounding every target to a neighbouring integer is always possible.",
    )
    method: str | None = Field(default=None, description="Conversion method override.")


class ShortlistRule(Strict):
    """Shortlist size and exclusivity."""

    size: int = Field(default=3, ge=1, le=10, description="Candidates per unit (CALEOL: 3).")
    one_list_per_applicant: bool = True


class OrientationRule(Strict):
    """Every flux unit goes to exactly one covering holder."""

    enabled: bool = True


class LocksRule(Strict):
    """Human overrides read from a locks table of the instance or the batch."""

    enabled: bool = True


class Families(Strict):
    """The rule families and their settings."""

    orientation: OrientationRule = OrientationRule()
    flux: FluxRule = FluxRule()
    shortlist: ShortlistRule = ShortlistRule()
    channels: tuple[ChannelRule, ...] = ()
    quotas: tuple[QuotaRule, ...] = ()
    locks: LocksRule = LocksRule()


class ConstraintSet(Strict):
    """A whole constraint set."""

    name: str
    description: str = ""
    version: str = "1"
    eligibility: EligibilityRule = EligibilityRule()
    pruning: PruningRule = PruningRule()
    value: ValueRule = ValueRule()
    weights: Weights = Weights()
    families: Families = Families()

    @model_validator(mode="after")
    def _unique_names(self) -> ConstraintSet:
        names = [q.name for q in self.families.quotas] + [c.name for c in self.families.channels]
        duplicated = sorted({n for n in names if names.count(n) > 1})
        if duplicated:
            raise ValueError(f"rule names must be unique: {duplicated}")
        return self

    @property
    def active_quotas(self) -> tuple[QuotaRule, ...]:
        """Quota rules that are switched on."""
        return tuple(q for q in self.families.quotas if q.enabled)

    @property
    def active_channels(self) -> tuple[ChannelRule, ...]:
        """Channel rules that are switched on."""
        return tuple(c for c in self.families.channels if c.enabled)


def constraints_dir() -> Path:
    """The folder of the bundled constraint sets (``models/constraints``)."""
    return Path(__file__).resolve().parents[3] / "models" / "constraints"


def load_constraint_set(name_or_path: str | Path) -> ConstraintSet:
    """Load a constraint set by file path or by name of a bundled set."""
    path = Path(name_or_path)
    if not path.suffix:
        path = constraints_dir() / f"{name_or_path}.yaml"
    if not path.exists():
        bundled = sorted(p.stem for p in constraints_dir().glob("*.yaml"))
        raise FluxoptError(
            f"constraint set {name_or_path!r} not found; give a YAML file or one of {bundled}"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidInputError(
            f"constraint set {path.name}",
            [Problem(path.name, f"is not valid YAML: {exc}", "fix the YAML syntax")],
        ) from exc
    try:
        return ConstraintSet.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInputError(
            f"constraint set {path.name}", validation_problems(path.name, exc)
        ) from exc


def validation_problems(file: str, exc: ValidationError) -> list[Problem]:
    """One problem per validation error, keyed by where it is (``families.quotas[0].scope``)."""
    problems = []
    for err in exc.errors():
        if err["type"] == EXPRESSION_ERROR:
            hint = str((err.get("ctx") or {}).get("hint", ""))
        elif err["type"] == "extra_forbidden":
            hint = "remove or rename the key"
        else:
            hint = "see the constraint-set reference in the README"
        problems.append(Problem(file, err["msg"], hint, key=key_path(err["loc"])))
    return problems


def key_path(loc: tuple[int | str, ...]) -> str:
    """A validation location as a key, e.g. ``families.quotas[0].scope``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"
