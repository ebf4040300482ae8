"""Keeping computed indicators in the warehouse: the long table and the wide panel."""
from __future__ import annotations

import duckdb

from features.catalog import indicators, measures


def panel_columns() -> list[str]:
    return (["business_key", "as_of", "signs_fired"] + [c for ind in indicators() for c in (ind, f"{ind}__fired")]
            + list(measures()))


def panel_select(source: str) -> str:
    """The wide panel (business x as_of) for the model: each indicator's value (NULL when
    unavailable) and its fired flag (0/1, NULL when unavailable), then each measure's value."""
    columns = []
    for ind in indicators():
        columns.append(f"max(value) FILTER (WHERE indicator_id = '{ind}') AS \"{ind}\"")
        columns.append(f"max(fired::INTEGER) FILTER (WHERE indicator_id = '{ind}') AS \"{ind}__fired\"")
    for measure in measures():
        columns.append(f"max(value) FILTER (WHERE indicator_id = '{measure}') AS \"{measure}\"")
    return (
        f"SELECT business_key, as_of, count(*) FILTER (WHERE fired) AS signs_fired, "
        f"{', '.join(columns)} FROM {source} GROUP BY business_key, as_of"
    )


def _panel_is_current(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'feature_panel' "
        "AND table_schema = 'main' ORDER BY ordinal_position"
    ).fetchall()
    return [c for (c,) in found] == panel_columns()


def store(con: duckdb.DuckDBPyConnection) -> int:
    """Replace the warehouse's rows for every date in `indicator_results`, in the long
    table and in the panel, in one transaction. Returns the rows written."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE stored_dates AS SELECT DISTINCT as_of FROM indicator_results")
        con.execute("DELETE FROM indicator_values WHERE as_of IN (SELECT as_of FROM stored_dates)")
        con.execute(
            """
            INSERT INTO indicator_values
            SELECT business_key, as_of, indicator_id, family, value, available, fired, severity,
                   evidence, current_timestamp::TIMESTAMP
            FROM indicator_results
            """
        )
        if _panel_is_current(con):
            con.execute("DELETE FROM feature_panel WHERE as_of IN (SELECT as_of FROM stored_dates)")
            con.execute(f"INSERT INTO feature_panel {panel_select('indicator_results')}")
        else:
            # first scan, or the catalog changed: the panel's columns follow the catalog
            con.execute(f"CREATE OR REPLACE TABLE feature_panel AS {panel_select('indicator_values')}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return con.execute("SELECT count(*) FROM indicator_results").fetchone()[0]
