"""risk_scores from the champion: one row per business and date, bands, ranks, factors,
and no look-ahead."""
from __future__ import annotations

import json
import shutil
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.catalog import indicators, measures
from features.scan import scan
from models.registry import Registry
from models.score import MissingIndicators, NoChampion, score
from yocho.contract import FEEDS
from yocho.warehouse import pit
from yocho.warehouse.db import warehouse

T = date(2026, 3, 31)


@pytest.fixture(scope="module")
def scored(trained, tmp_path_factory):
    settings = trained.settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("scored")})
    shutil.copy(trained.settings.warehouse_path, settings.warehouse_path)
    shutil.copytree(trained.settings.models_dir, settings.models_dir)
    dates = [date(2026, 9, 30), date(2026, 10, 31)]
    with warehouse(settings) as con:
        result = score(con, Registry(settings.models_dir), dates, settings.models)
    return settings, result


def test_every_business_in_the_panel_is_scored_once_per_date(scored):
    settings, result = scored
    with warehouse(settings, read_only=True) as con:
        per_date = con.execute(
            """SELECT s.as_of, count(*), count(DISTINCT s.business_key), max(portfolio_rank), min(portfolio_rank),
                      bool_and(probability BETWEEN 0 AND 1), max(portfolio_share)
               FROM risk_scores s GROUP BY 1 ORDER BY 1""").fetchall()
        panel = dict(con.execute("SELECT as_of, count(*) FROM feature_panel WHERE as_of IN "
                                 "('2026-09-30', '2026-10-31') GROUP BY 1").fetchall())
    assert [d for d, *_ in per_date] == result.as_of
    for as_of, n, distinct, top_rank, first_rank, in_range, share in per_date:
        assert n == distinct == top_rank == panel[as_of] and first_rank == 1 and in_range and share == 1.0
    assert result.rows_written == sum(panel.values())
    assert result.model_version == Registry(settings.models_dir).champion()


def test_bands_follow_the_probability_bounds(scored):
    settings, result = scored
    bounds = settings.models.bands
    with warehouse(settings, read_only=True) as con:
        rows = con.execute("SELECT band, min(probability), max(probability) FROM risk_scores GROUP BY 1").fetchall()
    names = list(bounds)
    for band, low, high in rows:
        i = names.index(band)
        assert low >= bounds[band]
        if i + 1 < len(names):
            assert high < bounds[names[i + 1]]
    # the bands count the businesses in the panel at the last date (businesses leave the
    # portfolio between the two dates, so it is not half of the rows written)
    with warehouse(settings, read_only=True) as con:
        last = con.execute("SELECT count(*) FROM feature_panel WHERE as_of = ?", [max(result.as_of)]).fetchone()[0]
    assert result.bands["businesses"].sum() == last
    assert result.bands["band"].to_list() == names


def test_top_factors_name_the_signs_with_their_values(scored):
    settings, _ = scored
    with warehouse(settings, read_only=True) as con:
        top = con.execute("SELECT business_key, as_of, top_factors FROM risk_scores "
                          "WHERE as_of = '2026-10-31' ORDER BY portfolio_rank LIMIT 50").pl()
        values = con.execute(
            "SELECT business_key, indicator_id, value, fired FROM indicator_values WHERE as_of = '2026-10-31' "
            "AND business_key IN (SELECT business_key FROM risk_scores WHERE as_of = '2026-10-31' "
            "AND portfolio_rank <= 50)").pl()
    catalog = {**indicators(), **measures()}
    lookup = {(r["business_key"], r["indicator_id"]): r for r in values.iter_rows(named=True)}
    explained = 0
    for row in top.iter_rows(named=True):
        factors = json.loads(row["top_factors"])
        for kind in ("sign", "figure", "missing"):
            of_kind = [f for f in factors if f["kind"] == kind]
            assert len(of_kind) <= settings.models.top_factors
            contributions = [f["contribution"] for f in of_kind]
            assert all(c > 0 for c in contributions) and contributions == sorted(contributions, reverse=True)
        for f in factors:
            assert f["name_ja"] == catalog[f["indicator"]].ja and f["name_en"] == catalog[f["indicator"]].en
            stored = lookup[(row["business_key"], f["indicator"])]
            assert f["value"] == pytest.approx(stored["value"]) if stored["value"] is not None else f["value"] is None
            assert f["fired"] == stored["fired"]
            # only a sign that fired is listed as a warning sign
            assert (f["kind"] == "sign") == (stored["fired"] is True)
        explained += any(f["kind"] == "sign" for f in factors)
    # the 50 riskiest businesses are risky for warning signs the model can name
    assert explained >= 45


def test_scoring_a_date_again_replaces_its_rows(scored):
    settings, _ = scored
    with warehouse(settings) as con:
        before = con.execute("SELECT count(*) FROM risk_scores").fetchone()[0]
        score(con, Registry(settings.models_dir), [date(2026, 10, 31)], settings.models)
        assert con.execute("SELECT count(*) FROM risk_scores").fetchone()[0] == before


def test_scoring_needs_a_champion_and_the_dates_indicators(scored, tmp_path):
    settings, _ = scored
    with warehouse(settings) as con:
        with pytest.raises(NoChampion, match="yocho train"):
            score(con, Registry(tmp_path / "empty"), [date(2026, 10, 31)], settings.models)
        with pytest.raises(MissingIndicators, match="2026-11-30"):
            score(con, Registry(settings.models_dir), [date(2026, 11, 30)], settings.models)


