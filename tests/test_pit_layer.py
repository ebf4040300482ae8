"""The point-in-time layer (yocho/warehouse/pit.py), feed by feed: as of T, one row per record,
its latest version received by T, nothing received after T; kept at ingest the same as when
derived again from the rows."""
from __future__ import annotations

import random
from datetime import date

import duckdb
import polars as pl
import pytest

from tests.features.tiny import Tiny
from tests.landing_files import corporate_number, write_csv
from yocho.contract import DUCKDB_TYPE, FEEDS, Feed, Kind
from yocho.ingest.landing import discover
from yocho.ingest.pipeline import ingest_files
from yocho.ingest.validate import known_bank_codes
from yocho.settings import Settings
from yocho.warehouse import pit
from yocho.warehouse.db import warehouse

RECEIVED = [date(2024, 2, 10), date(2024, 3, 10), date(2024, 5, 10)]
ABOUT = date(2024, 1, 1)  # the date every test record is about (its time column)


def _value(feed: Feed, column: str, record: int, version: int):
    """A valid value of `column` for record `record`, version `version` (key columns name the record)."""
    col = feed.column(column)
    if column == "received_on":
        return RECEIVED[version]
    if column == "local_id":
        return f"L{record}"
    if column == feed.time_column:
        return ABOUT
    if column in feed.record_key:
        return f"R{record}"
    if col.categories:
        return sorted(col.categories)[version % len(col.categories)]
    return {
        Kind.TEXT: f"v{version}", Kind.DATE: ABOUT, Kind.MONTH: ABOUT, Kind.BOOL: version % 2 == 1,
        Kind.INT: (col.min_value or 0) + version, Kind.JPY: 1000 + version, Kind.FLOAT: 1.0 + version,
        Kind.BANK_CODE: "0116",
    }.get(col.kind, f"v{version}")


def _rows(feed: Feed, versions: list[tuple[int, int]]) -> list[dict]:
    rows = [{c.name: _value(feed, c.name, r, v) for c in feed.columns} for r, v in versions]
    if "corporate_number" in feed.column_names:
        for row in rows:
            row["corporate_number"] = None  # sole proprietors: the key is institution:local id
    return rows


def _as_of_rows(con: duckdb.DuckDBPyConnection, feed: Feed, as_of: date) -> pl.DataFrame:
    return con.execute(f"SELECT * FROM pit_{feed.name}_at(?, {pit.ALL_HISTORY_MONTHS})", [as_of]).pl()


@pytest.mark.parametrize("name", list(FEEDS))
def test_as_of_each_date_a_record_is_its_latest_version_received_by_then(name: str):
    feed = FEEDS[name]
    tiny = Tiny()
    # two records, three versions each, delivered out of order (a late backfill of version 0)
    order = [(0, 1), (1, 0), (0, 2), (1, 2), (0, 0)]
    for record, version in order:
        tiny.add(name, "bank_a", *_rows(feed, [(record, version)]))
    con = tiny.con
    for as_of in (date(2024, 2, 9), date(2024, 2, 10), date(2024, 3, 9), date(2024, 3, 10), date(2024, 4, 30), date(2024, 6, 1)):
        got = _as_of_rows(con, feed, as_of)
        # nothing received after the date
        assert got.filter(pl.col("received_on") > as_of).is_empty()
        # one row per record (correctable feeds; a feed without corrections keeps each row it took)
        key = ["institution_id", *feed.record_key]
        assert got.select(key).is_unique().all()
        # the latest version received by the date
        for record in (0, 1):
            sent = [RECEIVED[v] for r, v in order if r == record and RECEIVED[v] <= as_of]
            mine = got.filter(pl.col("local_id") == f"L{record}") if feed.record_key == ("local_id",) else got.filter(
                pl.col(feed.record_key[0]) == (f"L{record}" if feed.record_key[0] == "local_id" else f"R{record}"))
            assert mine["received_on"].to_list() == ([max(sent)] if sent else []), (as_of, record)


