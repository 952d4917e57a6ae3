"""The table declarations of an instance, read once from ``tables.yaml``.

Each table of the data model (design §3) is declared as data: its columns with dtype,
unit, default, whether they are required, and a description. Loading, defaults,
pandera checks and the README's data reference all derive from this one declaration.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

DType = Literal["str", "int", "float", "bool", "date"]

TABLE_ORDER: tuple[str, ...] = (
    "units",
    "residences",
    "holders",
    "conventions",
    "applicants",
    "thresholds",
    "ceilings",
    "history",
)


class ColumnSpec(BaseModel):
    """One declared column: type, unit, default, requirement and checks."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    dtype: DType
    required: bool
    description: str
    unit: str | None = None
    default: Any = None
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    enum: tuple[str, ...] | None = None
    pattern: str | None = None
    unique: bool = False
    references: str | None = None
    list: bool = False

    @property
    def nullable(self) -> bool:
        """Whether an empty cell stays empty (no default and not required)."""
        return not self.required and self.default is None

    @field_validator("references")
    @classmethod
    def _reference_is_table_dot_column(cls, value: str | None) -> str | None:
        if value is not None and value.count(".") != 1:
            raise ValueError(f"references must read 'table.column', got {value!r}")
        return value


class TableSpec(BaseModel):
    """One declared table: its columns in order, its key and whether it must be present."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    description: str
    key: str | tuple[str, ...]
    required: bool
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)

    @property
    def key_columns(self) -> tuple[str, ...]:
        """The key as a tuple of column names."""
        return (self.key,) if isinstance(self.key, str) else tuple(self.key)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns that must be present in the file."""
        return tuple(name for name, col in self.columns.items() if col.required)


@cache
def schema() -> dict[str, TableSpec]:
    """Return the declared tables, in the canonical order, parsed from ``tables.yaml``."""
    text = resources.files("fluxopt.schema").joinpath("tables.yaml").read_text(encoding="utf-8")
    raw = yaml.safe_load(text)
    tables: dict[str, TableSpec] = {}
    for table_name in TABLE_ORDER:
        entry = dict(raw[table_name])
        columns = {
            col_name: ColumnSpec(name=col_name, **col_raw)
            for col_name, col_raw in entry.pop("columns").items()
        }
        tables[table_name] = TableSpec(name=table_name, columns=columns, **entry)
    unknown = set(raw) - set(TABLE_ORDER)
    if unknown:
        raise ValueError(f"tables.yaml declares tables fluxopt does not know: {sorted(unknown)}")
    return tables


def reference_markdown() -> str:
    """Render the data reference (one Markdown table per declared table) for the README."""
    lines: list[str] = []
    for spec in schema().values():
        presence = "required" if spec.required else "optional"
        lines.append(f"#### `{spec.name}` ({presence}, key `{', '.join(spec.key_columns)}`)")
        lines.append("")
        lines.append(spec.description)
        lines.append("")
        lines.append("| column | type | unit | required | default | description |")
        lines.append("|---|---|---|---|---|---|")
        for col in spec.columns.values():
            default = "" if col.default is None else f"`{col.default}`"
            if isinstance(col.default, bool):
                default = f"`{str(col.default).lower()}`"
            checks = _checks_text(col)
            description = col.description + (f" ({checks})" if checks else "")
            lines.append(
                f"| `{col.name}` | {col.dtype} | {col.unit or ''} | "
                f"{'yes' if col.required else 'no'} | {default} | {description} |"
            )
        lines.append("")
    return "\n".join(lines)


def _checks_text(col: ColumnSpec) -> str:
    parts: list[str] = []
    if col.enum:
        parts.append("one of " + ", ".join(f"`{v}`" for v in col.enum))
    if col.min is not None:
        parts.append(f"{'>' if col.min_exclusive else '≥'} {col.min:g}")
    if col.max is not None:
        parts.append(f"≤ {col.max:g}")
    if col.unique:
        parts.append("unique")
    if col.references:
        parts.append(f"refers to `{col.references}`")
    if col.list:
        parts.append("list")
    return "; ".join(parts)
