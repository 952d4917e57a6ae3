"""Open a ledger by URL, create or upgrade its schema, write a batch in one transaction.

A ledger is any SQLAlchemy database: a plain file name (``fluxopt.db``) is a SQLite file,
anything with ``://`` is a SQLAlchemy URL (``postgresql+psycopg://user@host/db``). Writes
are atomic: :meth:`Ledger.record_batch` replaces a month's batch and inserts its rows in one
transaction, and :meth:`Ledger.record_outcomes` does the same for an outcomes file; if
anything fails on the way, the transaction is rolled back and the ledger is exactly as
before.

Every write transaction declares its intent to write when it begins (``BEGIN IMMEDIATE``
on SQLite, whose default transactions would start as readers and fail to upgrade under
contention; PostgreSQL's row locks do the same job), and every write of decisions or
outcomes increases the ledger's revision (table ``ledger_state``) in the same transaction.
:meth:`Ledger.record_batch` takes the revision its batch was planned on and refuses, inside
its transaction, when the revision moved: the year to date it solved on is no longer the
ledger's (:class:`LedgerChangedError`).

A SQLite file that is not a database, or whose pages are damaged, is refused when it is
opened (``PRAGMA quick_check``) with a one-line :class:`~fluxopt.schema.problems.RefusedError`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shlex
import uuid
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
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.orm import DeclarativeBase

from fluxopt.ledger.schema import (
    BATCH_TABLES,
    SCHEMA_VERSION,
    Base,
    BatchRow,
    FluxPositionRow,
    LedgerStateRow,
    OrientationRow,
    OutcomeImportRow,
    OutcomeRow,
    QuotaPositionRow,
    SchemaVersion,
    ShortlistRow,
)
from fluxopt.ledger.snapshot import capture_batch, restore_batch
from fluxopt.schema.problems import FluxoptError, RefusedError
from fluxopt.ytd import YearToDate

DEFAULT_LEDGER = "fluxopt.db"

SCHEMA_LOCK_KEY = 7_405_331_116
"""PostgreSQL advisory lock taken while a ledger's schema is created or upgraded."""

Migration = Callable[[Connection], None]


def _add_publication_columns(conn: Connection) -> None:
    """Version 2: run id, publication steps, stale mark and undo of each batch.

    Batches recorded before version 2 count as published when they finished.
    """
    for name, kind in (
        ("run_id", "VARCHAR(32)"),
        ("out_dir", "TEXT"),
        ("committed_at", "VARCHAR(32)"),
        ("published_at", "VARCHAR(32)"),
        ("stale", "TEXT"),
        ("undo", "TEXT"),
    ):
        conn.execute(text(f"ALTER TABLE batches ADD COLUMN {name} {kind} DEFAULT '' NOT NULL"))
    conn.execute(
        update(BatchRow).values(
            committed_at=BatchRow.finished_at, published_at=BatchRow.finished_at
        )
    )


MIGRATIONS: dict[int, Migration] = {2: _add_publication_columns}
"""Upgrade steps: ``MIGRATIONS[v]`` brings a ledger from version ``v - 1`` to ``v``."""


class LedgerChangedError(RefusedError):
    """The ledger was written after a batch read it: the batch is not recorded."""


