"""Schema by versioned migrations, matching the data contract."""
from __future__ import annotations

import duckdb

from yocho.contract import DUCKDB_TYPE, FEEDS, LINEAGE_COLUMNS
from yocho.settings import Settings
from yocho.warehouse.db import migrate, migrations, warehouse


def test_migrations_apply_once_in_order(settings: Settings):
    con = duckdb.connect()
    applied = migrate(con)
    assert applied == [name for _, name, _ in migrations()]
    assert [v for v, _, _ in migrations()] == sorted(v for v, _, _ in migrations())
    assert migrate(con) == []
    with warehouse(settings) as first:
        first.execute("SELECT count(*) FROM schema_migrations").fetchone()
    with warehouse(settings) as again:
        versions = again.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()
    assert [v for (v,) in versions] == [v for v, _, _ in migrations()]


def test_raw_tables_match_the_contract():
    con = duckdb.connect()
    migrate(con)
    for feed in FEEDS.values():
        described = con.execute(f"DESCRIBE {feed.table}").fetchall()
        got = [(name, typ, null == "NO") for name, typ, null, *_ in described]
        want = [(c.name, DUCKDB_TYPE[c.kind], c.required) for c in feed.columns]
        want += [(name, typ, True) for name, typ in LINEAGE_COLUMNS]
        # the point-in-time layer's column: when the version stopped being in force (yocho/warehouse/pit.py)
        want += [("valid_to", "DATE", False)]
        assert got == want, feed.name


def test_read_only_connection_sees_committed_rows(settings: Settings):
    with warehouse(settings) as con:
        con.execute("INSERT INTO schema_migrations VALUES (999, 'probe', now()::TIMESTAMP)")
    with warehouse(settings, read_only=True) as ro:
        assert ro.execute("SELECT name FROM schema_migrations WHERE version = 999").fetchone() == ("probe",)


def test_scores_keep_their_rows_when_the_index_is_dropped(tmp_path):
    """Migration 0010 rebuilds risk_scores without its primary-key index (kept in memory by
    DuckDB, gigabytes at a national portfolio); a warehouse scored before keeps every row."""
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    migrate(con, until=9)  # as the release before migration 10 left it
    row = ("1234567890123", "2026-09-30", 0.25, "high", 1, 0.5, 2, False, "v1", "[]", "2026-10-01 00:00:00")
    con.execute("INSERT INTO risk_scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", list(row))
    assert con.execute("SELECT count(*) FROM duckdb_indexes() WHERE table_name = 'risk_scores'").fetchone()[0] \
        + con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'risk_scores' "
                      "AND constraint_type = 'PRIMARY KEY'").fetchone()[0] == 1
    assert migrate(con)[0] == "0010_risk_scores_without_index.sql"
    assert con.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'risk_scores' "
                       "AND constraint_type = 'PRIMARY KEY'").fetchone()[0] == 0
    kept = con.execute("SELECT business_key, as_of::VARCHAR, probability, band, portfolio_rank, portfolio_share, "
                       "signs_fired, in_event, model_version, top_factors, scored_at::VARCHAR FROM risk_scores").fetchall()
    assert kept == [row]
