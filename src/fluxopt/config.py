"""The ``instance.yaml`` file of an instance folder.

It names the instance, its territory and period, where each table lives (when not at
the default ``<table>.csv``/``.parquet``/``.xlsx``), and which constraint set and
scoring grid to use by default.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fluxopt.schema.declaration import TABLE_ORDER
from fluxopt.schema.paths import looks_like_path, name_problem, path_problem


class Territory(BaseModel):
    """The territory the instance covers (a department in the default perimeter)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    department: str = Field(description="Department code, e.g. '25' for Doubs.")
    name: str = Field(default="", description="Name of the territory.")


class GeneratorInfo(BaseModel):
    """How a synthetic instance was produced (absent for real data)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    preset: str
    seed: int
    version: str = ""


class InstanceConfig(BaseModel):
    """The contents of ``instance.yaml``.

    Paths it names stay inside the instance folder (:mod:`fluxopt.schema.paths`): ``name``
    is a plain name, table files and grid or constraint-set files are relative paths
    without ``..``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Short name of the instance.")
    description: str = ""
    territory: Territory
    landlord: str = Field(default="", description="Name of the social landlord (bailleur).")
    year: int = Field(ge=2000, le=2100, description="Allocation year the instance belongs to.")
    months: tuple[str, ...] = Field(
        default=(), description="Months (YYYY-MM) whose vacancies the instance holds."
    )
    reference_date: dt.date | None = Field(
        default=None, description="Date at which waits are measured; default: start of the period."
    )
    tables: dict[str, str] = Field(
        default_factory=dict, description="File of each table, relative to the folder."
    )
    constraints: str = Field(default="lec-default", description="Default constraint set.")
    grid: str = Field(default="", description="Default scoring grid (empty: none).")
    generator: GeneratorInfo | None = None

    @field_validator("name")
    @classmethod
    def _name_is_plain(cls, name: str) -> str:
        problem = name_problem(name)
        if problem:
            raise ValueError(f"the name {problem} (it names the output folder out/<name>)")
        return name

    @field_validator("tables")
    @classmethod
    def _tables_are_declared(cls, tables: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(tables) - set(TABLE_ORDER))
        if unknown:
            raise ValueError(
                f"unknown table(s) {', '.join(unknown)}; known tables: {', '.join(TABLE_ORDER)}"
            )
        for table, file in tables.items():
            problem = path_problem(file)
            if problem:
                raise ValueError(f"the file of table {table}: {problem}")
        return tables

    @field_validator("grid", "constraints")
    @classmethod
    def _rule_file_inside(cls, name: str) -> str:
        if looks_like_path(name):
            problem = path_problem(name)
            if problem:
                raise ValueError(problem)
        return name

    @field_validator("months")
    @classmethod
    def _months_are_iso(cls, months: tuple[str, ...]) -> tuple[str, ...]:
        for month in months:
            try:
                dt.date.fromisoformat(f"{month}-01")
            except ValueError as exc:
                raise ValueError(f"month {month!r} is not YYYY-MM") from exc
        return months

    @model_validator(mode="after")
    def _months_in_year(self) -> InstanceConfig:
        stray = [m for m in self.months if not m.startswith(f"{self.year}-")]
        if stray:
            raise ValueError(f"months {stray} are outside the year {self.year}")
        return self

    @property
    def period_start(self) -> dt.date:
        """First day of the first month of the instance (or of the year)."""
        if self.months:
            return dt.date.fromisoformat(f"{min(self.months)}-01")
        return dt.date(self.year, 1, 1)

    @property
    def wait_reference(self) -> dt.date:
        """Date at which waits are measured."""
        return self.reference_date or self.period_start

    def table_path(self, folder: Path, table: str) -> Path | None:
        """Path of a table's file, declared or discovered; ``None`` when there is none."""
        return table_file(folder, table, self.tables)


def table_file(folder: Path, table: str, files: dict[str, str]) -> Path | None:
    """Path of a table's file: as named in ``files``, else discovered by its name.

    A table named in ``files`` (the ``tables`` key of ``instance.yaml``) lives there;
    otherwise it is ``<table>.csv``, ``<table>.parquet`` or ``<table>.xlsx`` in the folder,
    the first that exists; ``None`` when there is none.
    """
    if table in files:
        return folder / files[table]
    for suffix in (".csv", ".parquet", ".xlsx"):
        candidate = folder / f"{table}{suffix}"
        if candidate.exists():
            return candidate
    return None
