"""Apply a scenario's overrides to a base instance and its constraint set.

The overrides are laid over the constraint set's own values and the result is validated
again as a whole (:class:`~fluxopt.constraints.ruleset.ConstraintSet`), so that a scenario
can never produce a rule set the loader would refuse:

- ``method``: the flux rule's conversion method (``families.flux.method``), applied to every
  convention instead of each convention's own;
- ``quotas``: per quota rule name, a new level (the rule's ``at_least`` or ``at_most``,
  whichever it has), ``enabled`` and ``hard``;
- ``channels``: channel rules switched on or off by name;
- ``families``: ``flux``, ``segment_mix``, ``channels`` (every channel rule) and ``quotas``
  (every quota rule) switched on or off as a whole; a per-rule switch wins over the family's;
- ``weights``: objective weights per level (penalty per unit of shortfall);
- ``segment_tolerance`` and ``shortlist_size``: the flux and shortlist rules' settings;
- ``tolerance``: the ``tolerance`` of every convention of the instance (in units);
- ``grid``: the scoring grid the applicants are scored with (``''``: the wait-based score).

A name that the constraint set does not hold (a misspelt quota) raises a
:class:`~fluxopt.schema.problems.FluxoptError` naming the known ones.

Before any scenario runs, :func:`rule_file_problems` reads every constraint set and grid the
scenarios name (their own, or the base instance's ``instance.yaml`` ones), so that a rule
file with a refused expression stops the whole run with its location, not a worker.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import ValidationError

from fluxopt.constraints.ruleset import ConstraintSet, load_constraint_set
from fluxopt.instance import Instance
from fluxopt.scenarios.spec import Scenario
from fluxopt.schema.paths import looks_like_path
from fluxopt.schema.problems import FluxoptError, InvalidInputError, Problem

DEFAULT_CONSTRAINTS = "lec-default"


@dataclass(frozen=True)
class Applied:
    """A scenario made concrete: the instance, the rules and the scores to solve with."""

    instance: Instance
    rules: ConstraintSet
    scores: pd.Series | None
    measure_rules: ConstraintSet
    """The rules with every quota on (and soft where the scenario switched it off), so that
    each quota's attainment is measured even when the scenario does not enforce it."""


def apply_scenario(instance: Instance, scenario: Scenario) -> Applied:
    """The instance, constraint set and scores of ``scenario`` on the base ``instance``."""
    base = load_constraint_set(scenario.constraints or instance.constraints_source)
    rules = apply_rules(base, scenario)
    changed = apply_instance(instance, scenario)
    return Applied(
        instance=changed,
        rules=rules,
        scores=scores_for(changed, scenario.grid),
        measure_rules=measuring_rules(rules),
    )


def apply_rules(rules: ConstraintSet, scenario: Scenario) -> ConstraintSet:
    """The constraint set with the scenario's rule overrides, validated again."""
    data: dict[str, Any] = rules.model_dump(mode="python")
    families = data["families"]
    switches = scenario.families
    quota_names = [q["name"] for q in families["quotas"]]
    channel_names = [c["name"] for c in families["channels"]]
    _check_names("quota", scenario.quotas, quota_names, rules.name)
    _check_names("channel", scenario.channels, channel_names, rules.name)
    if switches.flux is not None:
        families["flux"]["enabled"] = switches.flux
    if switches.segment_mix is not None:
        families["flux"]["segment_mix"] = switches.segment_mix
    if scenario.method is not None:
        families["flux"]["method"] = scenario.method
    if scenario.segment_tolerance is not None:
        families["flux"]["segment_tolerance"] = scenario.segment_tolerance
    if scenario.shortlist_size is not None:
        families["shortlist"]["size"] = scenario.shortlist_size
    for channel in families["channels"]:
        if switches.channels is not None:
            channel["enabled"] = switches.channels
        if channel["name"] in scenario.channels:
            channel["enabled"] = scenario.channels[channel["name"]]
    for quota in families["quotas"]:
        if switches.quotas is not None:
            quota["enabled"] = switches.quotas
        change = scenario.quotas.get(quota["name"])
        if change is None:
            continue
        if change.level is not None:
            quota["at_least" if quota["at_least"] is not None else "at_most"] = change.level
        if change.enabled is not None:
            quota["enabled"] = change.enabled
        if change.hard is not None:
            quota["hard"] = change.hard
    data["weights"] = {**data["weights"], **scenario.weights}
    try:
        return ConstraintSet.model_validate(data)
    except ValidationError as exc:
        messages = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise FluxoptError(f"the scenario makes an invalid constraint set: {messages}") from exc


