r"""Vectorised evaluation of a grid over the whole applicant table.

Each expression is evaluated once over the whole table with :meth:`pandas.DataFrame.eval`
(python engine: the same results with or without numexpr); the points of every entry are
then computed with numpy on whole columns, never row by row:

- ordered criterion :math:`i`: :math:`w_i \cdot [\text{met}]` (weights from
  :meth:`~fluxopt.scoring.grid.Scheme.ordered_weights`);
- criterion: :math:`p \cdot [\text{met}]`;
- bracket: the points of the band :math:`[\min, \max)` holding the value, 0 outside;
- wait: :math:`\min(\text{cap}, p \cdot \lfloor m \rfloor)` (or :math:`m` unrounded);
- refusal: :math:`\max(\text{lowest}, p \cdot r)`;
- groups: in a ``highest`` group the first member reaching the highest points keeps
  :math:`\min(\text{cap}, \max_k p_k)` and the others count 0; in a ``sum`` group the
  members in grid order keep what fits under the cap,
  :math:`c_k = \min(\text{cap}, S_k) - \min(\text{cap}, S_{k-1})` with :math:`S_k` the
  running sum, so the counted points always add up to the group's value.

A missing value (empty cell, 0/0) makes the entry score 0 and is flagged in
:attr:`Scores.missing`. With a transfer scheme, applicants with ``is_transfer`` take its
points and the others those of the main scheme. The total is the row sum of the breakdown;
scores are deterministic and ties are kept (the optimiser breaks them later).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from fluxopt.schema.coerce import empty_column
from fluxopt.schema.declaration import schema
from fluxopt.schema.problems import FluxoptError, ProblemLog
from fluxopt.scoring.check import (
    DERIVED_COLUMNS,
    check_grid,
    declared_columns,
    expressions,
    referenced_names,
)
from fluxopt.scoring.grid import Bracket, Grid, Scheme

KEY = "applicant_id"


@dataclass(frozen=True)
class Scores:
    """Scores of every applicant under one grid.

    ``total``: the score (float, index ``applicant_id``); ``breakdown``: the points each
    entry contributes (one column per entry, rows add up to ``total``); ``missing``: where
    an entry scored 0 because its value was missing; ``transfer``: whether the transfer
    scheme scored the applicant; ``raw``: points before groups combine them (only when
    asked for, see :func:`score`).
    """

    grid: Grid
    total: pd.Series
    breakdown: pd.DataFrame
    missing: pd.DataFrame
    transfer: pd.Series
    raw: pd.DataFrame | None = None

    def table(self) -> pd.DataFrame:
        """Score and breakdown side by side, one row per applicant."""
        return pd.concat([self.total, self.breakdown], axis=1)


def score(grid: Grid, applicants: pd.DataFrame, keep_raw: bool = False) -> Scores:
    """Score every applicant of ``applicants`` under ``grid``, in one vectorised pass.

    ``applicants`` has an ``applicant_id`` column (or index) and the columns the grid's
    expressions use: declared columns absent from it take their declared default (empty
    when there is none), derived columns must be present (``Instance.applicants`` has them).
    The grid is checked against the table's columns first; every problem, including an
    expression that fails to evaluate, is raised at once as an ``InvalidInputError``.
    """
    frame = _indexed(applicants)
    log = ProblemLog()
    check_grid(grid, log, set(frame.columns) | set(declared_columns()))
    frame = _complete(grid, frame, log)
    log.raise_if_errors(f"grid {grid.file}")

    values: dict[str, pd.Series | object] = {}
    for entry in expressions(grid):
        if entry.expression in values:
            continue
        try:
            values[entry.expression] = frame.eval(entry.expression, engine="python")
        except Exception as exc:
            log.error(
                grid.file,
                f"expression {entry.expression!r} failed: {type(exc).__name__}: {exc}",
                "check the column types (text, number, true/false) the expression combines",
                key=entry.key,
            )
    log.raise_if_errors(f"grid {grid.file}")

    count = len(frame)
    parts = {
        label: _scheme_points(grid.file, label, scheme, values, count, log)
        for label, scheme in grid.schemes().items()
    }
    log.raise_if_errors(f"grid {grid.file}")

    columns = list(grid.breakdown_columns)
    in_transfer = _transfer_mask(grid, frame)
    counted = np.zeros((count, len(columns)), order="F")
    raw = np.zeros((count, len(columns)), order="F") if keep_raw else None
    missing = np.zeros((count, len(columns)), dtype=bool, order="F")
    for position, name in enumerate(columns):
        for label, points in parts.items():
            if name not in points.counted:
                continue
            rows = in_transfer if label == "transfer" else ~in_transfer
            counted[rows, position] = points.counted[name][rows]
            missing[rows, position] = points.missing[name][rows]
            if raw is not None:
                raw[rows, position] = points.raw[name][rows]
    np.add(counted, 0.0, out=counted)  # no negative zeros (a penalty times zero refusals)
    index = frame.index
    breakdown = pd.DataFrame(counted, index=index, columns=columns)
    total = pd.Series(counted.sum(axis=1), index=index, name="score")
    return Scores(
        grid=grid,
        total=total,
        breakdown=breakdown,
        missing=pd.DataFrame(missing, index=index, columns=columns),
        transfer=pd.Series(in_transfer, index=index, name="transfer"),
        raw=None if raw is None else pd.DataFrame(raw, index=index, columns=columns),
    )


@dataclass(frozen=True)
class _SchemePoints:
    raw: dict[str, np.ndarray]
    counted: dict[str, np.ndarray]
    missing: dict[str, np.ndarray]


def _scheme_points(
    file: str,
    label: str,
    scheme: Scheme,
    values: dict[str, pd.Series | object],
    count: int,
    log: ProblemLog,
) -> _SchemePoints:
    """Raw points, counted points and missing flags of every entry of one scheme."""
    prefix = "" if label == "main" else f"{label}."
    raw: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray] = {}

    def flag(name: str, expression: str) -> np.ndarray:
        met, absent = _as_flag(values[expression], count, file, prefix + name, log)
        missing[name] = absent
        return met

    def number(name: str, expression: str) -> np.ndarray:
        value, absent = _as_number(values[expression], count, file, prefix + name, log)
        missing[name] = absent
        return value

    for name, weight in scheme.ordered_weights().items():
        assert scheme.ordered is not None
        criterion = next(c for c in scheme.ordered.active if c.name == name)
        raw[name] = flag(name, criterion.expression) * weight
    for item in scheme.active_criteria:
        raw[item.name] = flag(item.name, item.expression) * item.points
    for bracket in scheme.active_brackets:
        raw[bracket.name] = _band_points(bracket, number(bracket.name, bracket.expression))
    if scheme.wait is not None:
        wait = scheme.wait
        months = np.clip(np.nan_to_num(number(wait.name, wait.expression), nan=0.0), 0, None)
        if wait.whole_months:
            months = np.floor(months)
        points = wait.points_per_month * months
        raw[wait.name] = points if wait.cap is None else np.minimum(points, wait.cap)
    if scheme.scored_refusal is not None:
        refusal = scheme.scored_refusal
        refused = np.nan_to_num(number(refusal.name, refusal.expression), nan=0.0)
        points = refusal.points_per_refusal * np.clip(refused, 0, None)
        raw[refusal.name] = points if refusal.lowest is None else np.maximum(points, refusal.lowest)
    return _SchemePoints(raw=raw, counted=_combine_groups(scheme, raw), missing=missing)


def _combine_groups(scheme: Scheme, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Counted points: raw points with each group's rule (highest or sum, then cap)."""
    counted = dict(raw)
    for group, names in scheme.group_members.items():
        spec = scheme.groups[group]
        matrix = np.column_stack([raw[name] for name in names])
        if spec.mode == "highest":
            rows = np.arange(matrix.shape[0])
            winner = np.argmax(matrix, axis=1)
            best = matrix[rows, winner]
            if spec.cap is not None:
                best = np.minimum(best, spec.cap)
            result = np.zeros_like(matrix)
            result[rows, winner] = best
        elif spec.cap is None:
            result = matrix
        else:
            running = np.minimum(np.cumsum(matrix, axis=1), spec.cap)
            result = np.diff(running, axis=1, prepend=0.0)
        for position, name in enumerate(names):
            counted[name] = result[:, position]
    return counted


