"""Find and read grid files, reporting every problem with its location.

A grid is named either by a path to a YAML file or by a bare name, which resolves, in
order, to ``<base>/<name>[.yaml]`` (``base`` being, e.g., the instance folder) and then to
``models/grids/<name>.yaml`` of the repository, the single home of the shipped grids.
Reading collects the YAML syntax error, every schema error (unknown key, wrong type, bad
band, ...) located by entry name and field, and every problem :func:`check_grid` finds,
then raises one :class:`~fluxopt.schema.problems.InvalidInputError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from fluxopt.schema.problems import FluxoptError, ProblemLog
from fluxopt.scoring.check import check_grid
from fluxopt.scoring.grid import (
    Band,
    Bracket,
    Criterion,
    Grid,
    Group,
    Ordered,
    OrderedCriterion,
    Refusal,
    Scheme,
    Wait,
)

GRIDS_DIR = Path(__file__).resolve().parents[3] / "models" / "grids"
"""The shipped grids: ``models/grids`` of the repository (editable install)."""

GRID_SUFFIXES = (".yaml", ".yml")


def available_grids() -> list[str]:
    """Names of the shipped grids."""
    if not GRIDS_DIR.is_dir():
        return []
    return sorted(p.stem for p in GRIDS_DIR.iterdir() if p.suffix in GRID_SUFFIXES)


def resolve_grid(name_or_path: str | Path, base: Path | None = None) -> Path:
    """The file a grid name or path stands for; raise a short error when there is none."""
    given = Path(name_or_path)
    candidates = [given]
    if base is not None:
        candidates.append(base / given)
    if given.suffix not in GRID_SUFFIXES:
        candidates += [c.with_name(c.name + ".yaml") for c in list(candidates)]
    if len(given.parts) == 1:
        stem = given.stem if given.suffix in GRID_SUFFIXES else given.name
        candidates.append(GRIDS_DIR / f"{stem}.yaml")
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    known = available_grids()
    close = difflib.get_close_matches(given.stem, known, n=1)
    suggestion = f" Did you mean {close[0]!r}?" if close else ""
    raise FluxoptError(
        f"no grid {str(name_or_path)!r}: give a path to a YAML file or one of "
        f"{', '.join(known) or '(none shipped)'}.{suggestion}"
    )


def load_grid(
    name_or_path: str | Path, base: Path | None = None, columns: Collection[str] | None = None
) -> Grid:
    """Read, validate and check a grid; raise once with every problem found.

    ``columns`` are the names expressions may use (default: the declared and derived
    applicant columns); pass the scored table's columns to allow its extra ones.
    """
    path = resolve_grid(name_or_path, base)
    log = ProblemLog()
    grid = parse_grid(path.read_text(encoding="utf-8"), path.name, log)
    if grid is not None:
        check_grid(grid, log, columns)
    log.raise_if_errors(f"grid {path.name}")
    assert grid is not None
    return grid


def parse_grid(text: str, file: str, log: ProblemLog) -> Grid | None:
    """Parse grid YAML text into a :class:`Grid`; record problems and return None on failure."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        log.error(
            file,
            f"is not valid YAML{where}: {getattr(exc, 'problem', exc)}",
            "fix the YAML syntax (indentation, colons, quotes)",
        )
        return None
    if not isinstance(raw, dict):
        log.error(
            file,
            "must be a mapping with at least a name and some criteria",
            "see the header of any grid in models/grids",
        )
        return None
    try:
        grid = Grid.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            key, field = locate(raw, err["loc"])
            log.error(file, _message(err, field), _hint(err), key=key)
        return None
    grid._file = file
    return grid


SINGLE_ENTRIES = {"wait": "wait", "refusal": "refusals", "ordered": "ordered"}
"""Keys holding one entry, and the entry's name when the YAML gives none."""


def locate(raw: Any, loc: tuple[int | str, ...]) -> tuple[str | None, str]:
    """The entry name and field a pydantic error location points at.

    Walking ``loc`` through the raw YAML data, each list item that is a mapping with a
    ``name`` names the entry, as do the single entries (wait, refusal, ordered) and the
    groups; the key is ``transfer.<name>`` inside the transfer scheme.
    """
    node, name, field_parts = raw, None, []
    for part in loc:
        field_parts.append(str(part))
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
            if part in SINGLE_ENTRIES and isinstance(node, dict):
                given = node.get("name")
                name = given if isinstance(given, str) else SINGLE_ENTRIES[part]
                field_parts = []
            elif name is None and field_parts[-2:-1] == ["groups"]:
                name, field_parts = part, []
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
            if isinstance(node, dict) and isinstance(node.get("name"), str):
                name, field_parts = node["name"], []
        else:
            node = None
    if name is not None and loc and loc[0] == "transfer":
        name = f"transfer.{name}"
    where = ".".join(field_parts) if name is not None else ".".join(str(p) for p in loc)
    return name, where


def _message(err: Any, field: str) -> str:
    where = f"{field}: " if field else ""
    return f"{where}{err['msg']}"


def _hint(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        bad = str(err["loc"][-1])
        allowed = sorted(_model_at(err["loc"][:-1]).model_fields)
        close = difflib.get_close_matches(bad, allowed, n=1)
        fix = f"did you mean {close[0]!r}?" if close else "remove or rename it"
        return f"{fix} (allowed here: {', '.join(allowed)})"
    if err["type"] == "missing":
        return f"add the key {err['loc'][-1]!r}"
    return "see the grid reference (fluxopt.scoring.grid) or a shipped grid's header"


_CHILDREN: dict[tuple[type[BaseModel], str], type[BaseModel]] = {
    (Grid, "transfer"): Scheme,
    (Grid, "ordered"): Ordered,
    (Scheme, "ordered"): Ordered,
    (Ordered, "criteria"): OrderedCriterion,
    (Grid, "criteria"): Criterion,
    (Scheme, "criteria"): Criterion,
    (Grid, "brackets"): Bracket,
    (Scheme, "brackets"): Bracket,
    (Bracket, "bands"): Band,
    (Grid, "wait"): Wait,
    (Scheme, "wait"): Wait,
    (Grid, "refusal"): Refusal,
    (Scheme, "refusal"): Refusal,
}


def _model_at(loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The grid model a pydantic location (without its last part) points into."""
    model: type[BaseModel] = Grid
    parts = list(loc)
    while parts:
        part = parts.pop(0)
        if isinstance(part, int):
            continue
        if part == "groups" and model in (Grid, Scheme):
            if parts:
                parts.pop(0)
                model = Group
            continue
        model = _CHILDREN.get((model, part), model)
    return model
