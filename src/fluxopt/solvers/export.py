"""Export of a built model as an MPS or LP file, for any other solver to read.

The file is written by HiGHS (``writeModel``; the format follows the suffix: ``.mps`` or
``.lp``, optionally followed by ``.gz``). Columns and rows carry readable names made from
their block and their position in it (``first_12``, ``flux_position_3``,
``quota_lec_q1_outside_qpv_0``): letters, digits and underscores only, which both formats
accept. The objective's constant is the cost of one more column, ``objective_offset``, fixed
at 1: readers disagree on the sign of a constant on the objective's right-hand side of an
MPS file (and some, such as PuLP's, reject it), while a fixed column reads the same
everywhere, so another solver reading the file finds the same optimum.
"""

from __future__ import annotations

import re
from pathlib import Path

import highspy

from fluxopt.model import LinearModel
from fluxopt.schema.problems import FluxoptError
from fluxopt.solvers.highs import new_highs, to_highs_lp

FORMATS = (".mps", ".lp")
OFFSET_COLUMN = "objective_offset"


def export_model(model: LinearModel, path: str | Path) -> Path:
    """Write ``model`` to ``path`` (``.mps`` or ``.lp``, optionally ``.gz``); return the path."""
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    if not suffixes or suffixes[-1] not in FORMATS:
        raise FluxoptError(
            f"cannot export the model to {path.name}: give a file ending in .mps or .lp"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    lp = to_highs_lp(model)
    lp.col_names_ = column_names(model)
    lp.row_names_ = row_names(model)
    lp.offset_ = 0.0
    highs = new_highs()
    highs.setOptionValue("output_flag", False)
    if highs.passModel(lp) != highspy.HighsStatus.kOk:
        raise FluxoptError("HiGHS refused the model; it cannot be exported")
    if model.offset:
        highs.addCol(float(model.offset), 1.0, 1.0, 0, [], [])
        highs.passColName(model.num_cols, OFFSET_COLUMN)
    if highs.writeModel(str(path)) == highspy.HighsStatus.kError:
        raise FluxoptError(f"could not write the model to {path}")
    return path


def column_names(model: LinearModel) -> list[str]:
    """A name per column: its block's name and its position in the block."""
    return _names(model.num_cols, [(b.name, b.start, b.stop) for b in model.columns.values()], "c")


def row_names(model: LinearModel) -> list[str]:
    """A name per row: its block's name and its position in the block."""
    return _names(model.num_rows, [(b.name, b.start, b.stop) for b in model.rows.values()], "r")


def _names(count: int, blocks: list[tuple[str, int, int]], fallback: str) -> list[str]:
    names = [f"{fallback}{i}" for i in range(count)]
    for name, start, stop in blocks:
        stem = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") or fallback
        names[start:stop] = [f"{stem}_{i}" for i in range(stop - start)]
    return names