def ledger_url(value: str | Path) -> str:
    """The SQLAlchemy URL of a ledger given as a URL or as a SQLite file name."""
    text = str(value)
    if "://" in text:
        return text
    return f"sqlite:///{Path(text).expanduser().resolve()}"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ledger URL (``None`` for other databases and memory)."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return Path(url.removeprefix("sqlite:///"))


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
        self.file = sqlite_file(self.url)
        if self.file is not None and not create and not self.file.exists():
            raise FluxoptError(f"no ledger at {self.file}; run fluxopt batch first")
        if self.file is not None:
            self.file.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.engine: Engine = create_engine(self.url)
        except (ArgumentError, ImportError) as exc:
            raise FluxoptError(f"cannot open the ledger {shown_url(self.url)}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        try:
            self._check_file()
            self._ensure_schema()
            self.ledger_id = self._identity()
        except DatabaseError as exc:
            self.engine.dispose()
            if self.file is not None and not isinstance(exc, OperationalError):
                raise self.unreadable(exc) from exc
            raise FluxoptError(f"cannot open the ledger {shown_url(self.url)}: {exc.orig}") from exc
        except BaseException:
            self.engine.dispose()
            raise

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

    @property
    def option(self) -> str:
        """How to name this ledger on the command line (``--ledger`` value, quoted)."""
        return shlex.quote(str(self.file) if self.file is not None else self.name)

    def unreadable(self, exc: BaseException) -> RefusedError:
        """The one-line error of a SQLite file that is not a readable ledger."""
        reason = getattr(exc, "orig", None) or exc
        return RefusedError(
            f"the ledger file {self.file} is not a readable SQLite database ({reason}); "
            "restore it from a backup, or give another --ledger (nothing was changed)"
        )

    def _check_file(self) -> None:
        """Refuse a SQLite file whose pages are not a sound database."""
        if self.file is None or not self.file.exists() or self.file.stat().st_size == 0:
            return
        with self.engine.connect() as conn:
            found = [str(row[0]) for row in conn.exec_driver_sql("PRAGMA quick_check(3)")]
        if found != ["ok"]:
            raise self.unreadable(FluxoptError("; ".join(found)))

    def _ensure_schema(self) -> None:
        """Create the tables of a new ledger, or upgrade an older one step by step."""
        with self.write() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
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
            if conn.execute(select(LedgerStateRow.id)).first() is None:
                conn.execute(
                    insert(LedgerStateRow).values(
                        id=1, ledger_id=uuid.uuid4().hex, revision=0, created_at=now_text()
                    )
                )

    def _identity(self) -> str:
        with self.connect() as conn:
            return str(conn.execute(select(LedgerStateRow.ledger_id)).scalar_one())

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite): committed unless it raises."""
        with self.engine.connect() as conn:
            conn.execution_options(ledger_write=True)
            with conn.begin():
                yield conn

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

    def revision(self) -> int:
        """The ledger's revision: how many writes of decisions or outcomes it has seen."""
        with self.connect() as conn:
            return int(conn.execute(select(LedgerStateRow.revision)).scalar_one())

    def half_published(self) -> pd.DataFrame:
        """Batches committed whose papers are not published yet (``published_at`` empty)."""
        batches = self.frame(BatchRow)
        return batches[batches["published_at"] == ""].sort_values("month", ignore_index=True)

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

    def record_batch(self, record: BatchRecord, *, revision: int) -> list[str]:
        """Write a batch in one transaction; return the later months it made stale.

        Inside the transaction, first the ledger's revision moves from ``revision`` (the one
        the batch was planned on) to the next, or the batch is refused
        (:class:`LedgerChangedError`); then the earlier batch of the same month, its rows
        and its outcomes are deleted (and kept in the new batch's ``undo``), the new batch
        row (committed, not yet published) and its tables are inserted, and the later
        batches of the year are marked stale. An error at any step rolls everything back.
        """
        batch = {**record.batch, "committed_at": now_text()}
        batch_id, month = batch["batch_id"], batch["month"]
        with self.write() as conn:
            self._advance(conn, expected=revision)
            replaced = capture_batch(conn, batch_id)
            delete_batch(conn, batch_id)
            later = (
                conn.execute(
                    select(BatchRow.month).where(
                        BatchRow.year == batch["year"], BatchRow.month > month, BatchRow.stale == ""
                    )
                )
                .scalars()
                .all()
            )
            undo = {"replaced": replaced, "stale_marked": sorted(later)}
            row = {**batch, "undo": json.dumps(undo, sort_keys=True), "published_at": ""}
            conn.execute(insert(BatchRow), [_plain(row)])
            for model, frame in record.tables.items():
                insert_rows(conn, model, frame)
            if later:
                reason = f"{month} was recorded again on {batch['committed_at']}"
                conn.execute(update(BatchRow).where(BatchRow.month.in_(later)).values(stale=reason))
        return sorted(later)

    def mark_published(self, batch_id: str, run_id: str) -> None:
        """Record that the papers of a batch are in their folder (its second step)."""
        with self.write() as conn:
            conn.execute(
                update(BatchRow)
                .where(BatchRow.batch_id == batch_id, BatchRow.run_id == run_id)
                .values(published_at=now_text(), undo="")
            )

    def undo_batch(self, batch_id: str) -> dict[str, Any]:
        """Undo a half-published batch in one transaction: the ledger as before its commit.

        Deletes the batch and its rows, restores the batch it replaced (rows and outcomes)
        and clears the stale marks it set; returns the batch's ``undo`` record.
        """
        with self.write() as conn:
            found = conn.execute(
                select(BatchRow.undo, BatchRow.published_at).where(BatchRow.batch_id == batch_id)
            ).first()
            if found is None or found.published_at:
                raise RefusedError(f"batch {batch_id} is not half-published; nothing to undo")
            self._advance(conn)
            undo: dict[str, Any] = json.loads(found.undo or "{}")
            delete_batch(conn, batch_id)
            if undo.get("replaced"):
                restore_batch(conn, undo["replaced"])
            if undo.get("stale_marked"):
                conn.execute(
                    update(BatchRow)
                    .where(BatchRow.month.in_(list(undo["stale_marked"])))
                    .values(stale="")
                )
        return undo

    def _advance(self, conn: Connection, expected: int | None = None) -> None:
        """Increase the revision by one; with ``expected``, only from that revision."""
        statement = update(LedgerStateRow).values(revision=LedgerStateRow.revision + 1)
        if expected is not None:
            statement = statement.where(LedgerStateRow.revision == expected)
        if conn.execute(statement).rowcount != 1:
            now = conn.execute(select(LedgerStateRow.revision)).scalar_one()
            raise LedgerChangedError(
                "another batch was recorded meanwhile (or outcomes were imported): the ledger "
                f"{self.name} moved from revision {expected} to {now} while this batch was "
                "solving; nothing was recorded; run again"
            )

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
        with self.write() as conn:
            self._advance(conn)
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


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """Wait for a busy SQLite file rather than fail at once; let SQLAlchemy emit BEGIN."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout = 10000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    """Begin a SQLite transaction, as a writer from the start when it will write."""
    immediate = conn.get_execution_options().get("ledger_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
