"""Keep the rows of a batch as plain data, and put them back: how a batch is undone.

When a batch replaces an earlier batch of the same month, the earlier batch's rows (its
``batches`` row, orientations, shortlists, flux and quota positions, outcomes and the
outcome imports these come from) are captured, inside the replacing transaction, as a JSON
object. Undoing the replacing batch before its papers are published restores them exactly
(:func:`restore_batch`), so that the ledger is again as it was before the batch.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table, insert, select

from fluxopt.ledger.schema import (
    BATCH_TABLES,
    BatchRow,
    OutcomeImportRow,
    OutcomeRow,
)

Snapshot = dict[str, list[dict[str, Any]]]
"""Rows per table name, each row a mapping of column to plain value."""


def capture_batch(conn: Connection, batch_id: str) -> Snapshot | None:
    """The rows of a batch and of its outcomes, or ``None`` when there is no such batch."""
    batch = _rows(conn, _table(BatchRow), BatchRow.batch_id == batch_id)
    if not batch:
        return None
    snapshot: Snapshot = {"batches": batch}
    for model in (*BATCH_TABLES, OutcomeRow):
        table = _table(model)
        snapshot[table.name] = _rows(conn, table, table.columns["batch_id"] == batch_id)
    used = sorted({row["import_id"] for row in snapshot[_table(OutcomeRow).name]})
    snapshot[_table(OutcomeImportRow).name] = _rows(
        conn, _table(OutcomeImportRow), OutcomeImportRow.import_id.in_(used)
    )
    return snapshot


def restore_batch(conn: Connection, snapshot: Snapshot) -> None:
    """Insert the rows of a captured batch back (imports that still exist are kept)."""
    imports = _table(OutcomeImportRow)
    present = set(conn.execute(select(OutcomeImportRow.import_id)).scalars())
    missing = [row for row in snapshot.get(imports.name, []) if row["import_id"] not in present]
    if missing:
        conn.execute(insert(imports), missing)
    for model in (BatchRow, *BATCH_TABLES, OutcomeRow):
        rows = snapshot.get(_table(model).name, [])
        if rows:
            conn.execute(insert(_table(model)), rows)


def _rows(conn: Connection, table: Table, where: Any) -> list[dict[str, Any]]:
    result = conn.execute(select(table).where(where).order_by(*table.primary_key.columns))
    return [dict(row._mapping) for row in result]


def _table(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table
