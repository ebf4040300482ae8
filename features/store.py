"""Keeping computed indicators in the warehouse: the long table and the wide panel."""
from __future__ import annotations

import duckdb

from features.catalog import indicators


def store(con: duckdb.DuckDBPyConnection) -> int:
    """Replace the warehouse's rows for every date in `indicator_results` (one transaction),
    then rebuild the panel. Returns the rows written."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM indicator_values WHERE as_of IN (SELECT DISTINCT as_of FROM indicator_results)")
        con.execute(
            """
            INSERT INTO indicator_values
            SELECT business_key, as_of, indicator_id, family, value, available, fired, severity,
                   evidence, current_timestamp::TIMESTAMP
            FROM indicator_results
            """
        )
        rebuild_panel(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return con.execute("SELECT count(*) FROM indicator_results").fetchone()[0]


def panel_select(source: str = "indicator_values") -> str:
    """The wide panel (business x as_of) for the model: each indicator's value (NULL when
    unavailable) and its fired flag (0/1, NULL when unavailable)."""
    columns = []
    for ind in indicators():
        columns.append(f"max(value) FILTER (WHERE indicator_id = '{ind}') AS \"{ind}\"")
        columns.append(f"max(fired::INTEGER) FILTER (WHERE indicator_id = '{ind}') AS \"{ind}__fired\"")
    return (
        f"SELECT business_key, as_of, count(*) FILTER (WHERE fired) AS signs_fired, "
        f"{', '.join(columns)} FROM {source} GROUP BY business_key, as_of"
    )


def rebuild_panel(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE OR REPLACE TABLE feature_panel AS {panel_select()}")
