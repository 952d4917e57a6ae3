"""Read a table file and turn its cells into the declared types, reporting every bad cell.

Reading keeps cells as text (CSV) or as the file's own values (Parquet, XLSX); coercion then
converts each declared column in one vectorised pass and records, for every cell that does
not parse, a problem with its row and column. Absent optional columns and empty optional
cells take the declared default.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from fluxopt.schema.declaration import ColumnSpec, TableSpec
from fluxopt.schema.problems import ProblemLog

TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t", "oui", "vrai", "1.0"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f", "non", "faux", "0.0"})
MAX_CELLS_LISTED = 20
"""Per column and kind of problem, list at most this many cells, then count the rest."""

READERS = {".csv", ".parquet", ".xlsx"}


def read_raw(path: Path) -> pd.DataFrame:
    """Read a table file without interpreting its cells (CSV cells stay text)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, na_values=[], encoding="utf-8-sig"
        )
    elif suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif suffix == ".xlsx":
        frame = pd.read_excel(path, dtype=object, engine="openpyxl")
    else:
        raise ValueError(f"unsupported table format {suffix!r}; use one of {sorted(READERS)}")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.reset_index(drop=True)


def _is_empty(raw: pd.Series) -> pd.Series:
    """Cells that hold nothing: missing values or blank text."""
    empty = raw.isna()
    text = raw.map(lambda v: isinstance(v, str) and not v.strip())
    return empty | text.astype(bool)


def _report_bad(
    log: ProblemLog,
    spec: TableSpec,
    keys: pd.Series | None,
    column: ColumnSpec,
    raw: pd.Series,
    bad: pd.Series,
    message: str,
    hint: str,
) -> None:
    positions = np.flatnonzero(bad.to_numpy())
    for pos in positions[:MAX_CELLS_LISTED]:
        key = None if keys is None else _key_text(keys.iloc[pos])
        log.error(
            spec.name,
            message.format(value=raw.iloc[pos]),
            hint,
            row=int(pos) + 1,
            column=column.name,
            key=key,
        )
    if len(positions) > MAX_CELLS_LISTED:
        log.error(
            spec.name,
            f"{len(positions) - MAX_CELLS_LISTED} more cell(s) like the above",
            hint,
            column=column.name,
        )


def _key_text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def _to_text(raw: pd.Series) -> pd.Series:
    def one(value: object) -> object:
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        if isinstance(value, pd.Timestamp):
            return value.date().isoformat()
        return str(value).strip()

    return raw.map(one)


def coerce_column(
    log: ProblemLog, spec: TableSpec, column: ColumnSpec, raw: pd.Series, keys: pd.Series | None
) -> pd.Series:
    """Convert one raw column to its declared type; bad cells are reported and left empty."""
    empty = _is_empty(raw)
    present = raw.where(~empty)
    kind = column.dtype
    if kind == "str":
        values = _to_text(present.dropna()).reindex(raw.index)
        result = pd.Series(values, index=raw.index, dtype="str")
    elif kind in ("int", "float"):
        numbers = pd.to_numeric(
            present.map(lambda v: v.strip().replace(",", ".") if isinstance(v, str) else v),
            errors="coerce",
        )
        bad = ~empty & numbers.isna()
        _report_bad(
            log,
            spec,
            keys,
            column,
            raw,
            bad,
            f"{{value!r}} is not a number ({kind})",
            f"write a plain {'integer' if kind == 'int' else 'number'} such as "
            f"{'3' if kind == 'int' else '512.40'}",
        )
        if kind == "int":
            fractional = numbers.notna() & (numbers != np.floor(numbers.fillna(0)))
            _report_bad(
                log,
                spec,
                keys,
                column,
                raw,
                fractional,
                "{value!r} is not a whole number",
                "write an integer such as 3",
            )
            numbers = numbers.where(~fractional)
            result = numbers.round().astype("Int64")
        else:
            result = numbers.astype("float64")
    elif kind == "bool":
        words = present.map(
            lambda v: str(v).strip().lower() if not isinstance(v, bool | np.bool_) else v
        )
        truth = words.map(
            lambda w: (
                w
                if isinstance(w, bool | np.bool_)
                else (True if w in TRUE_WORDS else (False if w in FALSE_WORDS else None))
            )
        )
        bad = ~empty & truth.isna()
        _report_bad(
            log,
            spec,
            keys,
            column,
            raw,
            bad,
            "{value!r} is not true or false",
            "write true or false (or 1/0, yes/no, oui/non)",
        )
        result = truth.astype("boolean")
    elif kind == "date":
        dates = pd.to_datetime(
            present.map(lambda v: v.strip() if isinstance(v, str) else v),
            errors="coerce",
            format="ISO8601",
        )
        bad = ~empty & dates.isna()
        _report_bad(
            log,
            spec,
            keys,
            column,
            raw,
            bad,
            "{value!r} is not a date",
            "write dates as YYYY-MM-DD (ISO 8601), e.g. 2026-01-15",
        )
        result = dates.astype("datetime64[s]").dt.normalize()
    else:  # pragma: no cover - the declaration only allows the kinds above
        raise ValueError(f"unknown dtype {kind}")
    return _apply_default(log, spec, column, result, empty, keys)