def test_rows_received_after_as_of_change_no_score(trained, tmp_path):
    """Score T on the full warehouse, and on a copy whose rows received after T are deleted
    and whose indicators at T are recomputed: same probabilities, bands and factors."""
    registry = Registry(trained.settings.models_dir)
    full_settings = trained.settings.model_copy(update={"data_dir": tmp_path / "full"})
    cut_settings = trained.settings.model_copy(update={"data_dir": tmp_path / "cut"})
    for s in (full_settings, cut_settings):
        s.data_dir.mkdir()
        shutil.copy(trained.settings.warehouse_path, s.warehouse_path)
    columns = ["business_key", "probability", "band", "top_factors"]
    with warehouse(full_settings) as con:
        score(con, registry, [T], full_settings.models)
        full = con.execute("SELECT * FROM risk_scores WHERE as_of = ?", [T]).pl().select(columns)
    with warehouse(cut_settings) as con:
        later = sum(con.execute(f"SELECT count(*) FROM {f.table} WHERE received_on > ?", [T]).fetchone()[0]
                    for f in FEEDS.values())
        assert later > 10_000  # much arrives after T, or the test would prove nothing
        for feed in FEEDS.values():
            con.execute(f"DELETE FROM {feed.table} WHERE received_on > ?", [T])
        pit.rebuild(con)  # valid_to, the identity and the activity are derived from the rows
        scan(con, [T], cut_settings.features)
        score(con, registry, [T], cut_settings.models)
        cut = con.execute("SELECT * FROM risk_scores WHERE as_of = ?", [T]).pl().select(columns)
    # a 法人番号 first learnt after T re-keys a handful of businesses; compare the rest
    common = full.join(cut.select("business_key"), on="business_key", how="semi")
    assert common.height >= 0.99 * full.height and common.height == cut.height
    assert_frame_equal(common.sort("business_key"), cut.sort("business_key"), check_exact=False, rel_tol=1e-9)


def test_in_event_counts_only_events_reported_by_the_date(trained, tmp_path):
    settings = trained.settings.model_copy(update={"data_dir": tmp_path})
    shutil.copy(trained.settings.warehouse_path, settings.warehouse_path)
    dates = [d for d in trained.scan_dates if d >= date(2025, 1, 1)]
    with warehouse(settings) as con:
        score(con, Registry(trained.settings.models_dir), dates, settings.models)
        flags = con.execute("SELECT business_key, as_of, in_event FROM risk_scores").pl()
        events = con.execute(
            "SELECT coalesce(corporate_number, institution_id || ':' || local_id) AS business_key, "
            "occurred_on, received_on FROM raw_events").pl()
    # the same rule written independently: an event occurred and was received by the date
    expected = (
        flags.select("business_key", "as_of").join(events, on="business_key", how="left")
        .group_by("business_key", "as_of")
        .agg(expected=((pl.col("occurred_on") <= pl.col("as_of")) & (pl.col("received_on") <= pl.col("as_of")))
             .fill_null(False).any())
    )
    both = flags.join(expected, on=["business_key", "as_of"])
    assert both.height == flags.height
    assert both.filter(pl.col("in_event") != pl.col("expected")).is_empty()
    # and the rule matters: some events were known only a month after they occurred
    late = events.filter(pl.col("received_on").dt.month_end() > pl.col("occurred_on").dt.month_end())
    assert late.height > 10 and both["in_event"].sum() > 100


def test_scoring_in_small_batches_writes_the_same_rows(scored, tmp_path, monkeypatch):
    """The panel is scored a batch at a time (bounded memory at national scale); the batch
    size must not change a single probability, rank or factor."""
    settings, _ = scored
    other = settings.model_copy(update={"data_dir": tmp_path})
    shutil.copy(settings.warehouse_path, other.warehouse_path)
    shutil.copytree(settings.models_dir, other.models_dir)
    monkeypatch.setattr("models.score.SCORE_BATCH_ROWS", 97)
    with warehouse(other) as con:
        result = score(con, Registry(other.models_dir), [date(2026, 9, 30), date(2026, 10, 31)], other.models)
    assert result.rows_written > 20 * 97  # many batches, both dates

    columns = ("business_key, as_of, probability, band, portfolio_rank, portfolio_share, signs_fired, in_event, "
               "model_version, top_factors")
    query = f"SELECT {columns} FROM risk_scores ORDER BY as_of, business_key"
    with warehouse(settings, read_only=True) as con:
        expected = con.execute(query).pl()
    with warehouse(other, read_only=True) as con:
        got = con.execute(query).pl()
    # The model's matrix products (BLAS) may differ in the last bit with the rows around a row
    # in its batch: probabilities agree to 1e-15; everything else, the ranks included, exactly.
    assert_frame_equal(got.drop("probability", "top_factors"), expected.drop("probability", "top_factors"))
    assert (got["probability"] - expected["probability"]).abs().max() < 1e-15
    assert got["top_factors"].to_list() == expected["top_factors"].to_list() or _same_factors(got, expected)


def _same_factors(got: pl.DataFrame, expected: pl.DataFrame) -> bool:
    """Factors agree but for the last bits of their contributions."""
    for a, b in zip(got["top_factors"].to_list(), expected["top_factors"].to_list(), strict=True):
        fa, fb = json.loads(a), json.loads(b)
        if [f["indicator"] for f in fa] != [f["indicator"] for f in fb]:
            return False
        for x, y in zip(fa, fb, strict=True):
            for key, value in x.items():
                if isinstance(value, float):
                    if abs(value - y[key]) > 1e-12:
                        return False
                elif value != y[key]:
                    return False
    return True
