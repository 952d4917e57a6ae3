"""Read a table file and turn its cells into the declared types, reporting every bad cell.

Reading keeps cells as text (CSV) or as the file's own values (Parquet, XLSX); coercion then
converts each declared column in one vectorised pass and records, for every cell that does
not parse, a problem with its row and column. The same rules apply whatever the format: a
Parquet column of text in a numeric field or an XLSX date in a numeric field is reported
like the same cell in a CSV file. Absent optional columns and empty optional cells take
the declared default.

Accepted forms: numbers with a dot or a decimal comma (``512.40``, ``512,40``), and with
spaces between groups of three digits as French exports write them (``1 234,50``, with a
plain, non-breaking or narrow non-breaking space); integers
as whole numbers (``3`` or ``3.0``); booleans as ``true/false``, ``1/0``, ``yes/no``,
``oui/non`` (any case); dates as ISO 8601 ``YYYY-MM-DD`` (a time of day is dropped), or
date cells of Parquet and XLSX files.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from fluxopt.cells import restore, restore_frame
from fluxopt.schema.csvfile import csv_header, dialect_warning, read_csv_cells, sniff
from fluxopt.schema.declaration import ColumnSpec, TableSpec
from fluxopt.schema.problems import ProblemLog

TRUE_WORDS = frozenset({"true", "1", "yes", "y", "t", "oui", "vrai"})
FALSE_WORDS = frozenset({"false", "0", "no", "n", "f", "non", "faux"})
TRUE_LIST = sorted(TRUE_WORDS)
FALSE_LIST = sorted(FALSE_WORDS)
ISO_DATE_LENGTH = len("YYYY-MM-DD")
"""A date is written in full (``2025`` or ``2025-01`` alone are not dates)."""

READERS = (".csv", ".parquet", ".xlsx")
DIGIT_GROUP_SPACE = r"(?<=\d)[ \u00a0\u202f](?=\d{3}(?:\D|$))"
"""A space between digit groups (``1 234,50``): plain, no-break or narrow no-break."""


def read_raw(path: Path, log: ProblemLog | None = None, table: str = "") -> pd.DataFrame:
    """Read a table file without interpreting its cells (CSV cells stay text).

    Column names are kept exactly as written, duplicates included (so that they can be
    reported). A file without even a header line gives a frame with no columns. A CSV file
    may be UTF-8, Windows-1252 or Latin-1, separated by commas, semicolons or tabs
    (:mod:`fluxopt.schema.csvfile`); another dialect than UTF-8 with commas is reported as a
    warning in ``log``. Text cells that fluxopt neutralised when it wrote the file (a quote
    before a formula character, :mod:`fluxopt.cells`) are read back without the quote.
    """
    suffix = path.suffix.lower()
    if suffix == ".csv":
        dialect = sniff(path)
        header = csv_header(path, dialect)
        if not header:
            return pd.DataFrame()
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            try:
                frame = read_csv_cells(path, dialect)
            except pd.errors.ParserWarning as exc:
                raise ValueError("the first row has more fields than the header line") from exc
        if log is not None:
            dialect_warning(log, table or path.stem, path, dialect)
        return restore_frame(_named(frame, [restore(name) for name in header]))
    if suffix == ".xlsx":
        grid = pd.read_excel(path, header=None, dtype=object, engine="openpyxl")
        return restore_frame(_split_header(grid))
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
        frame.columns = [str(c).strip() for c in frame.columns]
        return frame.reset_index(drop=True)
    raise ValueError(f"unsupported table format {suffix!r}; use one of {', '.join(READERS)}")


def _split_header(grid: pd.DataFrame) -> pd.DataFrame:
    """Use the first row of a header-less grid (a spreadsheet) as column names."""
    if grid.empty:
        return pd.DataFrame()
    header = [_one_text(v) if not _is_missing(v) else "" for v in grid.iloc[0]]
    return _named(grid.iloc[1:].reset_index(drop=True), header)


def _named(body: pd.DataFrame, header: list[str]) -> pd.DataFrame:
    """Give ``body`` the column names of ``header``, by position.

    Columns with neither a name nor any value (trailing blank columns) are dropped; a
    nameless column that holds values is named ``column <n>`` (n counted from 1).
    """
    keep: list[int] = []
    names: list[str] = []
    for position, name in enumerate(header):
        if not name and bool(cell_text(body.iloc[:, position]).isna().all()):
            continue
        keep.append(position)
        names.append(name or f"column {position + 1}")
    frame = body.iloc[:, keep] if len(keep) < len(header) else body.copy()
    frame.columns = names
    return frame


def _is_missing(value: object) -> bool:
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )


def _one_text(value: object) -> str:
    """The text of one non-missing cell of a Parquet or XLSX file."""
    if isinstance(value, bool | np.bool_):
        return "true" if value else "false"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        timestamp = pd.Timestamp(value)
        if timestamp == timestamp.normalize():
            return timestamp.date().isoformat()
        return timestamp.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).strip()


def _is_text(raw: pd.Series) -> bool:
    return bool(pd.api.types.infer_dtype(raw, skipna=True) in ("string", "empty"))


def cell_text(raw: pd.Series) -> pd.Series:
    """Every cell as stripped text; empty and missing cells become missing (NaN)."""
    if _is_text(raw):
        text = (raw if raw.dtype == "str" else raw.astype("str")).str.strip()
    else:
        text = raw.map(_one_text, na_action="ignore").astype("str")
    blank = text.eq("").to_numpy(dtype=bool, na_value=False)
    return text.mask(blank) if blank.any() else text


def _is_numeric(raw: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype)


def _numbers(raw: pd.Series, text: pd.Series) -> np.ndarray:
    """Cells as float64 (NaN when empty or not a number).

    Numeric columns are taken as they are; text is read with a dot or a decimal comma, and
    spaces between groups of three digits are dropped.
    """
    if _is_numeric(raw):
        return raw.to_numpy(dtype="float64", na_value=np.nan)
    parsed = pd.to_numeric(text, errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan, copy=True
    )
    retry = np.isnan(parsed) & text.notna().to_numpy(dtype=bool)
    if retry.any():
        with_dot = (
            text[retry]
            .str.replace(DIGIT_GROUP_SPACE, "", regex=True)
            .str.replace(",", ".", regex=False)
        )
        parsed[retry] = pd.to_numeric(with_dot, errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
    return parsed


def _booleans(raw: pd.Series, text: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Cells as (value, missing) arrays: boolean columns as they are, known words otherwise."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        flags = raw.astype("boolean")
        return flags.fillna(False).to_numpy(dtype=bool), flags.isna().to_numpy(dtype=bool)
    lower = text.str.lower()
    true = lower.isin(TRUE_LIST).to_numpy(dtype=bool)
    false = lower.isin(FALSE_LIST).to_numpy(dtype=bool)
    return true, ~(true | false)


def _dates(raw: pd.Series, text: pd.Series) -> pd.Series:
    """Cells as dates: date columns as they are, ISO 8601 text otherwise."""
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        dates = raw
        if isinstance(dates.dtype, pd.DatetimeTZDtype):
            dates = dates.dt.tz_localize(None)
    else:
        short = text.str.len().to_numpy(dtype="float64", na_value=np.nan) < ISO_DATE_LENGTH
        written = text.mask(short) if short.any() else text
        dates = pd.to_datetime(written, errors="coerce", format="ISO8601")
    return pd.Series(dates, index=raw.index).astype("datetime64[s]").dt.normalize()


def coerce_column(
    log: ProblemLog, spec: TableSpec, column: ColumnSpec, raw: pd.Series, keys: pd.Series | None
) -> pd.Series:
    """Convert one raw column to its declared type; bad cells are reported and left empty.

    Then an empty cell of a required column is reported, and an empty cell of an optional
    column takes the declared default (or stays empty when there is none).
    """
    text = cell_text(raw)
    empty = text.isna().to_numpy(dtype=bool)
    kind = column.dtype
    if kind == "str":
        result = text
    elif kind in ("int", "float"):
        numbers = _numbers(raw, text)
        finite = np.isfinite(numbers)
        _report_bad(
            log,
            spec,
            column,
            ~empty & ~finite,
            text,
            keys,
            f"{{value!r}} is not a number ({kind})",
            f"write a plain {'integer' if kind == 'int' else 'number'} such as "
            f"{'3' if kind == 'int' else '512.40'}",
        )
        missing = ~finite
        if kind == "int":
            fractional = finite & (numbers != np.floor(np.where(finite, numbers, 0.0)))
            _report_bad(
                log,
                spec,
                column,
                fractional,
                text,
                keys,
                "{value!r} is not a whole number",
                "write an integer such as 3",
            )
            missing = missing | fractional
        _report_required(log, spec, column, empty, keys)
        return _assemble(column, np.where(missing, 0.0, numbers), missing, raw.index)
    elif kind == "bool":
        flags, missing = _booleans(raw, text)
        _report_bad(
            log,
            spec,
            column,
            ~empty & missing,
            text,
            keys,
            "{value!r} is not true or false",
            "write true or false (or 1/0, yes/no, oui/non)",
        )
        _report_required(log, spec, column, empty, keys)
        return _assemble(column, flags, missing, raw.index)
    elif kind == "date":
        result = _dates(raw, text)
        _report_bad(
            log,
            spec,
            column,
            ~empty & result.isna().to_numpy(dtype=bool),
            text,
            keys,
            "{value!r} is not a date",
            "write dates as YYYY-MM-DD (ISO 8601), e.g. 2026-01-15",
        )
    else:  # pragma: no cover - the declaration only allows the kinds above
        raise ValueError(f"unknown dtype {kind}")
    _report_required(log, spec, column, empty, keys)
    if not column.required and column.default is not None and bool(result.isna().any()):
        result = result.fillna(column.default)
    return finalize_dtype(column, result)


def _assemble(
    column: ColumnSpec,
    values: np.ndarray,
    missing: np.ndarray,
    index: pd.Index,
    *,
    fill_default: bool = True,
) -> pd.Series:
    """Build an int, float or bool column from values and a mask of missing cells.

    Missing cells of an optional column with a default take the default; the column is
    nullable (``Int64``, ``boolean``) when cells may stay empty, as in :func:`finalize_dtype`.
    """
    kind = column.dtype
    if fill_default and not column.required and column.default is not None and missing.any():
        values = np.where(missing, column.default, values)
        missing = np.zeros(len(values), dtype=bool)
    nullable = column.nullable or bool(missing.any())
    if kind == "float":
        return pd.Series(np.where(missing, np.nan, values).astype("float64"), index=index)
    if kind == "int":
        whole = np.round(values.astype("float64")).astype("int64")
        if nullable:
            return pd.Series(pd.arrays.IntegerArray(whole, missing), index=index)
        return pd.Series(whole, index=index)
    flags = values.astype(bool)
    if nullable:
        return pd.Series(pd.arrays.BooleanArray(flags, missing), index=index)
    return pd.Series(flags, index=index)


def _report_bad(
    log: ProblemLog,
    spec: TableSpec,
    column: ColumnSpec,
    bad: np.ndarray,
    text: pd.Series,
    keys: pd.Series | None,
    template: str,
    hint: str,
) -> None:
    positions = np.flatnonzero(bad)
    if positions.size == 0:
        return
    log.cells(
        spec.name,
        column.name,
        positions,
        template,
        hint,
        values=text.iloc[positions],
        keys=None if keys is None else keys.iloc[positions],
    )


def _report_required(
    log: ProblemLog,
    spec: TableSpec,
    column: ColumnSpec,
    empty: np.ndarray,
    keys: pd.Series | None,
) -> None:
    if not column.required:
        return
    positions = np.flatnonzero(empty)
    if positions.size == 0:
        return
    log.cells(
        spec.name,
        column.name,
        positions,
        "required value is empty",
        f"fill in {column.name}: {column.description}",
        keys=None if keys is None else keys.iloc[positions],
    )


def finalize_dtype(column: ColumnSpec, values: pd.Series) -> pd.Series:
    """Give a coerced column its canonical dtype.

    Nullable dtypes (``Int64``, ``boolean``) are used where empty cells may stay, that is
    for optional columns without a default, or where a bad cell was left empty; otherwise
    ``int64`` and ``bool``. Floats are ``float64``, dates ``datetime64[s]``, text ``str``.
    """
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


def empty_column(column: ColumnSpec, length: int, *, use_default: bool = True) -> pd.Series:
    """An absent column of ``length`` rows, filled with its default (or left empty)."""
    index = pd.RangeIndex(length)
    default = column.default if use_default else None
    kind = column.dtype
    if kind in ("int", "float", "bool"):
        missing = np.full(length, default is None)
        values = np.full(length, 0 if default is None else default)
        return _assemble(column, values, missing, index, fill_default=False)
    if kind == "date":
        return pd.Series(np.full(length, np.datetime64("NaT"), dtype="datetime64[s]"), index=index)
    return pd.Series([default] * length, index=index, dtype="str")


def coerce_table(log: ProblemLog, spec: TableSpec, raw: pd.DataFrame) -> pd.DataFrame:
    """Coerce every declared column of a raw table; keep undeclared columns as text.

    Reports: a required column that is missing (error; the column is added empty so that
    later checks can still run), a column that appears twice (error; the first copy is
    used), a derived column (warning; it is dropped and computed instead) and an
    undeclared column (warning; it is kept as text, since a scoring grid may use it).
    """
    raw = raw.reset_index(drop=True)
    duplicated = list(dict.fromkeys(raw.columns[raw.columns.duplicated()]))
    for name in duplicated:
        log.error(spec.name, "column appears twice", "keep one copy of it", column=name)
    if duplicated:
        raw = raw.loc[:, ~raw.columns.duplicated()]
    for name in spec.required_columns:
        if name not in raw.columns:
            log.error(
                spec.name,
                "required column is missing",
                f"add a column {name!r}: {spec.columns[name].description}",
                column=name,
            )
    for name in raw.columns:
        if name in spec.derived:
            log.warning(
                spec.name,
                "derived column ignored; it is computed",
                f"remove it from the file: {spec.derived[name].description}",
                column=name,
            )
    unknown = [c for c in raw.columns if c not in spec.columns and c not in spec.derived]
    for name in unknown:
        log.warning(
            spec.name,
            "column is not in the schema; kept as it is",
            "check the spelling against the data reference (scoring grids may use extra columns)",
            column=name,
        )

    key_name = spec.key_columns[0]
    keys = cell_text(raw[key_name]) if key_name in raw.columns else None
    out: dict[str, pd.Series] = {}
    for name, column in spec.columns.items():
        if name in raw.columns:
            out[name] = coerce_column(log, spec, column, raw[name], keys)
        else:
            out[name] = empty_column(column, len(raw), use_default=not column.required)
    for name in unknown:
        out[name] = cell_text(raw[name])
    return pd.DataFrame(out, index=raw.index)
