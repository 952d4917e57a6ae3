"""Scenario and sweep files: what-if overrides on a base instance, strictly validated.

A *scenario* names a set of overrides on a base instance and its constraint set: the
stock-to-flux conversion method, quota levels by rule name, rule families switched on or
off, objective weights (penalties), tolerances, the scoring grid, the shortlist size, and how
to solve (time limit, gap). A scenario with a ``simulate`` section runs a year of monthly
batches instead of one batch (:mod:`fluxopt.scenarios.simulate`).

A *sweep file* lists scenarios, and may also declare a ``product``: axes of values whose
cartesian product gives one scenario per combination, each axis a dotted path into the
scenario (``quotas.lec-q1-outside-qpv``, ``method``, ``simulate.refusal_rate``). Every
scenario starts from the file's ``defaults``. Example::

    name: q1-levels
    defaults: {time_limit: 20}
    scenarios:
      - {name: as-is}
    product:
      name: "q1={quotas.lec-q1-outside-qpv} {method}"
      axes:
        quotas.lec-q1-outside-qpv: [0.15, 0.25, 0.35]
        method: [stock_share, negotiated]

Files are parsed into frozen pydantic models that reject unknown keys; every problem of the
file is reported at once with its location (:func:`load_sweep`). Whether a quota or channel
name exists is only known against the base's constraint set: a scenario that names an
unknown one fails alone, as a row of the comparison (see :mod:`fluxopt.scenarios.apply`).
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from fluxopt.constraints.ruleset import Level
from fluxopt.schema.paths import looks_like_path, name_problem, path_problem
from fluxopt.schema.problems import InvalidInputError, Problem

Method = Literal["stock_share", "turnover_weighted", "unique_rights", "negotiated"]
"""The four stock-to-flux conversion methods (see :mod:`fluxopt.flux.conversion`)."""

FAMILY_SWITCHES = ("flux", "segment_mix", "channels", "quotas")
"""Rule families a scenario can switch on or off as a whole."""


class Strict(BaseModel):
    """Base of the scenario models: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class QuotaChange(Strict):
    """Changes to one quota rule of the constraint set (unset fields keep the rule's own)."""

    level: float | None = Field(
        default=None, ge=0, le=1, description="New ratio (at_least or at_most, as the rule)."
    )
    enabled: bool | None = Field(default=None, description="Switch the rule on or off.")
    hard: bool | None = Field(default=None, description="Make the rule hard or soft.")


class FamilySwitches(Strict):
    """Whole rule families switched on (true) or off (false); unset keeps the set's own."""

    flux: bool | None = Field(default=None, description="Holders' flux positions.")
    segment_mix: bool | None = Field(default=None, description="Segment mix of the flux.")
    channels: bool | None = Field(default=None, description="Every channel rule.")
    quotas: bool | None = Field(default=None, description="Every quota rule.")


class SimulationSpec(Strict):
    """A year of monthly batches (see :mod:`fluxopt.scenarios.simulate`)."""

    months: int = Field(default=12, ge=1, le=12, description="Months simulated from January.")
    refusal_rate: float = Field(
        default=0.3, ge=0, lt=1, description="Probability that a proposed applicant refuses."
    )
    inflow: int | None = Field(
        default=None,
        ge=0,
        description="New applicants per month (default: as many as the units of a month).",
    )
    seed: int = Field(default=0, description="Seed of the simulated vacancies and outcomes.")


