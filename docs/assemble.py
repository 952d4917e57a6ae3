"""Assemble README.md from its parts: ``python docs/assemble.py`` (``--check`` to compare)."""

from __future__ import annotations

import sys
from pathlib import Path

from fluxopt.rules.reference import data_reference_markdown

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
PARTS = ("readme-head.md", "flux.md", "whatif.md", "readme-tail.md")
FILES = (DOCS / "data-files.md").read_text(encoding="utf-8").strip()


def assemble() -> str:
    """The README: the parts in order, then the data reference."""
    sections = [(DOCS / name).read_text(encoding="utf-8").strip() for name in PARTS]
    reference = (
        "## Data reference\n\n"
        "An instance folder holds `instance.yaml` and one file per table (CSV, Parquet or "
        "XLSX, mixed freely). This reference is generated from the table declarations "
        "(`fluxopt schema --markdown`).\n\n" + FILES + "\n\n" + data_reference_markdown().strip()
    )
    return "\n\n".join([*sections, reference]) + "\n"


def main() -> int:
    """Write README.md, or with ``--check`` report whether it is up to date."""
    text = assemble()
    readme = ROOT / "README.md"
    if "--check" in sys.argv[1:]:
        same = readme.read_text(encoding="utf-8") == text
        print("README.md is up to date" if same else "README.md differs: run docs/assemble.py")
        return 0 if same else 1
    readme.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
