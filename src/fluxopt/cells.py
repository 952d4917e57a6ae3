r"""Text cells of the spreadsheets and CSV files fluxopt writes: formulas are neutralised.

A spreadsheet program opening a CSV or XLSX file treats a cell that starts with ``=``,
``+``, ``-`` or ``@`` as a formula (tab and carriage return too, in some programs), so an
applicant id, a holder's or a commune's name such as ``=HYPERLINK("http://x","y")`` would
run as a formula in the committee's workbook. Every text cell, column name and index label
that fluxopt writes to a CSV or XLSX file goes through :func:`neutralise`, which puts the
usual quote prefix ``'`` in front of such a text; numbers stay numbers, and a text that is
a plain number (``-3``, ``+2.5``) is left as it is, since it cannot run.

The rule is a bijection on texts, so that fluxopt reads its own files back to the original
ids (:func:`restore`). With :math:`T = \{=, +, -, @, \text{tab}, \text{CR}\}` and
:math:`q(s)` the text :math:`s` without its leading apostrophes,

.. math::

    \text{needs}(s) = q(s)_0 \in T \land q(s) \text{ is not a plain number},\qquad
    \text{neutralise}(s) = \begin{cases} {}'s & \text{needs}(s) \\ s & \text{else}
    \end{cases}

and :func:`restore` drops one leading ``'`` exactly when the rest needs it. A text that
already starts with ``'`` before a formula character therefore gets one more, and reads
back unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Hashable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet program read a cell as a formula."""
QUOTE = "'"
PLAIN_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)([eE][+-]?\d+)?")


def needs_quote(text: str) -> bool:
    """Whether a text would start a formula (after any apostrophes it already has)."""
    core = text.lstrip(QUOTE)
    return core.startswith(FORMULA_STARTS) and PLAIN_NUMBER.fullmatch(core) is None


def neutralise(value: Any) -> Any:
    """The value as written to a cell: a text that would start a formula gets a ``'``."""
    if isinstance(value, str) and needs_quote(value):
        return QUOTE + value
    return value


def restore(value: Any) -> Any:
    """The value fluxopt neutralised, read back: one ``'`` dropped where it added one."""
    if isinstance(value, str) and value.startswith(QUOTE) and needs_quote(value[1:]):
        return value[1:]
    return value


def _candidates(series: pd.Series, prefixes: tuple[str, ...]) -> np.ndarray:
    """Positions of the text cells that start with one of ``prefixes`` (vectorised)."""
    try:
        starts = series.str.startswith(prefixes)
    except AttributeError:  # not a column of text: look at each cell
        starts = series.map(lambda v: isinstance(v, str) and v.startswith(prefixes))
    return np.flatnonzero(starts.to_numpy(dtype=bool, na_value=False))


def _map_texts(series: pd.Series, function: Any, prefixes: tuple[str, ...]) -> pd.Series:
    """Apply ``function`` to the text cells of a column that may need it.

    Only cells starting with one of ``prefixes`` are candidates (found with vectorised
    string operations); other columns and cells are returned as they are.
    """
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return series
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    candidates = _candidates(series, prefixes)
    if len(candidates) == 0:
        return series
    values = series.to_numpy(dtype=object, copy=True)
    changed = False
    for position in candidates:
        value = values[position]
        if isinstance(value, str):
            mapped = function(value)
            if mapped is not value:
                values[position] = mapped
                changed = True
    if not changed:
        return series
    return pd.Series(values, index=series.index, name=series.name, dtype=object)


def _map_labels(labels: pd.Index, function: Any) -> pd.Index:
    if isinstance(labels, pd.MultiIndex):
        return pd.MultiIndex.from_tuples(
            [tuple(function(part) for part in label) for label in labels], names=labels.names
        )
    if pd.api.types.is_numeric_dtype(labels.dtype) or not any(
        isinstance(label, str) for label in labels
    ):
        return labels
    return pd.Index([function(label) for label in labels], name=function(labels.name))


def _map_frame(frame: pd.DataFrame, function: Any, prefixes: tuple[str, ...]) -> pd.DataFrame:
    out = frame.copy()
    for position in range(frame.shape[1]):
        column = frame.iloc[:, position]
        mapped = _map_texts(column, function, prefixes)
        if mapped is not column:
            out.isetitem(position, mapped.to_numpy(dtype=object))
    out.columns = _map_labels(frame.columns, function)
    return out


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, column names and index labels are neutralised."""
    out = _map_frame(frame, neutralise, (*FORMULA_STARTS, QUOTE))
    out.index = _map_labels(frame.index, neutralise)
    return out


def restore_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A table read from a file fluxopt wrote, with the quote prefixes it added removed."""
    return _map_frame(frame, restore, (QUOTE,))


def write_csv(frame: pd.DataFrame, path: Path, *, index: bool = False, **options: Any) -> Path:
    """Write ``frame`` as UTF-8 CSV with every text cell neutralised (see the module).

    ``options`` are passed to :meth:`pandas.DataFrame.to_csv` (``index_label``,
    ``lineterminator``, ...); an ``index_label`` is neutralised too.
    """
    label: Hashable | None = options.pop("index_label", None)
    if isinstance(label, str):
        options["index_label"] = neutralise(label)
    elif label is not None:
        options["index_label"] = label
    options.setdefault("lineterminator", "\n")
    options.setdefault("encoding", "utf-8")
    neutralise_frame(frame).to_csv(path, index=index, **options)
    return path