class Scenario(Strict):
    """One what-if: overrides on the base instance and constraint set, and how to solve."""

    name: str = Field(min_length=1, max_length=120, description="Name shown in the reports.")
    description: str = ""
    constraints: str | None = Field(
        default=None, description="Constraint set (name or file; default: the instance's)."
    )
    grid: str | None = Field(
        default=None,
        description="Scoring grid (name or file; default: the instance's; '' : wait-based).",
    )
    method: Method | None = Field(
        default=None, description="Conversion method applied to every convention."
    )
    quotas: dict[str, QuotaChange] = Field(
        default_factory=dict,
        description="Changes per quota rule name; a bare number is the new level.",
    )
    channels: dict[str, bool] = Field(
        default_factory=dict, description="Channel rules switched on or off by name."
    )
    families: FamilySwitches = FamilySwitches()
    weights: dict[Level, float] = Field(
        default_factory=dict, description="Objective weights (penalties) per level."
    )
    tolerance: float | None = Field(
        default=None, ge=0, description="Tolerance of every convention, in units."
    )
    segment_tolerance: float | None = Field(
        default=None, ge=0, description="Free deviation per segment of the flux mix, in units."
    )
    shortlist_size: int | None = Field(default=None, ge=1, le=10)
    month: str | None = Field(
        default=None,
        pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
        description="Batch month (default: every unit of the instance); not for simulations.",
    )
    solver: str = "highs"
    time_limit: float = Field(
        default=30.0, gt=0, allow_inf_nan=False, description="Seconds per solve (finite, > 0)."
    )
    mip_gap: float = Field(default=1e-3, ge=0, le=1)
    simulate: SimulationSpec | None = None

    @field_validator("quotas", mode="before")
    @classmethod
    def _bare_levels(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: {"level": item} if isinstance(item, int | float) else item
                for key, item in value.items()
            }
        return value

    @field_validator("weights")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        negative = sorted(k for k, v in value.items() if v < 0)
        if negative:
            raise ValueError(f"weights must be non-negative: {negative}")
        return value

    @model_validator(mode="after")
    def _month_of_a_batch(self) -> Scenario:
        if self.simulate is not None and self.month is not None:
            raise ValueError("month is for one batch; a simulation runs from January")
        return self

    @property
    def kind(self) -> Literal["batch", "simulation"]:
        """Whether the scenario is one batch or a simulated year."""
        return "simulation" if self.simulate is not None else "batch"

    def spec(self) -> dict[str, Any]:
        """What the scenario computes, without its name and description (for the cache key)."""
        return self.model_dump(mode="json", exclude={"name", "description"})

    def changes(self) -> dict[str, Any]:
        """The overrides that differ from the defaults, as dotted paths (for the reports)."""
        default = Scenario(name=self.name).model_dump(mode="json")
        return {
            path: value
            for path, value in _flatten(self.model_dump(mode="json")).items()
            if path not in ("name", "description") and _flatten(default).get(path) != value
        }


