"""bench/real.py: the mapping of real annual statements into the data contract (fast, on tiny
literal frames), and a whole run on a slice of the shared public data (slow)."""
from __future__ import annotations

import json
import math
import os
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from bench.real import EMPTY_COLUMNS, ITEMS, baseline_features, dedupe, recall_at, run, split_firms, to_contract, windows, write_landing

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "lombardo2022"


def _statements(rows: list[dict]) -> pl.DataFrame:
    """Source rows (cik, fyear, company_name, status, items in USD millions); items not
    given are 1.0."""
    return pl.DataFrame(
        [{"cik": r["cik"], "fyear": r["fyear"], "company_name": r.get("name", "ACME CORP"),
          **{i: r.get(i, 1.0) for i in ITEMS}, "status": r.get("status"), "file": r.get("file", "a.csv")}
         for r in rows],
        schema_overrides={"cik": pl.Int64, "fyear": pl.Int32, "status": pl.Int8, **{i: pl.Float64 for i in ITEMS}},
    )


def test_firm_years_are_deduplicated_on_cik_and_fiscal_year():
    rows = _statements([
        {"cik": 20, "fyear": 2005, "status": 1, "file": "5.csv"},
        {"cik": 20, "fyear": 2006, "status": 1, "file": "5.csv"},
        {"cik": 20, "fyear": 2006, "status": 1, "file": "3.csv"},  # the same year in a shorter window
        {"cik": 20, "fyear": 2005, "status": 1, "file": "3.csv", "total_assets": 2.0},  # differs: first file wins
    ])
    out, info = dedupe(rows)
    assert out.select("cik", "fyear").rows() == [(20, 2005), (20, 2006)]
    assert out.filter(pl.col("fyear") == 2005)["total_assets"].item() == 1.0
    assert info == {"rows_read": 4, "firm_years": 2, "duplicates_dropped": 2, "duplicates_with_different_figures": 1}


def test_a_label_in_any_file_labels_the_firm_and_windows_end_at_the_last_year():
    rows = _statements([{"cik": 7, "fyear": 2009, "status": None}, {"cik": 7, "fyear": 2010, "status": 1},
                        {"cik": 8, "fyear": 2012, "status": 0}])
    out, _ = dedupe(rows)
    assert out["status"].to_list() == [1, 1, 0]
    w = windows(out)
    assert w.select("cik", "last_fyear", "failed").rows() == [(7, 2010, True), (8, 2012, False)]
    train, score, dropped = split_firms(out, out, 2010, 2011, None)
    assert train["cik"].unique().to_list() == [7] and score["cik"].unique().to_list() == [8] and dropped == 0
    # without the year limits every firm is in both sets: scored, and dropped from training
    train, score, dropped = split_firms(out, out.filter(pl.col("cik") == 8), None, None, None)
    assert train["cik"].unique().to_list() == [7] and dropped == 1


