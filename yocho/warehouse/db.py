"""Opening the DuckDB warehouse and keeping its schema current."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from yocho.settings import Settings
from yocho.warehouse import pit

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Migrations that add derived state the rows already loaded must fill: run after the SQL, in
# its transaction. The point-in-time layer is derived from the feed tables (pit.rebuild).
_FILL_AFTER = {9: pit.rebuild, 11: pit.rebuild_relationships}


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for every migration shipped with the package, in order."""
    folder = resources.files("yocho.warehouse") / "migrations"
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number: {versions}")
    return found


def migrate(con: duckdb.DuckDBPyConnection, until: int | None = None) -> list[str]:
    """Apply pending migrations, each in its own transaction; returns the names applied.
    `until`: stop after that version (a warehouse as an older release left it, for tests)."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in done or (until is not None and version > until):
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(sql)
            if version in _FILL_AFTER:
                _FILL_AFTER[version](con)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, current_timestamp::TIMESTAMP)",
                [version, name],
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied


def connect(settings: Settings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file with explicit limits; a writer also brings the schema up to date."""
    path = Path(settings.warehouse_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        str(path),
        read_only=read_only,
        config={
            "memory_limit": settings.duckdb_memory_limit,
            "threads": settings.duckdb_threads,
        },
    )
    # Progress bars belong to the CLI's own output, not to every long query in a log.
    con.execute("SET enable_progress_bar = false")
    if not read_only:
        migrate(con)
    pit.install(con)
    return con


@contextmanager
def warehouse(settings: Settings, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = connect(settings, read_only=read_only)
    try:
        yield con
    finally:
        con.close()