@pytest.mark.parametrize("name", ["loans", "incidents", "financials"])
def test_the_many_dates_macro_agrees_with_the_one_date_macro_and_reads_only_the_look_back(name: str):
    from features import pit as feature_pit

    feed = FEEDS[name]
    tiny = Tiny()
    tiny.add(name, "bank_a", *_rows(feed, [(0, 0), (0, 1), (1, 2)]))
    dates = [date(2024, 2, 29), date(2024, 3, 31), date(2024, 6, 30)]
    feature_pit.prepare(tiny.con, dates)
    many = tiny.con.execute(f"SELECT * FROM pit_{name}({pit.ALL_HISTORY_MONTHS}) ORDER BY ALL").pl()
    one = pl.concat([_as_of_rows(tiny.con, feed, d) for d in dates]).sort(many.columns)
    assert many.equals(one.select(many.columns))
    # the records are about January 2024: a 3-month look-back from June no longer reads them
    short = tiny.con.execute(f"SELECT as_of FROM pit_{name}(3)").pl()
    assert set(short["as_of"]) == {date(2024, 2, 29), date(2024, 3, 31)}


def test_kept_at_ingest_equals_derived_again_from_the_rows():
    rng = random.Random(7)
    tiny = Tiny()
    feed = FEEDS["loans"]
    versions = [(r, v) for r in range(6) for v in range(3)]
    rng.shuffle(versions)
    for record, version in versions:
        tiny.add("loans", "bank_a", *_rows(feed, [(record, version)]))
    kept = tiny.con.execute("SELECT loan_id, received_on, valid_to FROM raw_loans ORDER BY ALL").fetchall()
    identity = tiny.con.execute("SELECT * FROM business_identity ORDER BY ALL").fetchall()
    activity = tiny.con.execute("SELECT * FROM business_activity ORDER BY ALL").fetchall()
    relationships = tiny.con.execute("SELECT * FROM business_relationships ORDER BY ALL").fetchall()
    assert relationships == [("bank_a", f"L{r}", "loans", min(RECEIVED)) for r in range(6)]
    pit.rebuild(tiny.con)
    assert tiny.con.execute("SELECT loan_id, received_on, valid_to FROM raw_loans ORDER BY ALL").fetchall() == kept
    assert tiny.con.execute("SELECT * FROM business_identity ORDER BY ALL").fetchall() == identity
    assert tiny.con.execute("SELECT * FROM business_activity ORDER BY ALL").fetchall() == activity
    assert tiny.con.execute("SELECT * FROM business_relationships ORDER BY ALL").fetchall() == relationships
    # each version ends where the next one of its record starts
    for loan_id, received_on, valid_to in kept:
        later = [r for lid, r, _ in kept if lid == loan_id and r > received_on]
        assert valid_to == (min(later) if later else None)


def test_a_corporate_number_learnt_later_joins_the_earlier_rows_and_other_institutions():
    tiny = Tiny()
    number = corporate_number(42)
    tiny.add("loans", "bank_a", *[dict(r, corporate_number=None) for r in _rows(FEEDS["loans"], [(0, 0)])])
    assert tiny.con.execute("SELECT business_key FROM business_identity").fetchall() == [("bank_a:L0",)]
    tiny.add("business", "bank_a", dict(_rows(FEEDS["business"], [(0, 1)])[0], corporate_number=number))
    tiny.add("business", "cga_13", dict(_rows(FEEDS["business"], [(5, 1)])[0], corporate_number=number))
    keys = tiny.con.execute("SELECT institution_id, local_id, business_key FROM business_identity ORDER BY ALL").fetchall()
    assert keys == [("bank_a", "L0", number), ("cga_13", "L5", number)]
    # the loan sent before the number now belongs to the business the number names
    rows = _as_of_rows(tiny.con, FEEDS["loans"], date(2024, 6, 1))
    assert rows["business_key"].to_list() == [number]


def test_outcome_events_and_exits_are_not_activity():
    tiny = Tiny()
    tiny.add("events", "bank_a", *_rows(FEEDS["events"], [(0, 0)]))
    tiny.add("exits", "bank_a", *_rows(FEEDS["exits"], [(0, 0)]))
    assert tiny.con.execute("SELECT count(*) FROM business_activity").fetchone()[0] == 0
    tiny.add("accounts", "bank_a", *_rows(FEEDS["accounts"], [(0, 0), (0, 1)]))
    assert tiny.con.execute("SELECT received_on FROM business_activity ORDER BY 1").fetchall() == [
        (RECEIVED[0],), (RECEIVED[1],)]


