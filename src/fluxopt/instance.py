"""An instance: ``instance.yaml`` plus one table per kind, validated as a whole.

An instance folder holds ``instance.yaml`` and the tables of design §3 as CSV, Parquet or
XLSX files, mixed freely. :func:`load_instance` reads everything, collects every problem
(missing files and columns, bad cells, failed checks, dangling references) and raises one
:class:`~fluxopt.schema.problems.InvalidInputError` that lists them all; nothing downstream
ever sees an invalid instance. :meth:`Instance.save` writes the declared tables back in any
format, and reading them again gives equal tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Literal

import pandas as pd
import yaml
from pydantic import ValidationError

from fluxopt.cells import neutralise_frame
from fluxopt.config import InstanceConfig, table_file
from fluxopt.derive import derive_applicants, derive_units
from fluxopt.schema.checks import (
    check_columns,
    check_consistency,
    check_references,
    check_table_present,
)
from fluxopt.schema.coerce import READERS, coerce_table, read_raw
from fluxopt.schema.csvfile import UnknownEncodingError
from fluxopt.schema.declaration import TABLE_ORDER, schema
from fluxopt.schema.paths import escapes, looks_like_path, path_problem
from fluxopt.schema.problems import InvalidInputError, Problem, ProblemLog

TableFormat = Literal["csv", "parquet", "xlsx"]
CONFIG_FILE = "instance.yaml"


@dataclass
class Instance:
    """A validated instance: its configuration and its typed tables.

    ``tables`` holds the declared tables exactly as read (after defaults); the derived views
    :attr:`units` and :attr:`applicants` add the computed columns of :mod:`fluxopt.derive`.
    """

    config: InstanceConfig
    tables: dict[str, pd.DataFrame]
    folder: Path | None = None
    warnings: list[Problem] = field(default_factory=list)

    @cached_property
    def units(self) -> pd.DataFrame:
        """Units with residence attributes filled in and segments derived."""
        return derive_units(self.tables["units"], self.tables["residences"])

    @cached_property
    def applicants(self) -> pd.DataFrame:
        """Applicants with consumption units, category, wait and first-quartile flag."""
        return derive_applicants(
            self.tables["applicants"],
            self.tables["residences"],
            self.tables["thresholds"],
            self.config.wait_reference,
        )

    @property
    def grid_source(self) -> str:
        """The grid ``instance.yaml`` names: a bundled name, or a file of the instance folder."""
        return self._rule_source(self.config.grid)

    @property
    def constraints_source(self) -> str:
        """The constraint set ``instance.yaml`` names, a file resolved in the instance folder."""
        return self._rule_source(self.config.constraints)

    def _rule_source(self, text: str) -> str:
        """A file name of ``instance.yaml`` is read from the instance folder, not the cwd."""
        if self.folder is None or not text or not looks_like_path(text):
            return text
        return str(self.folder / text)

    @property
    def residences(self) -> pd.DataFrame:
        """The residences table."""
        return self.tables["residences"]

    @property
    def holders(self) -> pd.DataFrame:
        """The holders table."""
        return self.tables["holders"]

    @property
    def conventions(self) -> pd.DataFrame:
        """The conventions table."""
        return self.tables["conventions"]

    @property
    def thresholds(self) -> pd.DataFrame:
        """The first-quartile thresholds table."""
        return self.tables["thresholds"]

    @property
    def ceilings(self) -> pd.DataFrame:
        """The income ceilings table."""
        return self.tables["ceilings"]

    @property
    def history(self) -> pd.DataFrame:
        """The history table (empty when the instance has none)."""
        return self.tables["history"]

    @property
    def name(self) -> str:
        """The instance's short name."""
        return self.config.name

    def with_tables(self, **replacements: pd.DataFrame) -> Instance:
        """A copy with some tables replaced, validated again as a whole."""
        tables = {**self.tables, **replacements}
        return instance_from_tables(self.config, tables, folder=self.folder)

    def summary(self) -> dict[str, object]:
        """Headline figures of the instance, for the CLI and the README."""
        units, applicants = self.units, self.applicants
        return {
            "name": self.name,
            "territory": self.config.territory.name or self.config.territory.department,
            "year": self.config.year,
            "months": list(self.config.months),
            "units": len(units),
            "units_in_flux": int(units["in_flux"].sum()),
            "units_in_qpv_share": _share(units["qpv"]),
            "residences": len(self.residences),
            "fragile_residences": int(self.residences["fragile"].sum()),
            "epcis": len(self.thresholds),
            "holders": len(self.holders),
            "conventions": len(self.conventions),
            "applicants": len(applicants),
            "transfer_share": _share(applicants["is_transfer"]),
            "priority_share": _share(applicants["priority"]),
            "dalo_share": _share(applicants["dalo"]),
            "q1_share": _share(applicants["q1"].fillna(False)),
            "under_12_months_share": _share(applicants["wait_months"] < 12),
            "history_events": len(self.history),
        }

    def save(self, folder: Path, fmt: TableFormat | dict[str, TableFormat] = "csv") -> Path:
        """Write ``instance.yaml`` and every table to ``folder`` in the given format(s).

        ``fmt`` is one format for all tables or a mapping table → format (the rest as CSV).
        Only the declared columns (and undeclared extra ones) are written, never the
        derived columns; an empty history is not written. Another file of the same table
        in another format is removed, so that the folder holds one file per table.
        """
        folder.mkdir(parents=True, exist_ok=True)
        files: dict[str, str] = {}
        for name in TABLE_ORDER:
            table_fmt = fmt if isinstance(fmt, str) else fmt.get(name, "csv")
            frame = self.tables[name]
            if name == "history" and frame.empty:
                continue
            path = folder / f"{name}.{table_fmt}"
            for suffix in READERS:
                stale = folder / f"{name}{suffix}"
                if stale != path and stale.exists():
                    stale.unlink()
            write_table(frame, path)
            files[name] = path.name
        config = self.config.model_copy(update={"tables": files})
        data = config.model_dump(mode="json", exclude_defaults=False, exclude_none=True)
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        (folder / CONFIG_FILE).write_text(text, encoding="utf-8")
        return folder


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write one table in the format its suffix names, in a form that reads back equal.

    Text cells of CSV and XLSX files are neutralised (:mod:`fluxopt.cells`); reading the
    table back removes the quote prefix again.
    """
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame.to_parquet(path, index=False)
        return
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"unsupported table format {suffix!r}")
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            if suffix == ".csv":
                out[column] = series.dt.strftime("%Y-%m-%d").astype(object)
            else:
                out[column] = pd.Series(series.dt.date, index=series.index, dtype=object)
            out[column] = out[column].where(series.notna(), None)
        elif pd.api.types.is_bool_dtype(series) and suffix == ".csv":
            out[column] = series.map({True: "true", False: "false"}).astype(object)
    out = neutralise_frame(out)
    if suffix == ".csv":
        out.to_csv(path, index=False, lineterminator="\n")
    else:
        out = out.astype(object).where(out.notna(), None)
        out.to_excel(path, index=False, engine="openpyxl")


def read_config(folder: Path, log: ProblemLog) -> tuple[InstanceConfig | None, dict[str, str]]:
    """Read and check ``instance.yaml``; report what is wrong with it.

    Returns the configuration (``None`` when it is invalid) and the table files it names,
    which are still used to find the tables when another key of the file is wrong.
    """
    path = folder / CONFIG_FILE
    if not path.exists():
        log.error(CONFIG_FILE, "file is missing", f"create {CONFIG_FILE} in {folder}")
        return None, {}
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        log.error(CONFIG_FILE, f"cannot be read: {exc}", "save it as UTF-8 text")
        return None, {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        log.error(CONFIG_FILE, f"is not valid YAML{where}: {reason}", "fix the YAML syntax")
        return None, {}
    if not isinstance(raw, dict):
        log.error(CONFIG_FILE, "must be a mapping of keys to values", "see the README's example")
        return None, {}
    declared = raw.get("tables")
    files = (
        {str(k): str(v) for k, v in declared.items() if isinstance(v, str)}
        if isinstance(declared, dict)
        else {}
    )
    escaping = _escaping_paths(folder, raw, files)
    for key, text in escaping.items():
        log.error(
            CONFIG_FILE,
            f"key {key}: {text!r} leads outside the instance folder (a symbolic link)",
            "copy the file into the instance folder",
            key=key,
        )
    try:
        config = InstanceConfig.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
            hint = (
                "remove or rename the key"
                if err["type"] == "extra_forbidden"
                else "see the instance.yaml reference in the README"
            )
            log.error(CONFIG_FILE, f"key {loc}: {err['msg']}", hint, key=loc)
        return None, files
    return (None if escaping else config), files


def _escaping_paths(folder: Path, raw: dict[str, object], files: dict[str, str]) -> dict[str, str]:
    """The paths of ``instance.yaml`` that resolve outside the folder, by key."""
    named = {f"tables.{table}": file for table, file in files.items() if path_problem(file) is None}
    for key in ("grid", "constraints"):
        value = raw.get(key)
        if isinstance(value, str) and looks_like_path(value) and path_problem(value) is None:
            named[key] = value
    return {key: text for key, text in named.items() if escapes(folder, text)}


def load_instance(path: Path | str) -> Instance:
    """Load and validate an instance folder; raise one error listing every problem.

    Every check runs even when an earlier one failed (a malformed ``instance.yaml`` does
    not stop the tables from being checked), so that one run lists every problem; the
    checks across tables run once every required table could be read.
    """
    folder = Path(path)
    log = ProblemLog()
    if not folder.is_dir():
        log.error(str(folder), "is not a folder", "give the path of an instance folder")
        log.raise_if_errors(f"instance {folder}")
    config, files = read_config(folder, log)
    tables = _read_tables(folder, files, log)
    department = config.territory.department if config is not None else None
    _check_tables(tables, log, department)
    log.raise_if_errors(f"instance {folder}")
    assert config is not None
    return _make_instance(config, tables, folder, log)


def instance_from_tables(
    config: InstanceConfig, tables: dict[str, pd.DataFrame], folder: Path | None = None
) -> Instance:
    """Validate in-memory tables (already typed or raw) and bundle them as an instance."""
    log = ProblemLog()
    typed: dict[str, pd.DataFrame] = {}
    for name, spec in schema().items():
        frame = tables.get(name)
        if frame is None:
            if spec.required:
                log.error(name, "table is missing", f"provide a {name} table")
                continue
            frame = pd.DataFrame(columns=list(spec.required_columns))
        typed[name] = coerce_table(log, spec, frame)
    _check_tables(typed, log, config.territory.department)
    log.raise_if_errors(f"instance {config.name}")
    return _make_instance(config, typed, folder, log)


def _make_instance(
    config: InstanceConfig, tables: dict[str, pd.DataFrame], folder: Path | None, log: ProblemLog
) -> Instance:
    return Instance(config=config, tables=tables, folder=folder, warnings=log.warnings)


def _read_tables(folder: Path, files: dict[str, str], log: ProblemLog) -> dict[str, pd.DataFrame]:
    """Read and coerce every table; a missing or unreadable file is reported and skipped."""
    tables: dict[str, pd.DataFrame] = {}
    for name, spec in schema().items():
        if name in files and (path_problem(files[name]) or escapes(folder, files[name])):
            continue  # refused in instance.yaml (reported there): never read
        path = table_file(folder, name, files)
        if path is not None and name not in files and escapes(folder, path.name):
            log.error(
                name,
                f"file {path.name} leads outside the instance folder (a symbolic link)",
                "copy the file into the instance folder",
            )
            continue
        if path is None or not path.is_file():
            if spec.required:
                shown = path.name if path is not None else f"{name}.csv (or .parquet, .xlsx)"
                log.error(name, f"file {shown} is missing", f"add the {name} table to {folder}")
                continue
            raw = pd.DataFrame(columns=list(spec.required_columns))
        else:
            try:
                raw = read_raw(path, log, name)
            except (UnicodeDecodeError, UnknownEncodingError) as exc:
                reason = (
                    f"it is not text in a known encoding ({exc.reason})"
                    if isinstance(exc, UnicodeDecodeError)
                    else str(exc)
                )
                log.error(
                    name,
                    f"cannot read {path.name}: {reason}",
                    "save the file as UTF-8 (CSV UTF-8 in a spreadsheet)",
                )
                continue
            except Exception as exc:
                lines = str(exc).strip().splitlines()
                reason = lines[0] if lines else type(exc).__name__
                log.error(
                    name,
                    f"cannot read {path.name}: {reason}",
                    "check that the file is a valid CSV, Parquet or XLSX table",
                )
                continue
            if len(raw.columns) == 0:
                log.error(
                    name,
                    f"file {path.name} is empty (no header line)",
                    f"write the header line and at least one row: {spec.description}",
                )
                continue
        tables[name] = coerce_table(log, spec, raw)
    return tables


def _check_tables(tables: dict[str, pd.DataFrame], log: ProblemLog, department: str | None) -> None:
    """Per-table checks on every table read; checks across tables when all required are."""
    specs = schema()
    for name, frame in tables.items():
        check_table_present(log, specs[name], frame)
        check_columns(log, specs[name], frame)
    if all(name in tables for name, spec in specs.items() if spec.required):
        check_references(log, tables)
        check_consistency(log, tables, department)


def validate_path(path: Path | str) -> ProblemLog:
    """Validate an instance folder and return every problem (errors and warnings)."""
    try:
        instance = load_instance(path)
    except InvalidInputError as exc:
        return ProblemLog(list(exc.problems))
    return ProblemLog(list(instance.warnings))


def _share(mask: pd.Series) -> float:
    return float(mask.astype("float64").mean()) if len(mask) else 0.0
