"""Spreadsheet-formula payloads planted in a copy of instances/tiny, and checks of outputs.

Every applicant id, holder name, residence name and commune name of the copy, and one
holder id, start with a formula character; the checks assert that no cell of a CSV or
XLSX file fluxopt wrote is a live formula.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

TINY = Path(__file__).resolve().parents[1] / "instances" / "tiny"
PAYLOADS = ('=HYPERLINK("http://x","y")', "=cmd|' /C calc'!A0", "@SUM(1)")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HOLDER = "STATE_AGENTS"
HOLDER_PAYLOAD = "@SUM(1)"


def payload(i: int) -> str:
    """A distinct payload text for item ``i`` (the three payloads in turn, numbered)."""
    return f"{PAYLOADS[i % len(PAYLOADS)]}{i}"


def _read(folder: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)


def _write(frame: pd.DataFrame, folder: Path, name: str) -> None:
    frame.to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")


def payload_instance(folder: Path) -> Path:
    """A copy of tiny whose names and ids are formula payloads (see the module)."""
    shutil.copytree(TINY, folder)
    applicants = _read(folder, "applicants")
    applicants["applicant_id"] = [payload(i) for i in range(len(applicants))]
    communes = {
        name: payload(i) for i, name in enumerate(sorted(_read(folder, "residences")["commune"]))
    }
    applicants["wished_communes"] = [
        ";".join(communes.get(c.strip(), c.strip()) for c in wished.split(";"))
        for wished in applicants["wished_communes"]
    ]
    _write(applicants, folder, "applicants")
    residences = _read(folder, "residences")
    residences["name"] = [payload(i + 10) for i in range(len(residences))]
    residences["commune"] = residences["commune"].map(communes)
    _write(residences, folder, "residences")
    for name in ("units", "history"):
        frame = _read(folder, name)
        frame["commune"] = frame["commune"].map(lambda c: communes.get(c, c))
        if name == "history":
            frame["contingent"] = frame["contingent"].replace(HOLDER, HOLDER_PAYLOAD)
        else:
            frame["flux_status"] = frame["flux_status"].replace(
                f"stock:{HOLDER}", f"stock:{HOLDER_PAYLOAD}"
            )
        _write(frame, folder, name)
    holders = _read(folder, "holders")
    holders["name"] = [payload(i + 20) for i in range(len(holders))]
    holders["holder_id"] = holders["holder_id"].replace(HOLDER, HOLDER_PAYLOAD)
    _write(holders, folder, "holders")
    conventions = _read(folder, "conventions")
    conventions["holder_id"] = conventions["holder_id"].replace(HOLDER, HOLDER_PAYLOAD)
    commune = conventions["perimeter_kind"] == "commune"
    conventions.loc[commune, "perimeter_id"] = conventions.loc[commune, "perimeter_id"].map(
        communes
    )
    _write(conventions, folder, "conventions")
    return folder


def is_live(text: str) -> bool:
    """Whether a spreadsheet would read ``text`` as a formula (a plain number is not)."""
    if not text.startswith(FORMULA_STARTS):
        return False
    try:
        float(text.replace(",", "."))
    except ValueError:
        return True
    return False


def csv_cells(path: Path) -> list[str]:
    """Every cell of a CSV file as written, header included."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [cell for row in csv.reader(handle) for cell in row]


def assert_csv_neutral(path: Path) -> list[str]:
    """No cell of the CSV file starts a formula; return its cells."""
    cells = csv_cells(path)
    live = [cell for cell in cells if is_live(cell)]
    assert not live, f"{path.name}: live formula cells {live[:5]}"
    return cells


def assert_xlsx_neutral(path: Path) -> list[str]:
    """No cell of the workbook is a formula or a text starting one; return its texts."""
    book = load_workbook(path)
    texts = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{path.name}!{sheet.title}{cell.coordinate}"
                if isinstance(cell.value, str):
                    assert not is_live(cell.value), (
                        f"{path.name}!{sheet.title}{cell.coordinate}: {cell.value!r}"
                    )
                    texts.append(cell.value)
    return texts


def quoted(text: str) -> str:
    """The text as fluxopt writes it in a cell: with the quote prefix."""
    return "'" + text
