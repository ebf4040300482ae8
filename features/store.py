"""Keeping computed indicators in the warehouse: the long table and the wide panel."""
from __future__ import annotations

import duckdb

from features.catalog import indicators, measures


def panel_columns() -> list[str]:
    return (["business_key", "as_of", "signs_fired"] + [c for ind in indicators() for c in (ind, f"{ind}__fired")]
            + list(measures()))


# Long rows pivoted into the panel at once. A PIVOT keeps every group's values in memory until
# the end (it cannot spill like a plain aggregate): about 15M long rows take 2-3 GB, and 42M
# (20,000 businesses x 36 month-ends) ran out of DuckDB's 5.5 GiB. Slices of businesses keep
# each pivot within bounds at any scale.
PANEL_ROWS_PER_SLICE = 8_000_000


def panel_select(source: str, part: tuple[int, int] | None = None) -> str:
    """The wide panel (business x as_of) for the model: each indicator's value (NULL when
    unavailable) and its fired flag (0/1, NULL when unavailable), then each measure's value.
    One PIVOT (a hash aggregate per business-date) rather than a filtered aggregate per
    column, which would read every row once for each of the ~110 columns. Each id appears
    once per business and date (features.compute checks it), so signs_fired is the sum of
    the fired flags. `part=(index, count)`: only the businesses whose hash falls in it."""
    ids = [*indicators(), *measures()]
    listed = ", ".join(f"'{i}'" for i in ids)
    columns = []
    for ind in indicators():
        columns += [f'"{ind}_v" AS "{ind}"', f'"{ind}_f" AS "{ind}__fired"']
    columns += [f'"{m}_v" AS "{m}"' for m in measures()]
    fired = " + ".join(f'coalesce("{ind}_f", 0)' for ind in indicators()) or "0"
    where = f"WHERE hash(business_key) % {int(part[1])} = {int(part[0])}" if part else ""
    return (
        f"SELECT business_key, as_of, ({fired})::BIGINT AS signs_fired, {', '.join(columns)} FROM ("
        f"PIVOT (SELECT business_key, as_of, indicator_id, value, fired::INTEGER AS fired FROM {source} {where}) "
        f"ON indicator_id IN ({listed}) USING max(value) AS v, max(fired) AS f GROUP BY business_key, as_of)"
    )


def _dates(con: duckdb.DuckDBPyConnection) -> str:
    """The dates in indicator_results as a literal list: a constant filter lets DuckDB skip
    the row groups of other dates instead of reading the whole history to find them."""
    found = [d for (d,) in con.execute("SELECT DISTINCT as_of::VARCHAR FROM indicator_results").fetchall()]
    return ", ".join(f"DATE '{d}'" for d in found) or "NULL"


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
        dates = _dates(con)
        con.execute(f"DELETE FROM indicator_values WHERE as_of IN ({dates})")
        con.execute(
            """
            INSERT INTO indicator_values
            SELECT business_key, as_of, indicator_id, family, value, available, fired, severity,
                   evidence, current_timestamp::TIMESTAMP
            FROM indicator_results
            """
        )
        if _panel_is_current(con):
            con.execute(f"DELETE FROM feature_panel WHERE as_of IN ({dates})")
            source = "indicator_results"
        else:
            # first scan, or the catalog changed: the panel's columns follow the catalog
            con.execute(f"CREATE OR REPLACE TABLE feature_panel AS {panel_select('indicator_values')} LIMIT 0")
            source = "indicator_values"
        rows = con.execute(f"SELECT count(*) FROM {source}").fetchone()[0]
        parts = max(1, -(-rows // PANEL_ROWS_PER_SLICE))
        for part in range(parts):
            con.execute(f"INSERT INTO feature_panel {panel_select(source, (part, parts) if parts > 1 else None)}")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return con.execute("SELECT count(*) FROM indicator_results").fetchone()[0]
