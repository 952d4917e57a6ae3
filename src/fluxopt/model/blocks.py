r"""Named blocks of columns and rows, assembled into one sparse linear model.

Each constraint family registers its variables as a :class:`ColumnBlock` and its rows as a
:class:`RowBlock` under a stable name (``"quota:lec-q1-outside-qpv"``), with a label table
that maps every position back to domain ids. Rows arrive as coordinate triplets (local row,
global column, coefficient) built with numpy in one pass per family; :meth:`ModelBuilder.build`
concatenates them into a single CSR matrix. Inside the model everything is positional for
speed; everything that leaves it (decisions, explanations, errors) goes through the labels.

The model is a minimisation:

.. math::  \min c^\top x + c_0 \quad s.t. \quad r^L \le A x \le r^U,\; l \le x \le u,\;
           x_j \in \mathbb{Z} \text{ for integer columns}.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd
import scipy.sparse as sp

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
INF = np.inf


@dataclass(frozen=True)
class ColumnBlock:
    """A named range of columns ``[start, stop)`` with one label row per column."""

    name: str
    start: int
    stop: int
    labels: pd.DataFrame
    integer: bool

    @property
    def size(self) -> int:
        """Number of columns in the block."""
        return self.stop - self.start

    def index(self, local: npt.ArrayLike) -> IntArray:
        """Global column positions of local positions."""
        return np.asarray(local, dtype=np.int64) + self.start

    @property
    def positions(self) -> IntArray:
        """Global positions of every column of the block."""
        return np.arange(self.start, self.stop, dtype=np.int64)


@dataclass(frozen=True)
class RowBlock:
    """A named range of rows ``[start, stop)`` with one label row per row."""

    name: str
    start: int
    stop: int
    labels: pd.DataFrame
    family: str

    @property
    def size(self) -> int:
        """Number of rows in the block."""
        return self.stop - self.start


@dataclass
class LinearModel:
    """A built model: arrays ready for a solver, and the named blocks to read them back."""

    cost: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    integer: npt.NDArray[np.bool_]
    matrix: sp.csr_matrix
    row_lower: FloatArray
    row_upper: FloatArray
    columns: dict[str, ColumnBlock]
    rows: dict[str, RowBlock]
    offset: float = 0.0
    name: str = "fluxopt"

    @property
    def num_cols(self) -> int:
        """Number of columns (variables)."""
        return len(self.cost)

    @property
    def num_rows(self) -> int:
        """Number of rows (constraints)."""
        return len(self.row_lower)

    @property
    def num_nonzeros(self) -> int:
        """Number of non-zero coefficients of the constraint matrix."""
        return int(self.matrix.nnz)

    def objective(self, x: FloatArray) -> float:
        """Objective value of a column vector."""
        return float(self.cost @ x + self.offset)

    def values(self, x: FloatArray, block: str) -> FloatArray:
        """The slice of ``x`` that belongs to a column block."""
        spec = self.columns[block]
        return x[spec.start : spec.stop]

    def row_activity(self, x: FloatArray, block: str) -> FloatArray:
        """Row activities ``A x`` of a row block."""
        spec = self.rows[block]
        return np.asarray(self.matrix[spec.start : spec.stop] @ x, dtype=np.float64)

    def with_bounds(
        self, col_lower: FloatArray, col_upper: FloatArray, name: str = ""
    ) -> LinearModel:
        """The same model with other column bounds (arrays shared otherwise)."""
        return LinearModel(
            cost=self.cost,
            col_lower=col_lower,
            col_upper=col_upper,
            integer=self.integer,
            matrix=self.matrix,
            row_lower=self.row_lower,
            row_upper=self.row_upper,
            columns=self.columns,
            rows=self.rows,
            offset=self.offset,
            name=name or self.name,
        )

    def relaxed(self) -> LinearModel:
        """The same model with every integrality dropped (the LP relaxation)."""
        return LinearModel(
            cost=self.cost,
            col_lower=self.col_lower,
            col_upper=self.col_upper,
            integer=np.zeros_like(self.integer),
            matrix=self.matrix,
            row_lower=self.row_lower,
            row_upper=self.row_upper,
            columns=self.columns,
            rows=self.rows,
            offset=self.offset,
            name=f"{self.name}-lp",
        )

    def stats(self) -> dict[str, int]:
        """Sizes of the model, overall and per block."""
        out = {
            "columns": self.num_cols,
            "integer_columns": int(self.integer.sum()),
            "rows": self.num_rows,
            "nonzeros": self.num_nonzeros,
        }
        out.update({f"cols:{k}": v.size for k, v in self.columns.items()})
        out.update({f"rows:{k}": v.size for k, v in self.rows.items()})
        return out

    def check_feasible(self, x: FloatArray, tol: float = 1e-6) -> list[str]:
        """Names of the row blocks and bounds that ``x`` violates (for tests and debugging)."""
        issues: list[str] = []
        if np.any(x < self.col_lower - tol) or np.any(x > self.col_upper + tol):
            issues.append("column bounds")
        activity = self.matrix @ x
        bad = (activity < self.row_lower - tol) | (activity > self.row_upper + tol)
        for block in self.rows.values():
            if bad[block.start : block.stop].any():
                issues.append(block.name)
        return issues


@dataclass
class _PendingRows:
    name: str
    family: str
    local_rows: IntArray
    cols: IntArray
    vals: FloatArray
    lower: FloatArray
    upper: FloatArray
    labels: pd.DataFrame


@dataclass
class ModelBuilder:
    """Collects column and row blocks, then builds a :class:`LinearModel` in one pass."""

    name: str = "fluxopt"
    _cols: list[tuple[ColumnBlock, FloatArray, FloatArray, FloatArray]] = field(
        default_factory=list
    )
    _rows: list[_PendingRows] = field(default_factory=list)
    _num_cols: int = 0
    offset: float = 0.0

    @property
    def num_cols(self) -> int:
        """Columns registered so far."""
        return self._num_cols

    def add_columns(
        self,
        name: str,
        labels: pd.DataFrame,
        *,
        lower: float | FloatArray = 0.0,
        upper: float | FloatArray = 1.0,
        cost: float | FloatArray = 0.0,
        integer: bool = True,
    ) -> ColumnBlock:
        """Register one column per label row; return the block with its global positions."""
        if any(block.name == name for block, *_ in self._cols):
            raise ValueError(f"column block {name!r} registered twice")
        size = len(labels)
        block = ColumnBlock(
            name=name,
            start=self._num_cols,
            stop=self._num_cols + size,
            labels=labels.reset_index(drop=True),
            integer=integer,
        )
        self._cols.append((block, _full(lower, size), _full(upper, size), _full(cost, size)))
        self._num_cols += size
        return block

    def add_cost(self, block: ColumnBlock, cost: float | FloatArray) -> None:
        """Add to the objective coefficients of a registered block."""
        for i, (registered, lower, upper, current) in enumerate(self._cols):
            if registered.name == block.name:
                self._cols[i] = (registered, lower, upper, current + _full(cost, block.size))
                return
        raise KeyError(block.name)

    def add_rows(
        self,
        name: str,
        family: str,
        labels: pd.DataFrame,
        local_rows: npt.ArrayLike,
        cols: npt.ArrayLike,
        vals: npt.ArrayLike,
        *,
        lower: float | FloatArray = -INF,
        upper: float | FloatArray = INF,
    ) -> None:
        """Register rows given as triplets (local row, global column, coefficient).

        ``labels`` has one row per constraint row; ``lower``/``upper`` are its bounds.
        Duplicate (row, column) triplets are summed.
        """
        if any(pending.name == name for pending in self._rows):
            raise ValueError(f"row block {name!r} registered twice")
        size = len(labels)
        if size == 0:
            return
        local = np.asarray(local_rows, dtype=np.int64)
        columns = np.asarray(cols, dtype=np.int64)
        values = np.asarray(vals, dtype=np.float64)
        if not (len(local) == len(columns) == len(values)):
            raise ValueError(f"row block {name!r}: triplet arrays differ in length")
        if len(local) and (local.min() < 0 or local.max() >= size):
            raise ValueError(f"row block {name!r}: local row index out of range")
        if len(columns) and (columns.min() < 0 or columns.max() >= self._num_cols):
            raise ValueError(f"row block {name!r}: column index out of range")
        self._rows.append(
            _PendingRows(
                name=name,
                family=family,
                local_rows=local,
                cols=columns,
                vals=values,
                lower=_full(lower, size),
                upper=_full(upper, size),
                labels=labels.reset_index(drop=True),
            )
        )

    def build(self) -> LinearModel:
        """Concatenate every block into arrays and one CSR matrix."""
        n = self._num_cols
        cost = np.concatenate([c for *_, c in self._cols]) if self._cols else np.zeros(0)
        lower = np.concatenate([lo for _, lo, _, _ in self._cols]) if self._cols else np.zeros(0)
        upper = np.concatenate([up for _, _, up, _ in self._cols]) if self._cols else np.zeros(0)
        integer = np.zeros(n, dtype=bool)
        columns: dict[str, ColumnBlock] = {}
        for block, *_ in self._cols:
            integer[block.start : block.stop] = block.integer
            columns[block.name] = block
        rows: dict[str, RowBlock] = {}
        offsets: list[int] = []
        start = 0
        for pending in self._rows:
            size = len(pending.labels)
            rows[pending.name] = RowBlock(
                pending.name, start, start + size, pending.labels, pending.family
            )
            offsets.append(start)
            start += size
        if self._rows:
            row_idx = np.concatenate(
                [p.local_rows + off for p, off in zip(self._rows, offsets, strict=True)]
            )
            col_idx = np.concatenate([p.cols for p in self._rows])
            vals = np.concatenate([p.vals for p in self._rows])
            row_lower = np.concatenate([p.lower for p in self._rows])
            row_upper = np.concatenate([p.upper for p in self._rows])
        else:
            row_idx = col_idx = np.zeros(0, dtype=np.int64)
            vals = row_lower = row_upper = np.zeros(0)
        matrix = sp.csr_matrix((vals, (row_idx, col_idx)), shape=(start, n))
        matrix.sum_duplicates()
        matrix.eliminate_zeros()
        return LinearModel(
            cost=cost.astype(np.float64),
            col_lower=lower.astype(np.float64),
            col_upper=upper.astype(np.float64),
            integer=integer,
            matrix=matrix,
            row_lower=row_lower.astype(np.float64),
            row_upper=row_upper.astype(np.float64),
            columns=columns,
            rows=rows,
            offset=self.offset,
            name=self.name,
        )


def _full(value: float | npt.ArrayLike, size: int) -> FloatArray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return np.full(size, float(array))
    if len(array) != size:
        raise ValueError(f"expected {size} values, got {len(array)}")
    return array.copy()