def test_statements_map_to_contract_rows_with_dates_units_and_net_assets():
    rows, _ = dedupe(_statements([
        {"cik": 61478, "fyear": 2007, "name": "ADC TELECOM (old name)", "total_revenue": 1281.9,
         "total_assets": 1611.4, "total_liabilities": 737.9, "retained_earnings": -567.4, "ebit": 72.6,
         "total_long_term_debt": 400.0, "net_sales": 999.0, "market_value": 5.0, "status": 0},
        {"cik": 61478, "fyear": 2008, "name": "ADC TELECOMMUNICATIONS INC", "status": 0},
    ]))
    feeds = to_contract(rows, with_events=True)

    fin = feeds["financials"].filter(pl.col("period_end") == date(2007, 12, 31)).row(0, named=True)
    assert fin["local_id"] == "0000061478" and fin["corporate_number"] is None and fin["statement_type"] == "annual"
    assert fin["period_start"] == date(2007, 1, 1)
    assert fin["received_on"] == date(2008, 3, 30)  # period_end + 90 days (2008 is a leap year)
    # USD millions -> whole units, rounded (1281.9 * 1e6 is 1281899999.99... in floating point)
    assert fin["sales_jpy"] == 1_281_900_000 and fin["operating_profit_jpy"] == 72_600_000
    assert fin["total_assets_jpy"] == 1_611_400_000 and fin["long_term_borrowings_jpy"] == 400_000_000
    assert fin["retained_earnings_jpy"] == -567_400_000
    assert fin["net_assets_jpy"] == 1_611_400_000 - 737_900_000
    assert all(fin[c] is None for c in EMPTY_COLUMNS)
    assert feeds["financials"].filter(pl.col("period_end") == date(2008, 12, 31))["received_on"].item() == \
        date(2009, 3, 31)

    business = feeds["business"].row(0, named=True)
    assert business["local_id"] == "0000061478" and business["name"] == "ADC TELECOMMUNICATIONS INC"  # latest
    assert (business["entity_type"], business["jsic_division"], business["prefecture_code"]) == ("corporation", "T", 13)
    assert business["corporate_number"] is None
    assert business["received_on"] == date(2008, 3, 30)  # known from its first statement
    assert feeds["events"].is_empty()  # alive: no event


def test_a_failed_firm_gets_one_bankruptcy_event_half_a_year_after_its_last_fiscal_year():
    rows, _ = dedupe(_statements([{"cik": 5, "fyear": y, "status": 1} for y in (2004, 2005, 2006)]
                                 + [{"cik": 6, "fyear": 2006, "status": 0}]))
    events = to_contract(rows, with_events=True)["events"]
    assert events.rows(named=True) == [{
        "event_id": "BK-0000000005", "local_id": "0000000005", "corporate_number": None,
        "event_type": "legal_bankruptcy", "occurred_on": date(2007, 6, 30), "received_on": date(2007, 6, 30),
    }]
    assert "events" not in to_contract(rows, with_events=False)