def _relationships_from_rows(con: duckdb.DuckDBPyConnection, as_of: date) -> set[tuple]:
    """The credit relationships as of T read from every version in force (the definition the
    kept table replaces)."""
    return set(con.execute(
        " UNION ".join(f"SELECT business_key, institution_id, local_id, '{name}' FROM pit_{name}_at(?, "
                       f"{pit.ALL_HISTORY_MONTHS})" for name in ("loans", "accounts", "guarantees")),
        [as_of] * 3).fetchall())


def test_relationships_are_the_customers_of_loans_accounts_and_guarantees_received_by_then():
    tiny = Tiny()
    # a late delivery of an older version comes in after the later ones
    tiny.add("loans", "bank_a", *_rows(FEEDS["loans"], [(0, 1), (1, 2)]))
    tiny.add("loans", "bank_a", *_rows(FEEDS["loans"], [(0, 0)]))
    tiny.add("accounts", "bank_b", *_rows(FEEDS["accounts"], [(2, 1)]))
    tiny.add("guarantees", "cga_13", *_rows(FEEDS["guarantees"], [(3, 2)]))
    # neither a master row, a statement nor an outcome event makes a relationship
    tiny.add("business", "bank_c", *_rows(FEEDS["business"], [(4, 0)]))
    tiny.add("financials", "bank_c", *_rows(FEEDS["financials"], [(4, 0)]))
    tiny.add("events", "bank_c", *_rows(FEEDS["events"], [(4, 0)]))
    assert tiny.con.execute("SELECT * FROM business_relationships ORDER BY ALL").fetchall() == [
        ("bank_a", "L0", "loans", RECEIVED[0]), ("bank_a", "L1", "loans", RECEIVED[2]),
        ("bank_b", "L2", "accounts", RECEIVED[1]), ("cga_13", "L3", "guarantees", RECEIVED[2])]
    for as_of in (date(2024, 2, 9), *RECEIVED, date(2024, 3, 31), date(2025, 1, 1)):
        kept = set(tiny.con.execute("SELECT * FROM pit_relationships_at(?)", [as_of]).fetchall())
        assert kept == _relationships_from_rows(tiny.con, as_of), as_of
    assert {r[2] for r in tiny.con.execute("SELECT * FROM pit_relationships_at(?)", [RECEIVED[1]]).fetchall()} == {
        "L0", "L2"}


def test_preference_takes_the_latest_received_then_the_lowest_institution():
    con = duckdb.connect()
    from yocho.warehouse.db import migrate
    migrate(con)
    pit.install(con)
    got = con.execute(
        """
        SELECT arg_min(i, pit_preference(r, i)) FROM (VALUES
            (DATE '2024-03-01', 'bank_b'), (DATE '2024-03-01', 'bank_a'), (DATE '2024-02-01', 'aaa')) t(r, i)
        """
    ).fetchone()[0]
    assert got == "bank_a"


# --- through ingest -----------------------------------------------------------------------

SUBROGATION_HEADER = ["代位弁済番号", "顧客番号", "法人番号", "保証番号", "金融機関コード", "請求日", "代位弁済日", "代位弁済額", "受領日"]


def _ingest(settings: Settings):
    files, _ = discover(settings.landing_dir, known_bank_codes())
    with warehouse(settings) as con:
        return ingest_files(con, files, settings, known_bank_codes())


