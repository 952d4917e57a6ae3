r"""The OR-Tools CP-SAT backend: the model scaled to integers, then solved by CP-SAT.

CP-SAT accepts integer variables and integer coefficients only. The model's binaries
(``first``, ``orient``) are integers already; its continuous columns (slacks, quota helpers)
and its fractional coefficients and bounds are brought to integers by
:func:`scale_to_integers`:

1. **Columns.** Each continuous column is measured in steps of :math:`1/K_j`:
   :math:`x_j = y_j / K_j` with :math:`y_j` integer (integer columns keep :math:`K_j = 1`).
   The grid :math:`K_j` is chosen so that the column's optimum lies on it
   (:func:`column_scales`): with the integers fixed, a slack of a row whose coefficients
   and bounds are fractions with denominators :math:`q` takes a multiple of
   :math:`1/\mathrm{lcm}(q)`, and so do the quota helpers of fluxopt's models; where no such
   grid up to ``resolution`` (default :data:`RESOLUTION`) exists, :math:`K_j` is
   ``resolution``. Bounds are rounded inwards,
   :math:`y_j \in [\lceil K_j l_j \rceil, \lfloor K_j u_j \rfloor]`, so every
   integer point maps back inside the original bounds. Infinite bounds, which CP-SAT cannot
   take, are replaced by finite ones: first the bounds each row implies when the column is
   its only unbounded term; then, for the slacks left (unbounded columns that only relax
   rows), a cap :math:`\max_r (|L_r| + |U_r| + \sum_{k\ \mathrm{bounded}} |a_{rk}|
   \max(|l_k|, |u_k|)) / |a_{rj}|`: with a non-negative cost, some optimal solution never
   needs more.
2. **Rows.** Each coefficient :math:`a_{rj} / K_j` is read as a fraction :math:`p/q` (exact
   for decimals of up to seven digits, such as quota levels) and each row is multiplied by
   the least common multiple :math:`S_r` of its denominators, so that every coefficient is an
   integer. The activity of an integer point is then an integer, and the bounds are rounded
   inwards without losing any integer point:
   :math:`\lceil S_r L_r \rceil \le \sum_j S_r a_{rj} y_j / K_j \le \lfloor S_r U_r \rfloor`
   (a tolerance of :data:`ROUND_TOL` relative absorbs float noise such as 2.0000000001).
3. **Objective.** Costs become integers at the scale :math:`Q` (:attr:`IntegerModel.scale`),
   a power of ten up to :data:`MAX_OBJECTIVE_SCALE`, lowered until
   :math:`\sum_j |Q c_j / K_j| \max |y_j| \le 2^{53}` (the objective's activity stays exact in
   a double): :math:`\hat c_j = \mathrm{round}(Q c_j / K_j)`, with residue
   :math:`\rho_j = |Q c_j / K_j - \hat c_j| \le 1/2`.

**Error bounds.** For a solution :math:`y`, the CP-SAT objective divided by the scale,
:math:`\sum_j \hat c_j y_j / Q + c_0`, differs from the float objective :math:`c^\top x + c_0`
of :math:`x = y / K` by at most :math:`\sum_j \rho_j |y_j| / Q`
(:meth:`IntegerModel.rounding_error`, plus the float error of evaluating either side): at
most :math:`n_1 / (2Q)` with :math:`n_1` the binaries at one when the continuous costs are
multiples of :math:`1/Q` per grid step (the default weights are), about :math:`10^{-4}` on a
batch of 3,000 units. A continuous column off its grid costs at most :math:`|c_j| / K_j`
against the float optimum (a slack rounded up to the grid stays feasible). The bound
returned is CP-SAT's bound of the scaled model minus the largest rounding error and those
grid steps (:attr:`IntegerModel.bound_margin`), a bound of the float model; the objective
returned is the float objective of the solution.

CP-SAT runs with ``threads`` workers (one by default), ``max_time_in_seconds``,
``relative_gap_limit`` and ``random_seed`` taken from :class:`SolveOptions`; a warm start
becomes a solution hint.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from ortools.sat.python import cp_model

from fluxopt.model import LinearModel
from fluxopt.model.blocks import FloatArray
from fluxopt.schema.problems import FluxoptError
from fluxopt.solvers.base import (
    Capabilities,
    SolveOptions,
    Solver,
    SolveResult,
    Status,
    clip_integral,
    register,
)

IntArray = npt.NDArray[np.int64]

RESOLUTION = 1_000_000
"""Finest grid of a continuous column (steps per unit), used where no exact grid is found."""
MAX_DENOMINATOR = 10_000_000
"""Largest denominator sought for a coefficient (decimals of up to seven digits are exact)."""
MAX_OBJECTIVE_SCALE = 10**9
"""Largest objective scale :math:`Q` tried."""
EXACT_ACTIVITY = 2.0**53
"""Largest objective activity kept exact in a double."""
MAX_ROW_SCALE = 2**40
"""Largest row multiplier :math:`S_r` accepted."""
ROUND_TOL = 1e-9
"""Relative tolerance when rounding a scaled bound to an integer."""

_STATUS = {
    cp_model.OPTIMAL: Status.OPTIMAL,
    cp_model.FEASIBLE: Status.FEASIBLE,
    cp_model.INFEASIBLE: Status.INFEASIBLE,
    cp_model.MODEL_INVALID: Status.ERROR,
    cp_model.UNKNOWN: Status.TIME_LIMIT,
}


@dataclass(frozen=True)
class IntegerModel:
    """The model in integers: ``min sum(cost * y) / scale + offset`` under integer rows."""

    col_scale: IntArray
    """:math:`K_j`: 1 for integer columns, the grid of each continuous one."""
    lower: IntArray
    upper: IntArray
    matrix: sp.csr_matrix
    """Integer coefficients :math:`S_r a_{rj} / K_j` (int64)."""
    row_scale: IntArray
    """:math:`S_r` of each row."""
    row_lower: IntArray
    row_upper: IntArray
    cost: IntArray
    scale: int
    """:math:`Q`: the objective scale."""
    offset: float
    residue: FloatArray
    r""":math:`\rho_j`: rounding residue of each scaled cost."""
    grid_loss: float
    r""":math:`\sum_j |c_j| / K_j` over continuous columns off their grid."""
    approximated: int
    """Coefficients that are not fractions with a denominator up to MAX_DENOMINATOR."""

    def to_float(self, y: npt.ArrayLike) -> FloatArray:
        """The float solution :math:`x = y / K`."""
        return np.asarray(y, dtype=np.float64) / self.col_scale

    def objective(self, y: npt.ArrayLike) -> float:
        """The integer objective divided by the scale, plus the offset."""
        values = np.asarray(y, dtype=np.int64)
        return float(int(np.dot(self.cost, values)) / self.scale + self.offset)

    def rounding_error(self, y: npt.ArrayLike) -> float:
        """Upper bound of ``|objective(y) - float objective of to_float(y)|``."""
        return float(np.dot(self.residue, np.abs(np.asarray(y, dtype=np.float64))) / self.scale)

    @property
    def bound_margin(self) -> float:
        """What separates a bound of this model from a bound of the float model."""
        worst = np.maximum(np.abs(self.lower), np.abs(self.upper)).astype(np.float64)
        return self.grid_loss + float(np.dot(self.residue, worst) / self.scale)


def scale_to_integers(model: LinearModel, resolution: int = RESOLUTION) -> IntegerModel:
    """Scale a model to integer columns, coefficients, bounds and costs (module docstring)."""
    matrix = sp.csr_matrix(model.matrix, dtype=np.float64)
    matrix.sum_duplicates()
    matrix.eliminate_zeros()
    numerators, denominators, exact = _fractions(matrix.data)
    col_scale, on_grid = column_scales(model, matrix, resolution)
    lower_f, upper_f = finite_bounds(model, matrix)
    lower = _round_up(lower_f * col_scale)
    upper = _round_down(upper_f * col_scale)
    empty = lower > upper
    if empty.any():
        raise FluxoptError(
            f"{int(empty.sum())} column(s) have no integer value within their bounds; "
            "CP-SAT cannot take the model"
        )
    columns = matrix.indices.astype(np.int64)
    scale_of_col = col_scale[columns]
    common = np.gcd(np.abs(numerators), scale_of_col)
    numerators = numerators // common
    denominators = denominators * (scale_of_col // common)
    row_scale = _row_lcm(matrix.indptr, denominators)
    if (row_scale <= 0).any() or (row_scale > MAX_ROW_SCALE).any():
        raise FluxoptError(
            "a row's coefficients need a multiplier above 2^40 to become integers; "
            "CP-SAT cannot take the model"
        )
    rows = np.repeat(np.arange(model.num_rows), np.diff(matrix.indptr))
    coefficients = numerators * (row_scale[rows] // denominators)
    int_matrix = sp.csr_matrix(
        (coefficients, matrix.indices, matrix.indptr), shape=matrix.shape, dtype=np.int64
    )
    row_lower, row_upper = _row_bounds(model, int_matrix, row_scale, lower, upper)
    unit_cost = model.cost / col_scale
    reach = np.maximum(np.abs(lower), np.abs(upper)).astype(np.float64)
    activity = float(np.dot(np.abs(unit_cost), reach))
    scale = MAX_OBJECTIVE_SCALE
    while scale > 1 and activity * scale > EXACT_ACTIVITY:
        scale //= 10
    scaled = unit_cost * scale
    cost = np.round(scaled).astype(np.int64)
    off_grid = ~model.integer & ~on_grid
    return IntegerModel(
        col_scale=col_scale,
        lower=lower,
        upper=upper,
        matrix=int_matrix,
        row_scale=row_scale,
        row_lower=row_lower,
        row_upper=row_upper,
        cost=cost,
        scale=scale,
        offset=float(model.offset),
        residue=np.abs(scaled - cost),
        grid_loss=float(np.sum(np.abs(model.cost[off_grid]) / col_scale[off_grid])),
        approximated=int((~exact).sum()),
    )


def column_scales(
    model: LinearModel, matrix: sp.csr_matrix, resolution: int
) -> tuple[IntArray, npt.NDArray[np.bool_]]:
    r"""The grid :math:`K_j` of each column, and whether the column's optimum lies on it.

    Integer columns: 1. For a row, :math:`D_r` is the least common multiple of the
    denominators of its bounds and of its integer columns' coefficients. A *helper* (a
    continuous column in several rows) takes the multiple of :math:`D_r |p_{rj}|` over its
    rows (:math:`a_{rj} = p_{rj}/q_{rj}`); a *slack* (a continuous column in one row) takes
    :math:`D_r |p_{rj}|` with :math:`D_r` also counting the helpers' scaled coefficients.
    With the integer columns fixed, a slack then takes its cheapest value on its grid
    exactly, and so do the helpers of fluxopt's models (whole counted attributions,
    multiples of a quota level). Where a denominator is not found up to
    :data:`MAX_DENOMINATOR` or the multiple exceeds ``resolution``, the column takes the
    grid ``resolution`` and is reported off its grid (its step counts in the bound margin).
    """
    n_rows, n_cols = model.num_rows, model.num_cols
    rows = np.repeat(np.arange(n_rows), np.diff(matrix.indptr))
    cols = matrix.indices.astype(np.int64)
    num, den, exact = _fractions(matrix.data)
    integer_nz = model.integer[cols]
    row_den = np.ones(n_rows, dtype=np.int64)
    row_exact = np.ones(n_rows, dtype=bool)
    for bound in (model.row_lower, model.row_upper):
        finite = np.isfinite(bound)
        _, bound_den, bound_exact = _fractions(np.where(finite, bound, 0.0))
        row_den = np.lcm(row_den, bound_den)
        row_exact &= bound_exact
    row_den = np.lcm(row_den, _row_lcm(matrix.indptr, np.where(integer_nz, den, 1)))
    row_exact &= np.bincount(rows, weights=integer_nz & ~exact, minlength=n_rows) == 0
    row_exact &= (row_den > 0) & (row_den <= resolution)
    count = np.bincount(cols, minlength=n_cols)
    helper = ~model.integer & (count > 1)
    scale = np.ones(n_cols, dtype=np.int64)
    on_grid = model.integer.copy()
    for kind in (helper, ~model.integer & (count == 1)):
        nz = kind[cols]
        if not nz.any():
            continue
        if kind is not helper:
            scaled_den = den * (scale[cols] // np.gcd(np.abs(num), scale[cols]))
            extra = np.where(helper[cols], scaled_den, 1)
            row_den_here = np.lcm(row_den, _row_lcm(matrix.indptr, extra))
        else:
            row_den_here = row_den
        step = row_den_here[rows] * np.abs(num)
        good = nz & row_exact[rows] & exact & (step > 0) & (step <= resolution)
        grid = np.ones(n_cols, dtype=np.int64)
        np.lcm.at(grid, cols[nz], np.where(good[nz], step[nz], 1))
        bad = np.bincount(cols[nz], weights=~good[nz], minlength=n_cols) > 0
        bad |= grid > resolution
        scale[kind] = np.where(bad[kind], resolution, grid[kind])
        on_grid[kind] = ~bad[kind]
    return scale, on_grid


def finite_bounds(model: LinearModel, matrix: sp.csr_matrix) -> tuple[FloatArray, FloatArray]:
    """Column bounds with every infinite one replaced (implied by a row, else a slack cap)."""
    lower, upper = model.col_lower.copy(), model.col_upper.copy()
    rows = np.repeat(np.arange(model.num_rows), np.diff(matrix.indptr))
    cols = matrix.indices.astype(np.int64)
    coef = matrix.data
    for _ in range(2):
        _implied_bounds(model, rows, cols, coef, lower, upper)
    unbounded = ~np.isfinite(lower) | ~np.isfinite(upper)
    if unbounded.any():
        reach = np.where(
            np.isfinite(lower) & np.isfinite(upper), np.maximum(np.abs(lower), np.abs(upper)), 0.0
        )
        size = np.bincount(rows, weights=np.abs(coef) * reach[cols], minlength=model.num_rows)
        size += np.where(np.isfinite(model.row_lower), np.abs(model.row_lower), 0.0)
        size += np.where(np.isfinite(model.row_upper), np.abs(model.row_upper), 0.0)
        cap = np.zeros(model.num_cols)
        np.maximum.at(cap, cols, size[rows] / np.abs(coef))
        cap += 1.0
        lower = np.where(np.isfinite(lower), lower, np.minimum(upper, 0.0) - cap)
        upper = np.where(np.isfinite(upper), upper, np.maximum(lower, 0.0) + cap)
    return lower, upper


def _implied_bounds(
    model: LinearModel,
    rows: IntArray,
    cols: IntArray,
    coef: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
) -> None:
    r"""Fill infinite column bounds implied by rows where the column is the only unbounded term.

    For a row :math:`L \le a x_j + \text{rest} \le U` whose rest is bounded,
    :math:`a x_j \le U - \min \text{rest}` and :math:`a x_j \ge L - \max \text{rest}`.
    """
    n = model.num_rows
    low_term = np.where(coef > 0, coef * lower[cols], coef * upper[cols])
    high_term = np.where(coef > 0, coef * upper[cols], coef * lower[cols])
    low_inf = ~np.isfinite(low_term)
    high_inf = ~np.isfinite(high_term)
    low_sum = np.bincount(rows, weights=np.where(low_inf, 0.0, low_term), minlength=n)
    high_sum = np.bincount(rows, weights=np.where(high_inf, 0.0, high_term), minlength=n)
    low_count = np.bincount(rows, weights=low_inf, minlength=n)
    high_count = np.bincount(rows, weights=high_inf, minlength=n)
    rest_low = low_sum[rows] - np.where(low_inf, 0.0, low_term)
    rest_high = high_sum[rows] - np.where(high_inf, 0.0, high_term)
    with np.errstate(invalid="ignore"):
        # a x <= U - min(rest): an upper bound of x when a > 0, a lower bound when a < 0
        below = (model.row_upper[rows] - rest_low) / coef
        # a x >= L - max(rest): a lower bound of x when a > 0, an upper bound when a < 0
        above = (model.row_lower[rows] - rest_high) / coef
    below_ok = ((low_count[rows] - low_inf) == 0) & np.isfinite(below)
    above_ok = ((high_count[rows] - high_inf) == 0) & np.isfinite(above)
    positive = coef > 0
    upper_from = [(below, below_ok & positive), (above, above_ok & ~positive)]
    lower_from = [(below, below_ok & ~positive), (above, above_ok & positive)]
    new_upper = np.full(model.num_cols, np.inf)
    new_lower = np.full(model.num_cols, -np.inf)
    for bound, sel in upper_from:
        np.minimum.at(new_upper, cols[sel], bound[sel])
    for bound, sel in lower_from:
        np.maximum.at(new_lower, cols[sel], bound[sel])
    upper[:] = np.where(np.isfinite(upper), upper, new_upper)
    lower[:] = np.where(np.isfinite(lower), lower, new_lower)


def _fractions(values: FloatArray) -> tuple[IntArray, IntArray, npt.NDArray[np.bool_]]:
    """Numerator, denominator and exactness of each value (one look per distinct value).

    A value is exact when a fraction with a denominator up to :data:`MAX_DENOMINATOR`
    equals it within a relative 1e-12; otherwise the nearest such fraction stands for it.
    """
    unique, inverse = np.unique(values, return_inverse=True)
    num = np.zeros(len(unique), dtype=np.int64)
    den = np.ones(len(unique), dtype=np.int64)
    exact = np.ones(len(unique), dtype=bool)
    for i, value in enumerate(unique.tolist()):
        fraction = Fraction(value).limit_denominator(MAX_DENOMINATOR)
        exact[i] = abs(float(fraction) - value) <= 1e-12 * max(1.0, abs(value))
        num[i], den[i] = fraction.numerator, fraction.denominator
    return num[inverse], den[inverse], exact[inverse]


def _row_lcm(indptr: npt.NDArray[np.int32], denominators: IntArray) -> IntArray:
    """Least common multiple of the values of each row (1 for an empty row)."""
    n = len(indptr) - 1
    out = np.ones(n, dtype=np.int64)
    if len(denominators) == 0:
        return out
    starts = np.asarray(indptr[:-1], dtype=np.int64)
    filled = np.diff(indptr) > 0
    reduced = np.lcm.reduceat(denominators, np.minimum(starts, len(denominators) - 1))
    out[filled] = reduced[filled]
    return out


def _row_bounds(
    model: LinearModel,
    matrix: sp.csr_matrix,
    row_scale: IntArray,
    lower: IntArray,
    upper: IntArray,
) -> tuple[IntArray, IntArray]:
    """Integer row bounds: scaled, rounded inwards, clipped to the reachable activity."""
    positive = matrix.maximum(0)
    negative = matrix.minimum(0)
    low_act = positive @ lower.astype(np.float64) + negative @ upper.astype(np.float64)
    high_act = positive @ upper.astype(np.float64) + negative @ lower.astype(np.float64)
    scaled_lower = model.row_lower * row_scale
    scaled_upper = model.row_upper * row_scale
    row_lower = np.where(
        np.isfinite(scaled_lower), np.maximum(_round_up(scaled_lower), low_act), low_act
    )
    row_upper = np.where(
        np.isfinite(scaled_upper), np.minimum(_round_down(scaled_upper), high_act), high_act
    )
    return row_lower.astype(np.int64), row_upper.astype(np.int64)


def _round_up(values: FloatArray) -> IntArray:
    tol = ROUND_TOL * np.maximum(1.0, np.abs(values))
    with np.errstate(invalid="ignore"):
        return np.ceil(np.where(np.isfinite(values), values - tol, 0.0)).astype(np.int64)


def _round_down(values: FloatArray) -> IntArray:
    tol = ROUND_TOL * np.maximum(1.0, np.abs(values))
    with np.errstate(invalid="ignore"):
        return np.floor(np.where(np.isfinite(values), values + tol, 0.0)).astype(np.int64)


def to_cp_model(scaled: IntegerModel, hint: FloatArray | None = None) -> cp_model.CpModel:
    """The CP-SAT model of an integer model (built on its proto, one pass)."""
    cp = cp_model.CpModel()
    proto = cp.proto
    for low, high in zip(scaled.lower.tolist(), scaled.upper.tolist(), strict=True):
        proto.variables.add().domain.extend((low, high))
    matrix = scaled.matrix
    indptr = matrix.indptr.tolist()
    indices = matrix.indices.tolist()
    data = matrix.data.tolist()
    bounds = zip(scaled.row_lower.tolist(), scaled.row_upper.tolist(), strict=True)
    for r, (low, high) in enumerate(bounds):
        start, stop = indptr[r], indptr[r + 1]
        linear = proto.constraints.add().linear
        linear.vars.extend(indices[start:stop])
        linear.coeffs.extend(data[start:stop])
        linear.domain.extend((low, high))
    used = np.flatnonzero(scaled.cost)
    objective = proto.objective
    objective.vars.extend(used.tolist())
    objective.coeffs.extend(scaled.cost[used].tolist())
    objective.scaling_factor = 1.0 / scaled.scale
    objective.offset = scaled.offset * scaled.scale
    if hint is not None:
        values = np.clip(
            np.round(np.asarray(hint, dtype=np.float64) * scaled.col_scale),
            scaled.lower,
            scaled.upper,
        ).astype(np.int64)
        proto.solution_hint.vars.extend(range(len(values)))
        proto.solution_hint.values.extend(values.tolist())
    return cp


@register
class CpSatSolver(Solver):
    """OR-Tools CP-SAT on the model scaled to integers (see the module docstring)."""

    name: ClassVar[str] = "cpsat"
    capabilities: ClassVar[Capabilities] = Capabilities(warm_start=True)

    def __init__(self, resolution: int = RESOLUTION) -> None:
        self.resolution = resolution

    def solve(self, model: LinearModel, options: SolveOptions) -> SolveResult:
        """Scale, solve with CP-SAT, map the status and descale the solution."""
        started = time.perf_counter()
        scaled = scale_to_integers(model, self.resolution)
        empty = int((scaled.row_lower > scaled.row_upper).sum())
        if empty:
            return SolveResult(
                status=Status.INFEASIBLE,
                x=None,
                objective=None,
                bound=None,
                runtime=time.perf_counter() - started,
                solver=self.name,
                message=f"{empty} row(s) cannot be met by any integer point of their columns",
            )
        cp = to_cp_model(scaled, options.warm_start)
        prepared = time.perf_counter()
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = max(int(options.threads), 1)
        params.max_time_in_seconds = float(options.time_limit)
        params.relative_gap_limit = float(options.mip_gap)
        params.random_seed = int(options.seed)
        params.log_search_progress = bool(options.verbose)
        raw = solver.solve(cp)
        finished = time.perf_counter()
        status = _STATUS.get(raw, Status.ERROR)
        x = objective = bound = None
        message = solver.status_name(raw)
        if status.has_solution:
            y = np.asarray(solver.response_proto.solution, dtype=np.int64)
            x = clip_integral(model, scaled.to_float(y))
            objective = model.objective(x)
            raw_bound = float(solver.best_objective_bound)
            if math.isfinite(raw_bound):
                bound = min(raw_bound - scaled.bound_margin, objective)
            message += (
                f"; scale {scaled.scale}, resolution {self.resolution}, "
                f"rounding error <= {scaled.rounding_error(y):.3g}"
            )
        elif raw == cp_model.MODEL_INVALID:
            message += f": {cp.validate()}"
        return SolveResult(
            status=status,
            x=x,
            objective=objective,
            bound=bound,
            runtime=finished - started,
            solver=self.name,
            message=message,
            nodes=int(solver.num_branches),
            phases={"scale": prepared - started, "cpsat": finished - prepared},
        )
