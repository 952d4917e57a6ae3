"""Open a ledger by URL, create or upgrade its schema, write a batch in one transaction.

A ledger is any SQLAlchemy database: a plain file name (``fluxopt.db``) is a SQLite file,
anything with ``://`` is a SQLAlchemy URL (``postgresql+psycopg://…``). Writes are atomic:
:meth:`Ledger.record_batch` replaces a month's batch and inserts its rows in one
transaction, and :meth:`Ledger.record_outcomes` does the same for an outcomes file; if
anything fails on the way, the transaction is rolled back and the ledger is exactly as
before.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    Table,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import DeclarativeBase

from fluxopt.ledger.schema import (
    BATCH_TABLES,
    SCHEMA_VERSION,
    Base,
    BatchRow,
    FluxPositionRow,
    OrientationRow,
    OutcomeImportRow,
    OutcomeRow,
    QuotaPositionRow,
    SchemaVersion,
    ShortlistRow,
)
from fluxopt.schema.problems import FluxoptError
from fluxopt.ytd import YearToDate

DEFAULT_LEDGER = "fluxopt.db"

Migration = Callable[[Connection], None]
MIGRATIONS: dict[int, Migration] = {}
"""Upgrade steps: ``MIGRATIONS[v]`` brings a ledger from version ``v - 1`` to ``v``."""


def ledger_url(value: str | Path) -> str:
    """The SQLAlchemy URL of a ledger given as a URL or as a SQLite file name."""
    text = str(value)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def shown_url(url: str) -> str:
    """The URL with its password hidden, for messages and summaries."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def now_text() -> str:
    """The current time in UTC, ISO 8601 to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@dataclass
class BatchRecord:
    """Everything a batch writes to the ledger: the batch row and its tables."""

    batch: dict[str, Any]
    orientations: pd.DataFrame
    shortlists: pd.DataFrame
    flux_positions: pd.DataFrame
    quota_positions: pd.DataFrame
    tables: dict[type[DeclarativeBase], pd.DataFrame] = field(init=False)

    def __post_init__(self) -> None:
        self.tables = {
            OrientationRow: self.orientations,
            ShortlistRow: self.shortlists,
            FluxPositionRow: self.flux_positions,
            QuotaPositionRow: self.quota_positions,
        }


class Ledger:
    """A ledger database: schema management, reads as DataFrames, atomic writes."""

    def __init__(self, url: str | Path = DEFAULT_LEDGER, *, create: bool = True) -> None:
        self.url = ledger_url(url)
        if not create and self.url.startswith("sqlite:///"):
            path = Path(self.url.removeprefix("sqlite:///"))
            if not path.exists():
                raise FluxoptError(f"no ledger at {path}; run fluxopt batch first")
        if self.url.startswith("sqlite:///"):
            Path(self.url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(self.url)
        except (ArgumentError, ImportError) as exc:
            raise FluxoptError(f"cannot open the ledger {shown_url(self.url)}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self._ensure_schema()
        except OperationalError as exc:
            raise FluxoptError(f"cannot open the ledger {shown_url(self.url)}: {exc.orig}") from exc

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    @property
    def name(self) -> str:
        """The URL with its password hidden."""
        return shown_url(self.url)

    def _ensure_schema(self) -> None:
        """Create the tables of a new ledger, or upgrade an older one step by step."""
        with self.engine.begin() as conn:
            current: int | None = None
            if inspect(conn).has_table(SchemaVersion.__tablename__):
                found = conn.execute(select(SchemaVersion.version)).scalars().all()
                current = max(found, default=None)
            if current is not None and current > SCHEMA_VERSION:
                raise FluxoptError(
                    f"the ledger {self.name} has schema version {current}, newer than this "
                    f"fluxopt's ({SCHEMA_VERSION}); upgrade fluxopt"
                )
            if current is not None:
                for version in range(current + 1, SCHEMA_VERSION + 1):
                    MIGRATIONS[version](conn)
                    conn.execute(
                        insert(SchemaVersion).values(version=version, applied_at=now_text())
                    )
            Base.metadata.create_all(conn)
            if current is None:
                conn.execute(
                    insert(SchemaVersion).values(version=SCHEMA_VERSION, applied_at=now_text())
                )

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A read connection."""
        with self.engine.connect() as conn:
            yield conn

    # ------------------------------------------------------------------ reads

    def frame(
        self,
        model: type[DeclarativeBase],
        *,
        year: int | None = None,
        before_month: str | None = None,
        months: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Rows of a table as a DataFrame, with the batch ``month`` for batch tables."""
        table = _table(model)
        filtered = year is not None or before_month is not None or months is not None
        if filtered and model is not BatchRow and "batch_id" not in table.columns:
            raise ValueError(f"{table.name} rows belong to no batch; read them unfiltered")
        columns = list(table.columns)
        statement = select(*columns)
        if model is not BatchRow and "batch_id" in table.columns:
            statement = statement.add_columns(BatchRow.month.label("batch_month")).join(
                BatchRow, BatchRow.batch_id == table.columns["batch_id"]
            )
        if year is not None:
            statement = statement.where(BatchRow.year == year)
        if before_month is not None:
            statement = statement.where(BatchRow.month < before_month)
        if months is not None:
            statement = statement.where(BatchRow.month.in_(list(months)))
        statement = statement.order_by(*table.primary_key.columns)
        with self.connect() as conn:
            result = conn.execute(statement)
            frame = pd.DataFrame(result.all(), columns=list(result.keys()))
        return _typed(frame, table.columns)

    def batches(self, year: int | None = None) -> pd.DataFrame:
        """The batch rows, in month order."""
        return self.frame(BatchRow, year=year).sort_values("month", ignore_index=True)

    def batch(self, month: str) -> dict[str, Any] | None:
        """The batch row of a month, or ``None``."""
        with self.connect() as conn:
            row = conn.execute(select(BatchRow.__table__).where(BatchRow.month == month)).first()
        return dict(row._mapping) if row is not None else None

    def years(self) -> list[int]:
        """The years that have batches."""
        with self.connect() as conn:
            found = conn.execute(select(BatchRow.year).distinct()).scalars().all()
        return sorted(int(y) for y in found)

    def year_to_date(
        self, year: int, before_month: str, exclude_units: Iterable[str] = ()
    ) -> YearToDate:
        """Orientations and attributions of the year before a month (see ``counters``)."""
        from fluxopt.ledger.counters import year_to_date

        return year_to_date(self, year, before_month, exclude_units)

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every table, in key order (to compare two states of a ledger)."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        with self.connect() as conn:
            for table in Base.metadata.sorted_tables:
                rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
                out[table.name] = [tuple(row) for row in rows]
        return out

    # ----------------------------------------------------------------- writes

    def record_batch(self, record: BatchRecord, *, replace: bool = True) -> None:
        """Write a batch in one transaction, replacing the month's earlier batch and outcomes.

        The earlier batch of the same month (if ``replace``), its rows and its outcomes are
        deleted, then the new batch row and its tables are inserted; an error at any step
        rolls everything back.
        """
        batch_id = record.batch["batch_id"]
        with self.engine.begin() as conn:
            if replace:
                delete_batch(conn, batch_id)
            conn.execute(insert(BatchRow), [_plain(record.batch)])
            for model, frame in record.tables.items():
                insert_rows(conn, model, frame)

    def record_outcomes(
        self,
        import_row: dict[str, Any],
        outcomes: pd.DataFrame,
        replaces: Iterable[tuple[str, str]],
    ) -> int:
        """Write an outcomes import in one transaction; return its import id.

        Earlier outcomes of the (batch, unit) pairs in ``replaces`` are deleted first, so
        importing the same file twice leaves one set of outcomes.
        """
        with self.engine.begin() as conn:
            for batch_id, unit_id in replaces:
                conn.execute(
                    delete(OutcomeRow).where(
                        OutcomeRow.batch_id == batch_id, OutcomeRow.unit_id == unit_id
                    )
                )
            import_id = conn.execute(
                insert(OutcomeImportRow).values(**import_row)
            ).inserted_primary_key
            assert import_id is not None
            insert_rows(conn, OutcomeRow, outcomes.assign(import_id=int(import_id[0])))
            _drop_unused_imports(conn)
        return int(import_id[0])


def delete_batch(conn: Connection, batch_id: str) -> None:
    """Delete a batch, its rows and its outcomes (inside the caller's transaction)."""
    conn.execute(delete(OutcomeRow).where(OutcomeRow.batch_id == batch_id))
    for model in BATCH_TABLES:
        conn.execute(delete(model).where(_table(model).columns["batch_id"] == batch_id))
    conn.execute(delete(BatchRow).where(BatchRow.batch_id == batch_id))
    _drop_unused_imports(conn)


def insert_rows(conn: Connection, model: type[DeclarativeBase], frame: pd.DataFrame) -> None:
    """Insert the rows of a DataFrame into a table (columns the table does not have are ignored)."""
    if frame.empty:
        return
    names = [c.name for c in _table(model).columns if c.name in frame.columns]
    records = [_plain(r) for r in frame[names].to_dict("records")]
    conn.execute(insert(model), records)


def _table(model: type[DeclarativeBase]) -> Table:
    """The table of a declarative class."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _drop_unused_imports(conn: Connection) -> None:
    used = select(OutcomeRow.import_id).distinct()
    conn.execute(delete(OutcomeImportRow).where(OutcomeImportRow.import_id.not_in(used)))


def _plain(record: dict[Any, Any]) -> dict[str, Any]:
    """A record with numpy scalars as Python values and missing floats as ``None``."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and math.isnan(value):
            value = None
        if value is pd.NA or value is pd.NaT:
            value = None
        out[str(key)] = value
    return out


def _typed(frame: pd.DataFrame, columns: Any) -> pd.DataFrame:
    """Cast the ledger's boolean, integer and text columns to plain pandas dtypes."""
    for column in columns:
        if column.name not in frame:
            continue
        python_type = column.type.python_type
        if python_type is bool:
            frame[column.name] = frame[column.name].fillna(False).astype(bool)
        elif python_type is str:
            frame[column.name] = frame[column.name].fillna("").astype(str)
        elif python_type is float:
            frame[column.name] = pd.to_numeric(frame[column.name]).astype(float)
    if "batch_month" in frame:
        frame["batch_month"] = frame["batch_month"].astype(str)
    return frame


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Wait for a busy SQLite file rather than fail at once."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.close()
