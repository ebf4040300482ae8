"""The whole catalog on a generated portfolio: point-in-time, storage, and whether signs
come before events."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from polars.testing import assert_frame_equal

from features.catalog import indicators, measures
from features.compute import compute, results
from features.scan import month_ends, scan
from yocho.contract import FEEDS
from yocho.settings import FeatureSettings
from yocho.warehouse import pit
from yocho.warehouse.db import warehouse

T = date(2025, 12, 31)


@pytest.fixture(scope="module")
def scanned(generated):
    """The generated warehouse scanned over its last 18 month-ends."""
    with warehouse(generated.settings) as con:
        result = scan(con, month_ends(date(2026, 10, 31), 18), FeatureSettings())
    return generated.settings, result


def test_rows_received_after_as_of_change_nothing(generated, tmp_path: Path):
    """Compute at T on the full warehouse and on a copy holding only rows received by T:
    every indicator of every business must be identical."""
    copy = generated.settings.model_copy(update={"data_dir": tmp_path})
    shutil.copy(generated.settings.warehouse_path, copy.warehouse_path)
    with warehouse(copy) as con:
        later = sum(con.execute(f"SELECT count(*) FROM {f.table} WHERE received_on > ?", [T]).fetchone()[0]
                    for f in FEEDS.values())
        assert later > 10_000  # the test means something only if much arrives after T
        for feed in FEEDS.values():
            con.execute(f"DELETE FROM {feed.table} WHERE received_on > ?", [T])
        pit.rebuild(con)  # valid_to, the identity and the activity are derived from the rows
        compute(con, [T])
        cut = results(con)
    with warehouse(generated.settings) as con:
        compute(con, [T])
        full = results(con)
    # A 法人番号 first learnt after T links a customer number to a business; compare the
    # businesses identified the same way in both (all but a handful).
    common = full.join(cut.select("business_key").unique(), on="business_key", how="semi")
    assert common.height >= 0.99 * full.height
    assert common.height == cut.height
    assert set(common["indicator_id"]) == set(indicators()) | set(measures())
    assert_frame_equal(common.sort("business_key", "indicator_id"), cut.sort("business_key", "indicator_id"))


def test_scan_stores_every_business_indicator_and_date_once(scanned):
    settings, result = scanned
    with warehouse(settings, read_only=True) as con:
        per_date = con.execute(
            "SELECT as_of, count(*), count(DISTINCT business_key) FROM indicator_values GROUP BY 1 ORDER BY 1"
        ).fetchall()
        panel = con.execute("SELECT count(*), count(DISTINCT (business_key, as_of)) FROM feature_panel").fetchone()
        unavailable_but_fired = con.execute(
            "SELECT count(*) FROM indicator_values WHERE NOT available AND (fired IS NOT NULL OR value IS NOT NULL)"
        ).fetchone()[0]
    assert [d for d, _, _ in per_date] == result.as_of
    assert all(n == b * (len(indicators()) + len(measures())) for _, n, b in per_date)
    assert panel[0] == panel[1] == sum(b for _, _, b in per_date)
    assert unavailable_but_fired == 0
    assert result.counts["fired"].sum() > 0


def test_scanning_a_date_again_replaces_its_rows(scanned):
    settings, result = scanned
    with warehouse(settings) as con:
        before = con.execute("SELECT count(*), count(*) FILTER (WHERE fired) FROM indicator_values").fetchone()
        scan(con, [result.as_of[-1]], FeatureSettings())
        after = con.execute("SELECT count(*), count(*) FILTER (WHERE fired) FROM indicator_values").fetchone()
    assert before == after


def test_a_pass_split_into_shards_of_businesses_gives_the_same_indicators(generated):
    """Above `business_dates_per_pass` a pass is computed shard by shard (bounded memory at
    national scale): every value, flag and piece of evidence must be the same."""
    dates = [date(2026, 9, 30), date(2026, 10, 31)]
    with warehouse(generated.settings, read_only=True) as con:
        compute(con, dates)
        whole = results(con)
        compute(con, dates, business_dates_per_pass=700)
        sharded = results(con)
    assert whole["business_key"].n_unique() * len(dates) > 4 * 700  # at least five shards
    assert_frame_equal(sharded, whole)


def test_the_panel_is_the_long_table_pivoted_whether_whole_or_in_slices(scanned, tmp_path, monkeypatch):
    """features.store builds the panel with a PIVOT, in slices of businesses above
    PANEL_ROWS_PER_SLICE long rows (a PIVOT cannot spill): rebuilt from the whole long table
    (a first scan, a catalog change) and replaced for a date, in many slices, it holds each
    indicator's value and fired flag and each measure's value, as the definition says."""
    import features.store as store_module

    settings, result = scanned
    copy = settings.model_copy(update={"data_dir": tmp_path})
    shutil.copy(settings.warehouse_path, copy.warehouse_path)
    monkeypatch.setattr(store_module, "PANEL_ROWS_PER_SLICE", 20_000)
    columns = ["business_key", "as_of", "count(*) FILTER (WHERE fired) AS signs_fired"]
    for ind in indicators():
        columns += [f"max(value) FILTER (WHERE indicator_id = '{ind}') AS \"{ind}\"",
                    f"max(fired::INTEGER) FILTER (WHERE indicator_id = '{ind}') AS \"{ind}__fired\""]
    columns += [f"max(value) FILTER (WHERE indicator_id = '{m}') AS \"{m}\"" for m in measures()]
    definition = f"SELECT {', '.join(columns)} FROM indicator_values GROUP BY business_key, as_of"
    with warehouse(copy) as con:
        con.execute("DROP TABLE feature_panel")  # rebuilt from the whole long table, in slices
        compute(con, [result.as_of[-1]])
        assert con.execute("SELECT count(*) FROM indicator_values").fetchone()[0] > 5 * 20_000
        store_module.store(con)
        got = con.execute("SELECT * FROM feature_panel").pl().sort("business_key", "as_of")
        expected = con.execute(definition).pl().sort("business_key", "as_of")
    assert got.columns == expected.columns
    assert got.height == expected.height > 0
    assert_frame_equal(got, expected)