def test_a_subrogation_paid_later_is_loaded_as_its_new_version(settings: Settings):
    """Before, a subrogation was keyed by its number alone, so the delivery that filled in
    paid_on was quarantined as a duplicate and the payment never reached the warehouse."""
    number = corporate_number(7)
    first = ["S1", "C7", number, "G1", "0116", "2024-03-05", "", "5,000,000", "2024-03-10"]
    write_csv(settings.landing_dir / "cga_13" / "subrogations" / "march.csv", SUBROGATION_HEADER, [first])
    _ingest(settings)
    paid = ["S1", "C7", number, "G1", "0116", "2024-03-05", "2024-04-20", "5,000,000", "2024-04-25"]
    write_csv(settings.landing_dir / "cga_13" / "subrogations" / "april.csv", SUBROGATION_HEADER, [paid])
    (outcome,) = _ingest(settings)
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 1, 0)
    with warehouse(settings, read_only=True) as con:
        def paid_on(as_of: date):
            return con.execute("SELECT paid_on FROM pit_subrogations_at(?, 1200)", [as_of]).fetchall()
        assert paid_on(date(2024, 3, 31)) == [(None,)]
        assert paid_on(date(2024, 4, 25)) == [(date(2024, 4, 20),)]
        assert paid_on(date(2024, 3, 9)) == []


def test_the_layer_is_filled_for_rows_loaded_before_it_existed(tmp_path):
    """An existing warehouse gets valid_to, the identity and the activity from its rows when
    the migration that adds the layer runs."""
    from yocho.warehouse.db import migrate

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    migrate(con, until=8)  # as the release before migration 9 left it
    feed = FEEDS["accounts"]
    rows = pl.DataFrame(_rows(feed, [(0, 0), (0, 2), (1, 1)]), schema={c.name: _POLARS[DUCKDB_TYPE[c.kind]] for c in feed.columns})
    rows = rows.with_columns(institution_id=pl.lit("bank_a"), source_sha256=pl.lit("x"), source_row=pl.lit(2, pl.Int32))
    con.register("old_rows", rows.to_arrow())
    con.execute("INSERT INTO raw_accounts SELECT * FROM old_rows")
    assert migrate(con)[0] == "0009_point_in_time_layer.sql"
    assert con.execute("SELECT local_id, received_on, valid_to FROM raw_accounts ORDER BY ALL").fetchall() == [
        ("L0", RECEIVED[0], RECEIVED[2]), ("L0", RECEIVED[2], None), ("L1", RECEIVED[1], None)]
    assert con.execute("SELECT count(*) FROM business_identity").fetchone()[0] == 2
    assert con.execute("SELECT count(*) FROM business_activity").fetchone()[0] == 3


def test_relationships_are_filled_for_rows_loaded_before_they_were_kept(tmp_path):
    """Migration 11 derives business_relationships from the rows a warehouse already holds."""
    from yocho.warehouse.db import migrate

    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    migrate(con, until=10)  # as the release before migration 11 left it
    assert not con.execute("SELECT 1 FROM duckdb_tables() WHERE table_name = 'business_relationships'").fetchone()
    feed = FEEDS["loans"]
    rows = pl.DataFrame(_rows(feed, [(0, 2), (0, 1), (1, 2)]),
                        schema={c.name: _POLARS[DUCKDB_TYPE[c.kind]] for c in feed.columns})
    con.register("old_rows", rows.with_columns(institution_id=pl.lit("bank_a"), source_sha256=pl.lit("x"),
                                               source_row=pl.lit(2, pl.Int32), valid_to=pl.lit(None, pl.Date)).to_arrow())
    con.execute("INSERT INTO raw_loans SELECT * FROM old_rows")
    assert migrate(con) == ["0011_business_relationships.sql"]
    assert con.execute("SELECT * FROM business_relationships ORDER BY ALL").fetchall() == [
        ("bank_a", "L0", "loans", RECEIVED[1]), ("bank_a", "L1", "loans", RECEIVED[2])]


_POLARS = {"VARCHAR": pl.Utf8, "BIGINT": pl.Int64, "INTEGER": pl.Int32, "DOUBLE": pl.Float64,
           "BOOLEAN": pl.Boolean, "DATE": pl.Date}


def test_every_feed_table_is_written_only_through_the_layer():
    """The rule lives in one place: no module writes a feed table but the layer."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    offenders = []
    for path in root.glob("*/**/*.py"):
        if ".venv" in path.parts or path.parts[-2] == "tests" or "tests" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        if "INSERT INTO {feed.table}" in text or any(f"INSERT INTO {f.table}" in text for f in FEEDS.values()):
            offenders.append(str(path.relative_to(root)))
    assert offenders == ["yocho/warehouse/pit.py"]
