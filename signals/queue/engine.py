"""Opening the queue's database: the engine, its read and write connections, and the schema.

The same code runs on SQLite (the default embedded file, `Settings.queue_url`) and on
PostgreSQL (`postgresql+psycopg://...`). What differs between the two is settled here, once,
when the database is opened, so that the modules doing case work only ever receive a
`Connection` inside a transaction and never look at the backend.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from signals.queue.schema import migrate


@dataclass(frozen=True)
class Database:
    backend: str  # "sqlite" | "postgresql"
    engine: Engine
    # Write transactions: on SQLite they start with BEGIN IMMEDIATE (see _sqlite_transactions).
    writer: Engine
    # Read transactions: a read of several queries (a page and its total, a case and its
    # history) sees one snapshot: REPEATABLE READ on PostgreSQL; SQLite's deferred
    # transaction does that already.
    reader: Engine


def open_database(url: str, *, echo: bool = False) -> Database:
    """The database at `url`, its schema created or upgraded (schema.migrate)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, pool_pre_ping=backend != "sqlite")
    if backend == "sqlite":
        _sqlite_transactions(engine)
    writer = engine.execution_options(yocho_write=True)
    reader = engine.execution_options(isolation_level="REPEATABLE READ") if backend == "postgresql" else engine
    migrate(writer)
    return Database(backend, engine, writer, reader)


def _sqlite_transactions(engine: Engine) -> None:
    """SQLite: foreign keys on, WAL, a busy timeout, and real BEGINs (IMMEDIATE for writes),
    so a read-then-write transaction cannot fail half-way on a lock upgrade."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # the driver must not issue its own BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("yocho_write") else "BEGIN")