def _apply_default(
    log: ProblemLog,
    spec: TableSpec,
    column: ColumnSpec,
    values: pd.Series,
    empty: pd.Series,
    keys: pd.Series | None,
) -> pd.Series:
    if column.required:
        _report_bad(
            log,
            spec,
            keys,
            column,
            values,
            empty,
            "required value is empty",
            f"fill in {column.name}: {column.description}",
        )
        return finalize_dtype(column, values)
    if column.default is not None:
        values = values.fillna(column.default) if values.isna().any() else values
    return finalize_dtype(column, values)


def finalize_dtype(column: ColumnSpec, values: pd.Series) -> pd.Series:
    """Give a coerced column its canonical dtype (nullable types only where nulls may stay)."""
    kind = column.dtype
    has_null = bool(values.isna().any())
    if kind == "int":
        return values.astype("Int64") if (column.nullable or has_null) else values.astype("int64")
    if kind == "bool":
        if column.nullable or has_null:
            return values.astype("boolean")
        return values.astype("bool")
    if kind == "float":
        return values.astype("float64")
    if kind == "date":
        return values.astype("datetime64[s]")
    return values.astype("str")


def empty_column(column: ColumnSpec, length: int) -> pd.Series:
    """An absent optional column, filled with its default (or empty)."""
    if column.default is not None:
        values = pd.Series([column.default] * length)
    else:
        values = pd.Series([None] * length, dtype=object)
    kind = column.dtype
    if kind == "int":
        values = values.astype("Int64") if column.default is None else values
    elif kind == "float":
        values = values.astype("float64")
    elif kind == "bool":
        values = values.astype("boolean")
    elif kind == "date":
        values = pd.to_datetime(values)
    return finalize_dtype(column, values)


def coerce_table(log: ProblemLog, spec: TableSpec, raw: pd.DataFrame) -> pd.DataFrame:
    """Coerce every declared column of a raw table; keep undeclared columns as they are.

    Missing required columns and undeclared columns are reported; undeclared columns are
    kept (a scoring grid may use them) and stay text.
    """
    missing = [c for c in spec.required_columns if c not in raw.columns]
    for name in missing:
        log.error(
            spec.name,
            "required column is missing",
            f"add a column {name!r}: {spec.columns[name].description}",
            column=name,
        )
    unknown = [c for c in raw.columns if c not in spec.columns]
    for name in unknown:
        log.warning(
            spec.name,
            "column is not in the schema; kept as it is",
            "check the spelling against the data reference (scoring grids may use extra columns)",
            column=name,
        )
    duplicated = raw.columns[raw.columns.duplicated()].tolist()
    for name in duplicated:
        log.error(spec.name, "column appears twice", "keep one copy of it", column=name)
    if duplicated:
        raw = raw.loc[:, ~raw.columns.duplicated()]

    key_name = spec.key_columns[0]
    keys = _to_text(raw[key_name].where(~_is_empty(raw[key_name]))) if key_name in raw else None
    out: dict[str, pd.Series] = {}
    for name, column in spec.columns.items():
        if name in raw.columns:
            out[name] = coerce_column(log, spec, column, raw[name], keys)
        elif not column.required:
            out[name] = empty_column(column, len(raw))
    for name in unknown:
        out[name] = raw[name]
    frame = pd.DataFrame(out, index=raw.index)
    return frame.reset_index(drop=True)