def test_landing_files_are_written_as_a_bank_sends_them_and_parse_back(tmp_path: Path):
    from yocho.contract import FEEDS
    from yocho.ingest.parse import parse_feed, read_raw

    rows, _ = dedupe(_statements([{"cik": 5, "fyear": 2005, "status": 1, "total_revenue": -0.5,
                                   "name": "CAFÉ, INC"}]))
    written = write_landing(to_contract(rows, with_events=True), tmp_path)
    assert written == {"business": 1, "financials": 1, "events": 1}
    root = tmp_path / "landing" / "bank_0001"
    fin = (root / "financials" / "financials_FY2005.csv").read_bytes()
    assert fin.decode("cp932").startswith("顧客番号,") and "△500000" in fin.decode("cp932")
    assert (root / "business" / "business_master.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    path = root / "financials" / "financials_FY2005.csv"
    parsed = parse_feed(read_raw(path), FEEDS["financials"], file_name=path.name)
    assert parsed.errors.is_empty() and not parsed.ignored_columns
    assert parsed.rows["sales_jpy"].to_list() == [-500_000]  # refused later by validation, not here
    assert parsed.rows["period_end"].to_list() == [date(2005, 12, 31)]


def test_baseline_features_take_ratios_and_changes_on_the_previous_year_only():
    rows, _ = dedupe(_statements([
        {"cik": 1, "fyear": 2001, "total_assets": 100.0, "ebit": 10.0, "total_revenue": 50.0},
        {"cik": 1, "fyear": 2002, "total_assets": 200.0, "ebit": -10.0, "total_revenue": 50.0},
        {"cik": 1, "fyear": 2004, "total_assets": 200.0, "ebit": 0.0, "total_revenue": 0.0},  # a gap
    ]))
    f = baseline_features(to_contract(rows, with_events=False)["financials"]).sort("fyear")
    assert f["ebit_ta"].to_list() == [0.1, -0.05, 0.0]
    assert f["total_assets_jpy__yoy"].to_list() == [None, 1.0, None]
    assert f["ebit_ta__yoy"].to_list()[1] == pytest.approx(-0.15)
    assert f["rec_sales"].to_list()[2] is None  # no sales: no ratio


def test_recall_in_the_top_share_counts_ties_at_the_cut_fractionally():
    y = np.array([1, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    assert recall_at(y, np.linspace(1, 0, 10), 0.10) == 0.5
    # the top 10% is one firm, tied with three others (one of them failed): 1/4 of it
    assert recall_at(y, np.array([0.9, 0.9, 0.9, 0.9, 0.1, 0, 0, 0, 0, 0]), 0.10) == pytest.approx(0.125)


# --- a whole run on real data -----------------------------------------------------------------

def _slice(tmp_path: Path) -> tuple[Path, Path, pl.DataFrame, pl.DataFrame]:
    """~150 training firms (windows ending by 2008, 40 failed) and ~100 score firms (ending
    2009-2014, 20 failed) of the 5-year windows."""
    if not SHARED.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"the shared data set is missing under CI: {SHARED}")
        pytest.skip(f"shared data set not available locally: {SHARED}")
    every = pl.concat([pl.read_csv(SHARED / "5_train_for_LSTM.csv"), pl.read_csv(SHARED / "5_validation_for_LSTM.csv")])
    w = every.group_by("cik").agg(pl.col("fyear").max().alias("end"), pl.col("status").max().alias("failed"))

    def firms(frame: pl.DataFrame, failed: int, alive: int) -> pl.DataFrame:
        return pl.concat([frame.filter(pl.col("failed") == 1).sort("cik").head(failed),
                          frame.filter(pl.col("failed") == 0).sort("cik").head(alive)])

    train_firms = firms(w.filter(pl.col("end") <= 2008), 40, 110)
    score_firms = firms(w.filter(pl.col("end") >= 2009), 20, 80)
    train = tmp_path / "train.csv"
    every.join(train_firms, on="cik", how="semi").write_csv(train)
    score = tmp_path / "score.csv"
    every.join(score_firms, on="cik", how="semi").write_csv(score)
    return train, score, train_firms, score_firms


@pytest.mark.slow
def test_a_run_on_real_statements_scores_every_firm_before_its_outcome(tmp_path: Path):
    from yocho.settings import load_settings
    from yocho.warehouse.db import warehouse

    train, score, train_firms, score_firms = _slice(tmp_path)
    out, work = tmp_path / "out", tmp_path / "work"
    report = run([train], [score], out, work, train_ends_by=2008, score_ends_from=2009,
                 score_ends_by=2014, seed=3, bootstrap=200, log=lambda *_: None)

    assert report["firms"]["train"]["firms"] == 150 and report["firms"]["train"]["failures"] == 40
    assert report["firms"]["score"]["firms"] == 100 and report["firms"]["score"]["failures"] == 20

    scores = pl.read_csv(out / "scores.csv", try_parse_dates=True)
    assert scores.columns == ["cik", "as_of", "probability", "band", "top_factors"]
    assert sorted(scores["cik"].to_list()) == sorted(score_firms["cik"].to_list())  # one row per firm
    assert scores["probability"].null_count() == 0 and scores["probability"].is_between(0, 1).all()
    assert all(isinstance(json.loads(t), list) and json.loads(t) for t in scores["top_factors"])
    # scored after the last statement was received (31 December + 90 days), before the outcome
    last = pl.read_csv(score).group_by("cik").agg(pl.col("fyear").max().cast(pl.Int32).alias("fyear"))
    timing = scores.join(last, on="cik").with_columns(
        received=pl.date(pl.col("fyear"), 12, 31) + pl.duration(days=90))
    assert (timing["as_of"] >= timing["received"]).all()
    assert timing.select((pl.col("as_of") < pl.date(pl.col("fyear") + 1, 6, 30)).all()).item()

    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    evaluation = metrics["evaluation"]
    assert evaluation["firms"] == 100 and evaluation["failures"] == 20
    assert set(evaluation["models"]) == {"yocho", "baseline"}
    for model in evaluation["models"].values():
        for name in ("roc_auc", "pr_auc", "recall_top_5%", "recall_top_10%"):
            lo, hi = model[name]["ci95"]
            assert 0 <= lo <= model[name]["value"] <= hi <= 1, (name, model[name])
    for step in ("ingest", "scan", "train", "score", "baseline"):
        assert metrics["seconds"][step] > 0
    table = (out / "metrics.md").read_text(encoding="utf-8")
    assert table.count("\n| yocho |") == 1 and table.count("\n| baseline |") == 1

    # the warning-sign quality table of the training warehouse, next to metrics.md
    quality = pl.read_csv(out / "quality.csv")
    from features.catalog import indicators

    assert sorted(quality["indicator_id"].to_list()) == sorted(indicators())
    with warehouse(load_settings(data_dir=work / "train"), read_only=True) as con:
        financial_rows = con.execute(
            "SELECT count(*) FROM indicator_values WHERE family = 'financials' AND severity <> 'measure' "
            "AND available").fetchone()[0]
    measured = quality.filter(pl.col("rows") > 0)
    assert set(measured["family"]) == {"financials"}  # statements are all these firms send
    assert 0 < measured["rows"].sum() <= financial_rows  # rows already after a failure are left out
    assert (measured["before_rows"].sum() > 0) and (measured["healthy_rows"].sum() > 0)
    text = (out / "quality.md").read_text(encoding="utf-8")
    assert all(f"| `{i}` |" in text for i in measured["indicator_id"])
    assert "signs with data are weak" in text

    # the score firms' outcomes never reached the scoring warehouse; the training failures did
    score_settings = load_settings().model_copy(update={"data_dir": work / "score"})
    with warehouse(score_settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_events").fetchone()[0] == 0
        assert con.execute("SELECT count(DISTINCT local_id) FROM raw_business").fetchone()[0] == 100
    train_settings = load_settings().model_copy(update={"data_dir": work / "train"})
    with warehouse(train_settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_events WHERE event_type = 'legal_bankruptcy'").fetchone()[0] == 40
        assert con.execute("SELECT count(DISTINCT local_id) FROM raw_business").fetchone()[0] == 150
    assert metrics["events_loaded"] == {"train": 40, "score": 0}
    assert math.isfinite(metrics["model"]["training_rows"]) and metrics["model"]["version"]

    # the explanations on real statements: a factor listed as a warning sign fired for that
    # firm at that date in the scoring warehouse, and a sign that did not fire (or a measure)
    # is never listed as one
    with warehouse(score_settings, read_only=True) as con:
        fired = {(k, d, i) for k, d, i in con.execute(
            "SELECT business_key, as_of, indicator_id FROM indicator_values WHERE fired").fetchall()}
        measure_ids = {i for (i,) in con.execute(
            "SELECT DISTINCT indicator_id FROM indicator_values WHERE severity = 'measure'").fetchall()}
    kinds = {"sign": 0, "figure": 0, "missing": 0}
    for row in scores.iter_rows(named=True):
        key = f"bank_0001:{row['cik']:010d}"
        for factor in json.loads(row["top_factors"]):
            kinds[factor["kind"]] += 1
            assert factor["contribution"] > 0
            is_fired = (key, row["as_of"], factor["indicator"]) in fired
            assert (factor["kind"] == "sign") == is_fired, (row["cik"], factor)
            assert (factor["kind"] == "sign") == (factor["fired"] is True)
            if factor["indicator"] in measure_ids:
                assert factor["kind"] != "sign" and factor["fired"] is None
            label = {"sign": "予兆（発火）", "figure": "数値（予兆ではない）", "missing": "データなし（予兆ではない）"}
            assert factor["kind_ja"] == label[factor["kind"]]
    assert kinds["sign"] > 0 and kinds["figure"] > 0