def measuring_rules(rules: ConstraintSet) -> ConstraintSet:
    """``rules`` with every quota switched on, those that were off made soft."""
    quotas = tuple(
        q if q.enabled else q.model_copy(update={"enabled": True, "hard": False})
        for q in rules.families.quotas
    )
    families = rules.families.model_copy(update={"quotas": quotas})
    return rules.model_copy(update={"families": families})


def apply_instance(instance: Instance, scenario: Scenario) -> Instance:
    """The instance with the scenario's table overrides (convention tolerances)."""
    if scenario.tolerance is None:
        return instance
    conventions = instance.conventions.assign(tolerance=float(scenario.tolerance))
    return instance.with_tables(conventions=conventions)


def scores_for(instance: Instance, grid: str | None) -> pd.Series | None:
    """Scores under ``grid`` (``None``: the instance's grid; empty: the wait-based score)."""
    from fluxopt.scoring import load_grid, score

    name = instance.grid_source if grid is None else grid
    if not name:
        return None
    loaded = load_grid(name, base=instance.folder)
    return score(loaded, instance.applicants).total


def _check_names(kind: str, given: dict[str, Any], known: list[str], set_name: str) -> None:
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise FluxoptError(
            f"unknown {kind} rule(s) {', '.join(map(repr, unknown))} in constraint set "
            f"{set_name!r}; its {kind} rules are: {', '.join(known) or '(none)'}"
        )


def instance_yaml(base: Path) -> dict[str, Any]:
    """The raw mapping of ``<base>/instance.yaml`` (empty when it cannot be read)."""
    try:
        raw = yaml.safe_load((base / "instance.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return raw if isinstance(raw, dict) else {}


def rule_names(scenario: Scenario, config: dict[str, Any], base: Path) -> dict[str, str]:
    """The constraint set and grid a scenario reads: its own, else the instance's.

    A file named by ``instance.yaml`` is read from the instance folder ``base``.
    """

    def of_instance(key: str, default: str) -> str:
        text = str(config.get(key) or default)
        return str(base / text) if looks_like_path(text) else text

    return {
        "constraints": scenario.constraints or of_instance("constraints", DEFAULT_CONSTRAINTS),
        "grid": of_instance("grid", "") if scenario.grid is None else scenario.grid,
    }


def rule_file_problems(base: Path, scenarios: Iterable[Scenario]) -> list[Problem]:
    """Every problem of the constraint sets and grids the scenarios read, each file once.

    A file that cannot be found is left to its scenario, which then fails alone; a file
    that is invalid (a refused expression, an unknown key) is reported here, with its
    name and the key of each problem.
    """
    from fluxopt.scoring import load_grid

    config = instance_yaml(base)
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for scenario in scenarios:
        for kind, name in rule_names(scenario, config, base).items():
            if not name or (kind, name) in seen:
                continue
            seen.add((kind, name))
            try:
                if kind == "constraints":
                    load_constraint_set(name)
                else:
                    load_grid(name, base=base)
            except InvalidInputError as exc:
                problems.extend(exc.problems)
            except FluxoptError:
                continue
    return problems


def check_rule_files(base: Path, scenarios: Iterable[Scenario]) -> None:
    """Raise one :class:`InvalidInputError` when a rule file of the scenarios is invalid."""
    problems = rule_file_problems(base, scenarios)
    if any(p.severity == "error" for p in problems):
        raise InvalidInputError("the rule files of the scenarios", problems)
