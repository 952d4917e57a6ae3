"""The two ledger databases the ledger tests run on: a SQLite file and a real PostgreSQL server.

:class:`PostgresServer` starts a throw-away server for the test session: ``initdb`` into a
temporary folder, ``pg_ctl start`` on a free loopback port with its unix socket in that
folder, trust authentication, no durability (``fsync=off``). PostgreSQL refuses to run as
root: when the tests run as root, the server's programs run as the ``postgres`` user of the
distribution's package (else ``nobody``), which owns the temporary folder. The binaries are
looked up in ``PATH`` and in ``/usr/lib/postgresql/*/bin`` (where Debian and Ubuntu put
them); :func:`find_postgres` returns ``None`` when there are none, and the fixture skips.

Each ledger is a database of its own (``CREATE DATABASE``; a copy is ``CREATE DATABASE ...
TEMPLATE ...``), so that tests never share state.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy.pool import NullPool

PG_USER = "fluxopt"


def find_postgres() -> Path | None:
    """The folder of ``pg_ctl`` and ``initdb``: from ``PATH``, else the newest Debian one."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    candidates = [
        path.parent
        for path in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")
        if (path.parent / "initdb").exists()
    ]
    versions = sorted(
        candidates, key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0
    )
    return versions[-1] if versions else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresServer:
    """A PostgreSQL server of the test session, on 127.0.0.1."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        # a short path (the unix socket's must stay under ~100 bytes) that the server's user
        # can reach: /tmp when running as root, whose own temporary folder may be private
        shared = "/tmp" if os.geteuid() == 0 and Path("/tmp").is_dir() else None
        self.folder = Path(tempfile.mkdtemp(prefix="fluxopt-pg-", dir=shared))
        self.data = self.folder / "data"
        self.port = 0
        self.account: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                try:
                    self.account = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            if self.account is None:
                raise RuntimeError("running as root and no 'postgres' or 'nobody' user")
            os.chown(self.folder, self.account.pw_uid, self.account.pw_gid)
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        options: dict[str, Any] = {}
        if self.account is not None:
            options = {
                "user": self.account.pw_uid,
                "group": self.account.pw_gid,
                "extra_groups": [],
            }
        completed = subprocess.run(
            [str(self.bin_dir / args[0]), *args[1:]],
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            **options,
        )
        if completed.returncode != 0:
            log = self.folder / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{args[0]} failed ({completed.returncode}): {completed.stderr}\n{tail}"
            )

    def start(self) -> None:
        """Create the cluster and start the server (waits until it accepts connections)."""
        self._run(
            "initdb", "-D", str(self.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
            "--locale=C", "--no-sync",
        )  # fmt: skip
        for attempt in range(3):
            self.port = _free_port()
            settings = (
                f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                self._run(
                    "pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"),
                    "-w", "-t", "60", "-o", settings, "start",
                )  # fmt: skip
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of a database of this server."""
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (or a copy of ``template``); return its URL."""
        name = f"ledger_{os.getpid()}_{next(self._names)}"
        engine = sqlalchemy.create_engine(
            self.url("postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        try:
            with engine.connect() as conn:
                copy = f" TEMPLATE {template}" if template else ""
                conn.exec_driver_sql(f"CREATE DATABASE {name}{copy}")
        finally:
            engine.dispose()
        return self.url(name)


@dataclass(frozen=True)
class LedgerBackend:
    """Where a test's ledgers live: SQLite files, or databases of a PostgreSQL server."""

    name: str
    server: PostgresServer | None = None

    def new(self, folder: Path) -> str:
        """A new ledger for a run folder: ``folder/fluxopt.db`` or a new database."""
        if self.server is None:
            return str(folder / "fluxopt.db")
        return self.server.create_database()

    def copy(self, ledger: str, folder: Path) -> str:
        """A copy of a ledger (closed), for a run folder."""
        if self.server is None:
            target = folder / "fluxopt.db"
            if Path(ledger).resolve() != target.resolve():
                shutil.copyfile(ledger, target)
            return str(target)
        return self.server.create_database(template=ledger.rsplit("/", 1)[1])


def raw_rows(ledger: str, sql: str) -> list[dict[str, Any]]:
    """Rows of a plain SQL query on a ledger, with SQLAlchemy alone (not fluxopt's code)."""
    url = ledger if "://" in ledger else f"sqlite:///{ledger}"
    engine = sqlalchemy.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(sqlalchemy.text(sql))]
    finally:
        engine.dispose()
