"""How a CSV file is written: its text encoding and its field separator, detected.

French administrative exports (a spreadsheet's "CSV (séparateur : point-virgule)", the
exports of the demand registry) are often written in Windows-1252 or Latin-1 and separate
fields with ``;``, because the comma is the decimal mark. fluxopt reads them as they are:

- **encoding**: a file that decodes as UTF-8 (with or without a byte-order mark) is UTF-8;
  otherwise the encoding is detected with ``charset-normalizer`` among the single-byte
  encodings of Western Europe (:data:`FALLBACK_ENCODINGS`), and the whole file must decode
  with it;
- **separator**: the character among ``,``, ``;`` and tab that occurs most often in the
  header line outside quotes (the comma on a tie, and for a one-column file).

A file that is not UTF-8 with commas is read all the same, and a warning names what was
detected (:func:`dialect_warning`). Decimal commas in numbers are read by
:mod:`fluxopt.schema.coerce` whatever the separator.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from fluxopt.schema.problems import ProblemLog

SEPARATORS = (",", ";", "\t")
FALLBACK_ENCODINGS = ("cp1252", "latin_1", "iso8859_15")
"""Encodings considered when a file is not UTF-8 (Windows-1252, Latin-1, Latin-9)."""
ENCODING_NAMES = {
    "utf_8": "UTF-8",
    "cp1252": "Windows-1252 (cp1252)",
    "latin_1": "Latin-1 (ISO-8859-1)",
    "iso8859_15": "Latin-9 (ISO-8859-15)",
}
SEPARATOR_NAMES = {",": "comma (,)", ";": "semicolon (;)", "\t": "tab"}


class UnknownEncodingError(ValueError):
    """The file is neither UTF-8 nor text in one of :data:`FALLBACK_ENCODINGS`."""


@dataclass(frozen=True)
class CsvDialect:
    """The encoding (a Python codec name) and the field separator of a CSV file."""

    encoding: str = "utf_8"
    separator: str = ","

    @property
    def standard(self) -> bool:
        """Whether the file is UTF-8 with commas (the format fluxopt writes)."""
        return self.encoding == "utf_8" and self.separator == ","

    def describe(self) -> str:
        """E.g. ``Windows-1252 (cp1252) text, semicolon (;) separated``."""
        encoding = ENCODING_NAMES.get(self.encoding, self.encoding)
        return f"{encoding} text, {SEPARATOR_NAMES[self.separator]} separated"


def detect_encoding(data: bytes) -> str:
    """The codec of ``data``: UTF-8 when it decodes as such, else the detected one."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf_8"
    from charset_normalizer import from_bytes

    best = from_bytes(data, cp_isolation=list(FALLBACK_ENCODINGS)).best()
    if best is None:
        raise UnknownEncodingError(
            "it is neither UTF-8 nor Windows-1252/Latin-1 text "
            f"({', '.join(ENCODING_NAMES[e] for e in FALLBACK_ENCODINGS)} tried)"
        )
    encoding = str(best.encoding)
    data.decode(encoding)
    return encoding


def detect_separator(header_line: str) -> str:
    """The separator that occurs most often in the header line outside quotes."""
    counts = dict.fromkeys(SEPARATORS, 0)
    quoted = False
    for character in header_line:
        if character == '"':
            quoted = not quoted
        elif not quoted and character in counts:
            counts[character] += 1
    best = max(SEPARATORS, key=lambda s: (counts[s], s == ","))
    return best if counts[best] > 0 else ","


def sniff(path: Path) -> CsvDialect:
    """The dialect of a CSV file (see the module docstring)."""
    data = path.read_bytes()
    encoding = detect_encoding(data)
    head = data[: data.find(b"\n") if b"\n" in data else len(data)]
    first_line = head.decode("utf-8-sig" if encoding == "utf_8" else encoding)
    return CsvDialect(encoding, detect_separator(first_line))


def _codec(dialect: CsvDialect) -> str:
    return "utf-8-sig" if dialect.encoding == "utf_8" else dialect.encoding


def csv_header(path: Path, dialect: CsvDialect) -> list[str]:
    """The column names on the first line, as written (stripped, duplicates kept)."""
    with path.open(encoding=_codec(dialect), newline="") as handle:
        first = next(csv.reader(handle, delimiter=dialect.separator), [])
    return [name.strip() for name in first]


def read_csv_cells(path: Path, dialect: CsvDialect) -> pd.DataFrame:
    """Read a CSV file with every cell as text (empty cells stay ``""``)."""
    return pd.read_csv(
        path,
        sep=dialect.separator,
        dtype=str,
        keep_default_na=False,
        na_values=[],
        encoding=_codec(dialect),
        index_col=False,
    )


def read_csv_file(path: Path) -> tuple[pd.DataFrame, CsvDialect]:
    """Read a CSV file of any detected dialect, cells as text; return it and the dialect."""
    dialect = sniff(path)
    return read_csv_cells(path, dialect), dialect


def dialect_warning(log: ProblemLog, table: str, path: Path, dialect: CsvDialect) -> None:
    """Warn that a file was read in a dialect other than UTF-8 with commas, naming it."""
    if dialect.standard:
        return
    log.warning(
        table,
        f"{path.name} was read as {dialect.describe()} (detected)",
        "nothing to fix if the cells read right; saving it as UTF-8 CSV with commas "
        "silences this warning",
    )