class Product(Strict):
    """A grid of values: one scenario per combination of the axes' values."""

    axes: dict[str, tuple[Any, ...]] = Field(
        min_length=1, description="Dotted path into a scenario → the values it takes."
    )
    name: str = Field(
        default="",
        description="Template of the generated names: each '{<axis path>}' is replaced by "
        "the axis's value (default: 'last=value' for every axis, comma-separated).",
    )

    @field_validator("axes")
    @classmethod
    def _valid_axes(cls, axes: dict[str, tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
        fields = set(Scenario.model_fields) - {"name", "description"}
        for path, values in axes.items():
            root = path.split(".", 1)[0]
            if root not in fields:
                raise ValueError(f"axis {path!r}: {root!r} is not a scenario field")
            if not values:
                raise ValueError(f"axis {path!r} has no values")
        return axes


class SweepFile(Strict):
    """The contents of a sweep file: defaults, listed scenarios and a product of axes."""

    name: str = "sweep"
    description: str = ""
    defaults: dict[str, Any] = Field(
        default_factory=dict, description="Keys every scenario starts from."
    )
    scenarios: tuple[dict[str, Any], ...] = ()
    product: Product | None = None

    @field_validator("name")
    @classmethod
    def _name_is_plain(cls, name: str) -> str:
        problem = name_problem(name)
        if problem:
            raise ValueError(f"the name {problem} (it names the folder sweep-<name>)")
        return name


def load_sweep(path: Path | str) -> tuple[SweepFile, tuple[Scenario, ...]]:
    """Read a sweep file and expand it into scenarios; raise once with every problem."""
    path = Path(path)
    where = path.name
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(
            f"sweep file {where}", [Problem(where, f"cannot be read: {exc}", "check the path")]
        ) from exc
    except yaml.YAMLError as exc:
        raise InvalidInputError(
            f"sweep file {where}", [Problem(where, f"is not valid YAML: {exc}", "fix the syntax")]
        ) from exc
    sweep, scenarios = parse_sweep(raw, where)
    return sweep, tuple(in_folder(scenario, path.parent) for scenario in scenarios)


def in_folder(scenario: Scenario, folder: Path) -> Scenario:
    """The scenario with the rule files it names read from the sweep file's folder.

    A bundled name (``lec-default``) stays a name; a file path (checked relative and inside
    by :func:`rule_paths_outside`) is resolved against ``folder``, not the working folder.
    """
    update = {
        key: str(folder / value)
        for key in ("constraints", "grid")
        if (value := getattr(scenario, key)) and looks_like_path(value)
    }
    return scenario.model_copy(update=update) if update else scenario


def parse_sweep(raw: Any, where: str = "sweep") -> tuple[SweepFile, tuple[Scenario, ...]]:
    """Validate a sweep mapping and expand it into scenarios (see :func:`load_sweep`)."""
    try:
        sweep = SweepFile.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInputError(f"sweep file {where}", _problems(where, exc)) from exc
    scenarios, problems = expand(sweep, where)
    if not scenarios and not problems:
        problems.append(
            Problem(where, "declares no scenario", "list scenarios or give a product of axes")
        )
    names = [str(e.get("name")) for _, e in entries_of(sweep) if e.get("name") is not None]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(
            Problem(where, f"scenario name {name!r} is used twice", "give each a unique name")
        )
    if problems:
        raise InvalidInputError(f"sweep file {where}", problems)
    return sweep, tuple(scenarios)


def expand(sweep: SweepFile, where: str = "sweep") -> tuple[list[Scenario], list[Problem]]:
    """The scenarios a sweep declares: listed ones, then one per combination of the axes."""
    scenarios: list[Scenario] = []
    problems: list[Problem] = []
    for location, entry in entries_of(sweep):
        try:
            scenario = Scenario.model_validate(entry)
        except ValidationError as exc:
            problems.extend(_problems(where, exc, prefix=location))
            continue
        outside = rule_paths_outside(scenario, where, location)
        problems.extend(outside)
        if not outside:
            scenarios.append(scenario)
    return scenarios, problems


def rule_paths_outside(scenario: Scenario, where: str, location: str) -> list[Problem]:
    """A grid or constraint-set path of a sweep file that is absolute or climbs out (``..``).

    Paths a sweep file names stay relative and inside (:mod:`fluxopt.schema.paths`); a
    path typed on the command line is the user's own and is not checked here.
    """
    problems = []
    for key in ("constraints", "grid"):
        value = getattr(scenario, key)
        problem = path_problem(value) if value and looks_like_path(value) else None
        if problem:
            problems.append(
                Problem(
                    where,
                    f"{key}: {problem}",
                    "name a bundled grid or constraint set, or a relative path without ..",
                    key=location,
                )
            )
    return problems


def entries_of(sweep: SweepFile) -> list[tuple[str, dict[str, Any]]]:
    """Each scenario of a sweep as (location, raw mapping), the defaults laid under it."""
    defaults = normalised(sweep.defaults)
    entries = [
        (f"scenarios[{i}]", merge(defaults, normalised(entry)))
        for i, entry in enumerate(sweep.scenarios)
    ]
    if sweep.product is None:
        return entries
    paths = list(sweep.product.axes)
    for values in itertools.product(*sweep.product.axes.values()):
        entry = copy.deepcopy(defaults)
        for dotted, value in zip(paths, values, strict=True):
            set_path(entry, dotted, value)
        label = ",".join(f"{p.split('.')[-1]}={v}" for p, v in zip(paths, values, strict=True))
        name = sweep.product.name
        for dotted, value in zip(paths, values, strict=True):
            name = name.replace(f"{{{dotted}}}", str(value))
        entry["name"] = name or label
        entries.append((f"product[{label}]", normalised(entry)))
    return entries


def normalised(entry: dict[str, Any]) -> dict[str, Any]:
    """A raw scenario with each quota given as a bare number turned into ``{level: n}``."""
    quotas = entry.get("quotas")
    if not isinstance(quotas, dict):
        return entry
    return {
        **entry,
        "quotas": {
            name: {"level": item} if isinstance(item, int | float) else item
            for name, item in quotas.items()
        },
    }


def merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``update`` laid over ``base``, nested mappings merged key by key (copies)."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def set_path(entry: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``entry[a][b][c] = value`` for the path ``a.b.c``, creating mappings on the way."""
    *parents, last = dotted.split(".")
    node = entry
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {} if child is None else {"level": child}
            node[part] = child
        node = child
    if parents == ["quotas"] and isinstance(node.get(last), dict):
        node[last] = {**node[last], "level": value}
    else:
        node[last] = value


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value} if prefix else {}


def _problems(where: str, exc: ValidationError, prefix: str = "") -> list[Problem]:
    problems = []
    for err in exc.errors():
        loc = ".".join(str(part) for part in err["loc"])
        column = f"{prefix}.{loc}" if prefix and loc else prefix or loc
        hint = (
            "remove or rename the key"
            if err["type"] == "extra_forbidden"
            else "see the scenario reference in docs/whatif.md"
        )
        problems.append(Problem(where, err["msg"], hint, column=column or None))
    return problems
