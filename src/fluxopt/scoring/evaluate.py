r"""Vectorised evaluation of a grid over the whole applicant table.

Each expression, checked and compiled once by the expression language of fluxopt
(:mod:`fluxopt.rules.expression`, never ``eval``), is evaluated once over the whole table,
column by column as pandas computes them; the points of every entry are then computed with
numpy on whole columns, never row by row:

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

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fluxopt.rules.expression import ExpressionError, parse_expression
from fluxopt.rules.operations import EvaluationError
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
from fluxopt.scoring.grid import Bracket, Grid, Group, Scheme

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
    expression that fails to evaluate or gives the wrong type, is raised at once as an
    ``InvalidInputError``. ``keep_raw`` also returns the points before group rules.
    """
    frame = _indexed(applicants)
    log = ProblemLog()
    check_grid(grid, log, set(frame.columns) | set(declared_columns()))
    frame = _complete(grid, frame, log)
    log.raise_if_errors(f"grid {grid.file}")
    values = _evaluate(grid, frame, log)
    log.raise_if_errors(f"grid {grid.file}")

    columns = list(grid.breakdown_columns)
    out = _Points.zeros(len(frame), columns, keep_raw)
    _fill(grid, values, out)
    in_transfer = _transfer_mask(grid, frame)
    if grid.transfer is not None:
        transfer = _Points.zeros(len(frame), list(grid.transfer.entry_names), keep_raw)
        _fill(grid.transfer, values, transfer)
        out.take_rows(transfer, in_transfer)
    np.add(out.counted, 0.0, out=out.counted)  # no negative zeros (a penalty × 0 refusals)
    index = frame.index

    def table(matrix: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(matrix, index=index, columns=columns, copy=False)

    return Scores(
        grid=grid,
        total=pd.Series(out.counted.sum(axis=1), index=index, name="score"),
        breakdown=table(out.counted),
        missing=table(out.missing),
        transfer=pd.Series(in_transfer, index=index, name="transfer"),
        raw=None if out.raw is None else table(out.raw),
    )


@dataclass
class _Points:
    """Column-major matrices (applicant × entry) the entries are written into."""

    columns: dict[str, int]
    counted: np.ndarray
    missing: np.ndarray
    raw: np.ndarray | None

    @classmethod
    def zeros(cls, rows: int, names: list[str], keep_raw: bool) -> _Points:
        shape = (rows, len(names))
        return cls(
            columns={name: position for position, name in enumerate(names)},
            counted=np.zeros(shape, order="F"),
            missing=np.zeros(shape, dtype=bool, order="F"),
            raw=np.zeros(shape, order="F") if keep_raw else None,
        )

    def put(self, name: str, points: np.ndarray, absent: np.ndarray) -> None:
        """Write one entry's points (before groups) and missing flags."""
        position = self.columns[name]
        self.counted[:, position] = points
        self.missing[:, position] = absent
        if self.raw is not None:
            self.raw[:, position] = points

    def take_rows(self, other: _Points, rows: np.ndarray) -> None:
        """On ``rows``, replace every column by ``other``'s (0 where it lacks the entry)."""
        for name, position in self.columns.items():
            source = other.columns.get(name)
            pairs = [(self.counted, other.counted), (self.missing, other.missing)]
            if self.raw is not None and other.raw is not None:
                pairs.append((self.raw, other.raw))
            for target, values in pairs:
                column = target[:, position]
                if source is None:
                    np.copyto(column, np.zeros((), dtype=column.dtype), where=rows)
                else:
                    np.copyto(column, values[:, source], where=rows)


_Values = dict[tuple[str, str], tuple[np.ndarray, np.ndarray]]


def _evaluate(grid: Grid, frame: pd.DataFrame, log: ProblemLog) -> _Values:
    """Each distinct expression once, as (values, missing) arrays of its kind."""
    values: _Values = {}
    count = len(frame)
    for entry in expressions(grid):
        if (entry.expression, entry.kind) in values:
            continue
        try:
            result = parse_expression(entry.expression).evaluate(frame)
        except (ExpressionError, EvaluationError) as exc:
            log.error(
                grid.file,
                f"expression {entry.expression!r} failed: {exc}",
                "check the column types (text, number, true/false) the expression combines",
                key=entry.key,
            )
            continue
        convert = _as_flag if entry.kind == "flag" else _as_number
        converted = convert(result, count, grid.file, entry.key, log)
        if converted is not None:
            values[(entry.expression, entry.kind)] = converted
    return values


def _fill(scheme: Scheme, values: _Values, out: _Points) -> None:
    """Write every entry of ``scheme`` into ``out``, then apply its group rules."""

    def flag(expression: str) -> tuple[np.ndarray, np.ndarray]:
        return values[(expression, "flag")]

    def number(expression: str) -> tuple[np.ndarray, np.ndarray]:
        return values[(expression, "number")]

    weights = scheme.ordered_weights()
    for criterion in scheme.ordered.active if scheme.ordered else ():
        met, absent = flag(criterion.expression)
        out.put(criterion.name, met * weights[criterion.name], absent)
    for item in scheme.active_criteria:
        met, absent = flag(item.expression)
        out.put(item.name, met * item.points, absent)
    for bracket in scheme.active_brackets:
        value, absent = number(bracket.expression)
        out.put(bracket.name, _band_points(bracket, value), absent)
    if scheme.wait is not None:
        wait = scheme.wait
        value, absent = number(wait.expression)
        months = np.clip(np.nan_to_num(value, nan=0.0), 0, None)
        if wait.whole_months:
            months = np.floor(months)
        points = wait.points_per_month * months
        out.put(wait.name, points if wait.cap is None else np.minimum(points, wait.cap), absent)
    refusal = scheme.scored_refusal
    if refusal is not None:
        value, absent = number(refusal.expression)
        points = refusal.points_per_refusal * np.clip(np.nan_to_num(value, nan=0.0), 0, None)
        floor = points if refusal.lowest is None else np.maximum(points, refusal.lowest)
        out.put(refusal.name, floor, absent)
    for group, members in scheme.group_members.items():
        _combine_group(scheme.groups[group], [out.counted[:, out.columns[m]] for m in members])


def _combine_group(spec: Group, columns: list[np.ndarray]) -> None:
    r"""Apply a group rule in place on its members' columns (grid order).

    ``highest``: the first member reaching the highest points keeps
    :math:`\min(c, \max_k p_k)`, the others 0. ``sum``: member :math:`k` keeps
    :math:`\min(c, S_k) - \min(c, S_{k-1})`, :math:`S_k` being the running sum.
    """
    cap = math.inf if spec.cap is None else spec.cap
    if spec.mode == "highest":
        best = columns[0].copy()
        winner = np.zeros(best.shape, dtype=np.int64)
        for position, column in enumerate(columns[1:], start=1):
            better = column > best
            np.copyto(best, column, where=better)
            winner[better] = position
        np.minimum(best, cap, out=best)
        for position, column in enumerate(columns):
            np.copyto(column, np.where(winner == position, best, 0.0))
    elif spec.cap is not None:
        running = np.zeros(columns[0].shape)
        kept = np.zeros(columns[0].shape)
        for column in columns:
            running += column
            now = np.minimum(running, cap)
            np.subtract(now, kept, out=column)
            kept = now


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
) -> tuple[np.ndarray, np.ndarray] | None:
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
    return None


def _as_number(
    result: pd.Series | object, count: int, file: str, key: str, log: ProblemLog
) -> tuple[np.ndarray, np.ndarray] | None:
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
    return None


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
        needed |= referenced_names(entry.expression)
    if grid.transfer is not None:
        needed.add("is_transfer")
    added: dict[str, pd.Series] = {}
    for name in sorted(needed - set(frame.columns)):
        if name in declared:
            column = empty_column(declared[name], len(frame))
            added[name] = column.set_axis(frame.index)
        elif name in DERIVED_COLUMNS:
            users = (e.key for e in expressions(grid) if name in referenced_names(e.expression))
            log.error(
                grid.file,
                f"column {name!r} is derived and the table does not have it",
                "score Instance.applicants, which derives it, or add the column",
                key=next(users),
            )
    return frame.assign(**added) if added else frame


def _transfer_mask(grid: Grid, frame: pd.DataFrame) -> np.ndarray:
    if grid.transfer is None:
        return np.zeros(len(frame), dtype=bool)
    return frame["is_transfer"].to_numpy(dtype=bool, na_value=False)