def _band_points(bracket: Bracket, value: np.ndarray) -> np.ndarray:
    """Points of the band holding each value; 0 outside every band or when missing."""
    conditions = []
    for band in bracket.bands:
        inside = np.ones(value.shape, dtype=bool)
        if band.min is not None:
            inside &= value >= band.min
        if band.max is not None:
            inside &= value < band.max
        conditions.append(inside)
    choices = [np.full(value.shape, band.points) for band in bracket.bands]
    with np.errstate(invalid="ignore"):
        return np.select(conditions, choices, default=0.0)


def _as_flag(
    result: pd.Series | object, count: int, file: str, key: str, log: ProblemLog
) -> tuple[np.ndarray, np.ndarray]:
    """A true/false result as (met, missing) arrays; record a problem for other types."""
    if isinstance(result, bool | np.bool_):
        return np.full(count, bool(result)), np.zeros(count, dtype=bool)
    if isinstance(result, pd.Series) and pd.api.types.is_bool_dtype(result.dtype):
        absent = result.isna().to_numpy()
        met = result.to_numpy(dtype=bool, na_value=False)
        return met, absent
    shown = result.dtype if isinstance(result, pd.Series) else type(result).__name__
    log.error(
        file,
        f"expression gives {shown} values, not true/false",
        "compare to get true/false (e.g. `refusals > 0`), or use a bracket for numbers",
        key=key,
    )
    return np.zeros(count, dtype=bool), np.zeros(count, dtype=bool)


