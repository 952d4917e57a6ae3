"""One batch per ledger at a time: a lock row taken in its own transaction.

The lock is a row of the table ``ledger_lock`` whose primary key is the lock's name
(``batch``). Taking it is one ``INSERT`` committed at once; a second process inserting the
same key fails on the primary key, on SQLite (whose writers are serialised by the file
lock) as on PostgreSQL (whose unique index makes the second insert wait for the first
transaction, then fail). The row names its owner (a random token), what it is for, the
host and process id, and when it was taken; releasing it deletes the row of that owner
only. A lock row survives the process that took it (the reason to prefer it to a
PostgreSQL advisory lock, which SQLite lacks, or to a transaction held open during the
solve, which would block the committee's outcome imports): when the process was killed,
the row stays, and every later batch is refused with who holds it and, when the holder was
on this host and is no longer running, that the lock is stale and
``fluxopt ledger unlock --ledger L`` removes it.

The lock keeps batches apart; the ledger's revision (:meth:`Ledger.record_batch`) also
catches any write that did not take the lock (an outcomes import, a lock removed by hand).
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psutil
from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError

from fluxopt.ledger.schema import LockRow
from fluxopt.ledger.store import Ledger, now_text
from fluxopt.schema.problems import RefusedError

BATCH_LOCK = "batch"


@dataclass(frozen=True)
class LockHolder:
    """Who holds a ledger's lock."""

    owner: str
    purpose: str
    host: str
    pid: int
    acquired_at: str

    @property
    def here(self) -> bool:
        """The holder runs on this host."""
        return self.host == socket.gethostname()

    @property
    def stale(self) -> bool:
        """The holder ran on this host and its process is gone."""
        return self.here and not psutil.pid_exists(self.pid)

    def describe(self) -> str:
        """``batch 2026-02 of instance demo, since …, process 123 on host h``."""
        return f"{self.purpose}, since {self.acquired_at}, process {self.pid} on host {self.host}"


class LedgerBusyError(RefusedError):
    """Another batch holds the ledger."""


def holder(ledger: Ledger, name: str = BATCH_LOCK) -> LockHolder | None:
    """Who holds the lock ``name`` of the ledger, or ``None``."""
    with ledger.connect() as conn:
        row = conn.execute(
            select(
                LockRow.owner, LockRow.purpose, LockRow.host, LockRow.pid, LockRow.acquired_at
            ).where(LockRow.name == name)
        ).first()
    if row is None:
        return None
    return LockHolder(row.owner, row.purpose, row.host, int(row.pid), row.acquired_at)


def acquire(ledger: Ledger, purpose: str, name: str = BATCH_LOCK) -> str:
    """Take the lock ``name`` for ``purpose``; return the owner token, or refuse if held."""
    owner = uuid.uuid4().hex
    try:
        with ledger.write() as conn:
            conn.execute(
                insert(LockRow).values(
                    name=name,
                    owner=owner,
                    purpose=purpose,
                    host=socket.gethostname(),
                    pid=os.getpid(),
                    acquired_at=now_text(),
                )
            )
    except IntegrityError as exc:
        held = holder(ledger, name)
        raise LedgerBusyError(busy_message(ledger, held)) from exc
    return owner


def release(ledger: Ledger, owner: str, name: str = BATCH_LOCK) -> None:
    """Release the lock if ``owner`` holds it."""
    with ledger.write() as conn:
        conn.execute(delete(LockRow).where(LockRow.name == name, LockRow.owner == owner))


@contextmanager
def locked(ledger: Ledger, purpose: str, name: str = BATCH_LOCK) -> Iterator[str]:
    """Hold the lock for the duration of a ``with`` block (released on any exit)."""
    owner = acquire(ledger, purpose, name)
    try:
        yield owner
    finally:
        release(ledger, owner, name)


def unlock(ledger: Ledger, name: str = BATCH_LOCK) -> LockHolder | None:
    """Remove a lock left by a process that is gone; return who held it (``None``: free).

    A lock whose holder runs on this host and is still alive is not removed.
    """
    held = holder(ledger, name)
    if held is None:
        return None
    if held.here and not held.stale:
        raise LedgerBusyError(
            f"the ledger {ledger.name} is held by a running process ({held.describe()}); "
            "let it finish, or stop it, before removing its lock"
        )
    with ledger.write() as conn:
        conn.execute(delete(LockRow).where(LockRow.name == name, LockRow.owner == held.owner))
    return held


def busy_message(ledger: Ledger, held: LockHolder | None) -> str:
    """Why a batch cannot take the ledger, and what to do."""
    who = held.describe() if held is not None else "another batch"
    command = f"fluxopt ledger unlock --ledger {ledger.option}"
    if held is not None and held.stale:
        return (
            f"the ledger {ledger.name} is locked by {who}, and that process is no longer "
            f"running: the lock is stale (a killed batch); remove it with: {command}"
        )
    return (
        f"the ledger {ledger.name} is busy: {who}. One batch per ledger at a time: wait for "
        f"it to finish and run again; if that process was killed, remove its lock with: "
        f"{command}"
    )
