"""Small openpyxl helpers shared by the workbooks: readable sheets and a "Read me" sheet.

Every data sheet has a bold, frozen header row, an auto-filter and column widths set from
the longest value (between 8 and 60 characters); long text columns wrap. Every text cell,
header included, is neutralised (:func:`fluxopt.cells.neutralise`): a name or id that would
start a formula is written with the quote prefix, so no cell of a workbook is a formula.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from fluxopt.cells import neutralise

HEADER_FILL = PatternFill("solid", fgColor="DCE6F1")
HEADER_FONT = Font(bold=True)
WRAP = Alignment(wrap_text=True, vertical="top")
MIN_WIDTH, MAX_WIDTH = 8, 60
FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def new_workbook() -> Workbook:
    """An empty workbook (its default sheet removed)."""
    book = Workbook()
    default = book.active
    if default is not None:
        book.remove(default)
    return book


def sheet_title(text: str, taken: Iterable[str] = ()) -> str:
    """A valid, unique sheet title: no brackets, colon, star, question mark or slashes.

    A title may not start or end with an apostrophe either.
    """
    base = FORBIDDEN.sub(" ", text).strip().strip("'").strip()[:31].strip("'") or "Sheet"
    used = {t.lower() for t in taken}
    title, n = base, 2
    while title.lower() in used:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    return title


def add_table_sheet(book: Workbook, title: str, frame: pd.DataFrame) -> Worksheet:
    """Add a sheet holding ``frame`` with a frozen bold header, filters and set widths."""
    sheet = book.create_sheet(sheet_title(title, book.sheetnames))
    header = [neutralise(str(c)) for c in frame.columns]
    sheet.append(header)
    longest = [len(name) for name in header]
    for row in frame.itertuples(index=False, name=None):
        values = [_cell(v) for v in row]
        sheet.append(values)
        for position, value in enumerate(values):
            if value is not None:
                longest[position] = max(longest[position], len(str(value)))
    for cell in sheet[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = WRAP
    sheet.freeze_panes = "A2"
    if header:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(frame) + 1}"
    for position, length in enumerate(longest, start=1):
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = min(max(length + 2, MIN_WIDTH), MAX_WIDTH)
        if length > MAX_WIDTH:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=position, max_col=position):
                cell.alignment = WRAP
    return sheet


def add_readme_sheet(book: Workbook, title: str, lines: Sequence[tuple[str, str]]) -> Worksheet:
    """A first sheet of two columns: a term (or heading) and its explanation."""
    sheet = book.create_sheet(sheet_title("Read me", book.sheetnames), 0)
    sheet.append([neutralise(title)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([])
    for term, text in lines:
        sheet.append([neutralise(term), neutralise(text)])
        if term and not text:
            sheet.cell(sheet.max_row, 1).font = Font(bold=True)
    sheet.column_dimensions["A"].width = 30
    sheet.column_dimensions["B"].width = 100
    for row in sheet.iter_rows(min_row=3):
        for cell in row:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    return sheet


def save(book: Workbook, path: Path) -> Path:
    """Write the workbook, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path


def _cell(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and np.isnan(value):
        return None
    if value is pd.NA:
        return None
    return neutralise(value)
