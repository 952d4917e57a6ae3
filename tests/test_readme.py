"""The README is assembled from its parts and the schema; it must not drift from them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _assemble() -> str:
    spec = importlib.util.spec_from_file_location("assemble", ROOT / "docs" / "assemble.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.assemble())


def test_readme_equals_its_assembled_parts() -> None:
    assert (ROOT / "README.md").read_text(encoding="utf-8") == _assemble()


def test_readme_quick_start_is_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make demo" in quick
    assert "make test" in quick
