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
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


class DerivedSpec(BaseModel):
    """One derived column: computed by :mod:`fluxopt.derive`, never read from a file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    dtype: DType
    description: str
    unit: str | None = None


class TableSpec(BaseModel):
    """One declared table: its columns in order, its key and whether it must be present.

    ``derived`` names the columns computed from the table (and others) by code; an input
    file that holds one of them is warned about and the computed value wins.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    description: str
    key: str | tuple[str, ...]
    required: bool
    columns: dict[str, ColumnSpec] = Field(default_factory=dict)
    derived: dict[str, DerivedSpec] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _key_and_derived_are_consistent(self) -> TableSpec:
        missing = [k for k in self.key_columns if k not in self.columns]
        if missing:
            raise ValueError(f"table {self.name}: key columns {missing} are not declared")
        clash = sorted(set(self.derived) & set(self.columns))
        if clash:
            raise ValueError(f"table {self.name}: {clash} are both read and derived")
        return self

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
        derived = {
            col_name: DerivedSpec(name=col_name, **col_raw)
            for col_name, col_raw in (entry.pop("derived", None) or {}).items()
        }
        tables[table_name] = TableSpec(name=table_name, columns=columns, derived=derived, **entry)
    unknown = set(raw) - set(TABLE_ORDER)
    if unknown:
        raise ValueError(f"tables.yaml declares tables fluxopt does not know: {sorted(unknown)}")
    _check_references_resolve(tables)
    return tables


def _check_references_resolve(tables: dict[str, TableSpec]) -> None:
    """Every ``references`` must name a declared column that is unique in its table."""
    for spec in tables.values():
        for col in spec.columns.values():
            if col.references is None:
                continue
            table, column = col.references.split(".")
            target = tables.get(table)
            if target is None or column not in target.columns:
                raise ValueError(f"{spec.name}.{col.name} references unknown {col.references}")
            if not target.columns[column].unique:
                raise ValueError(f"{spec.name}.{col.name} references non-unique {col.references}")


def reference_markdown() -> str:
    """Render the data reference (one Markdown table per declared table) for the README.

    Each table gets a heading with its presence and key, its description, one row per
    column (type, unit, whether required, default, description with its checks), and the
    list of the columns fluxopt derives from it.
    """
    lines: list[str] = []
    for spec in schema().values():
        presence = "required" if spec.required else "optional"
        lines.append(f"#### `{spec.name}` ({presence}, key `{', '.join(spec.key_columns)}`)")
        lines.append("")
        lines.append(_cell(spec.description))
        lines.append("")
        lines.append("| column | type | unit | required | default | description |")
        lines.append("|---|---|---|---|---|---|")
        for col in spec.columns.values():
            checks = _checks_text(col)
            description = col.description + (f" ({checks})" if checks else "")
            lines.append(
                f"| `{col.name}` | {col.dtype} | {_cell(col.unit or '')} | "
                f"{'yes' if col.required else 'no'} | {_default_text(col.default)} | "
                f"{_cell(description)} |"
            )
        if spec.derived:
            lines.append("")
            lines.append(f"Derived by fluxopt (never read from the `{spec.name}` file):")
            lines.append("")
            lines.append("| column | type | unit | description |")
            lines.append("|---|---|---|---|")
            for derived in spec.derived.values():
                lines.append(
                    f"| `{derived.name}` | {derived.dtype} | {_cell(derived.unit or '')} | "
                    f"{_cell(derived.description)} |"
                )
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def _default_text(default: object) -> str:
    if default is None:
        return ""
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    if default == "":
        return "empty"
    return f"`{default}`"


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
        parts.append("list separated by `;`")
    return "; ".join(parts)