def _as_number(
    result: pd.Series | object, count: int, file: str, key: str, log: ProblemLog
) -> tuple[np.ndarray, np.ndarray]:
    """A numeric result as (value with NaN, missing) arrays; record a problem otherwise."""
    if isinstance(result, int | float | np.integer | np.floating) and not isinstance(
        result, bool | np.bool_
    ):
        value = np.full(count, float(result))
        return value, np.isnan(value)
    if (
        isinstance(result, pd.Series)
        and pd.api.types.is_numeric_dtype(result.dtype)
        and not pd.api.types.is_bool_dtype(result.dtype)
    ):
        value = result.to_numpy(dtype="float64", na_value=np.nan)
        return value, np.isnan(value)
    shown = result.dtype if isinstance(result, pd.Series) else type(result).__name__
    log.error(
        file,
        f"expression gives {shown} values, not numbers",
        "a bracket, wait or refusal entry needs a numeric expression such as "
        "`housing_cost_now * 12 / annual_income`",
        key=key,
    )
    return np.zeros(count), np.zeros(count, dtype=bool)


def _indexed(applicants: pd.DataFrame) -> pd.DataFrame:
    """The applicants indexed by ``applicant_id``."""
    if KEY in applicants.columns:
        return applicants.set_index(KEY)
    if applicants.index.name == KEY:
        return applicants
    raise FluxoptError("the applicants table has no applicant_id column to index the scores by")


def _complete(grid: Grid, frame: pd.DataFrame, log: ProblemLog) -> pd.DataFrame:
    """Add the declared columns the grid needs but the table lacks; report derived ones."""
    declared = schema()["applicants"].columns
    needed: set[str] = set()
    for entry in expressions(grid):
        try:
            needed |= referenced_names(entry.expression)
        except SyntaxError:
            continue
    if grid.transfer is not None:
        needed.add("is_transfer")
    added: dict[str, pd.Series] = {}
    for name in sorted(needed - set(frame.columns)):
        if name in declared:
            column = empty_column(declared[name], len(frame))
            added[name] = column.set_axis(frame.index)
        elif name in DERIVED_COLUMNS:
            log.error(
                grid.file,
                f"column {name!r} is derived and the table does not have it",
                "score Instance.applicants, which derives it, or add the column",
                key=next(e.key for e in expressions(grid) if name in _names(e.expression)),
            )
    return frame.assign(**added) if added else frame


def _names(expression: str) -> set[str]:
    try:
        return referenced_names(expression)
    except SyntaxError:
        return set()


def _transfer_mask(grid: Grid, frame: pd.DataFrame) -> np.ndarray:
    if grid.transfer is None:
        return np.zeros(len(frame), dtype=bool)
    return frame["is_transfer"].to_numpy(dtype=bool, na_value=False)
