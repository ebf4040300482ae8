"""The synthetic generator: deterministic, realistic where the product will look, and
planting exactly the defects it records."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date
from pathlib import Path

import polars as pl
import pytest
import zengin_code

from yocho.contract import FEEDS, Kind, is_valid_corporate_number
from yocho.generator import GenerationSummary, generate
from yocho.generator.institutions import OUTSIDE_LENDERS, REGIONAL_BANKS, UNKNOWN_BANK_CODES
from yocho.settings import GeneratorSettings

CFG = GeneratorSettings(businesses=2000, months=24, seed=5, chunk_size=700)
CUTOFF = date(2026, 10, 21)  # extract date for the default end month 2026-09
FILE_NAME = re.compile(r"^(?P<feed>[a-z_]+)_FY(?P<fy>\d{4})_c(?P<chunk>\d{3})\.(csv|parquet)$")
MONTH_FILE = re.compile(r"^(?P<feed>[a-z_]+)_M(?P<month>\d{6})_c(?P<chunk>\d{3})\.(csv|parquet)$")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, GenerationSummary]:
    out = tmp_path_factory.mktemp("gen")
    calls: list[tuple[int, int]] = []
    summary = generate(CFG, out, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 3), (2, 3), (3, 3)]
    return out, summary


def _hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def read_file(path: Path) -> pl.DataFrame:
    """Every column as text, English names, as ingest sees it after decoding."""
    feed = FEEDS[path.parent.name]
    if path.suffix == ".parquet":
        return pl.read_parquet(path).select(pl.all().cast(pl.Utf8))
    data = path.read_bytes()
    text = data.decode("utf-8-sig") if data.startswith(b"\xef\xbb\xbf") else data.decode("cp932")
    frame = pl.read_csv(text.encode(), infer_schema=False)
    ja = {c.ja: c.name for c in feed.columns}
    return frame.rename({h: ja.get(h, h) for h in frame.columns})


def feed_frames(out: Path, feed: str) -> list[tuple[Path, pl.DataFrame]]:
    return [(p, read_file(p)) for p in sorted((out / "landing").glob(f"*/{feed}/*")) if p.is_file()]


def bad_rows(out: Path) -> pl.DataFrame:
    return pl.read_parquet(out / "truth" / "bad_rows.parquet")


def good_rows(out: Path, path: Path, frame: pl.DataFrame) -> pl.DataFrame:
    rel = str(path.relative_to(out / "landing"))
    bad = bad_rows(out).filter(pl.col("file") == rel)["row"].to_list()
    return frame.with_row_index("row", offset=2).filter(~pl.col("row").is_in(bad))


def test_layout_summary_and_institutions(run):
    out, summary = run
    assert summary.businesses == 2000 and summary.months == 24
    assert summary.institutions == ["bank_0116", "bank_0117", "bank_0119", "cga_01"]
    codes = zengin_code.Bank.all
    assert all(code in codes for code, _, _ in REGIONAL_BANKS)
    assert all(code in codes for code in OUTSIDE_LENDERS)
    assert not any(code in codes for code in UNKNOWN_BANK_CODES)
    files = [p for p in (out / "landing").rglob("*") if p.is_file()]
    assert len(files) == summary.files_written
    for path in files:
        inst, feed, name = path.relative_to(out / "landing").parts
        match = FILE_NAME.match(name)
        assert match and match["feed"] == feed and inst in summary.institutions, path
    assert set(summary.rows_per_feed) == set(FEEDS)
    assert all(n > 0 for n in summary.rows_per_feed.values()), summary.rows_per_feed
    for feed, n in summary.rows_per_feed.items():
        assert sum(f.height for _, f in feed_frames(out, feed)) == n, feed


def test_same_seed_same_bytes_other_seed_other_bytes(run, tmp_path):
    out, _ = run
    generate(CFG, tmp_path / "again")
    assert _hashes(out) == _hashes(tmp_path / "again")
    generate(CFG.model_copy(update={"seed": 6}), tmp_path / "other")
    other = _hashes(tmp_path / "other")
    same = {k for k, v in other.items() if _hashes(out).get(k) == v}
    assert not {k for k in same if k.startswith("landing")}


def test_event_base_rate_is_realistic(run):
    out, summary = run
    truth = pl.read_parquet(out / "truth" / "businesses.parquet")
    with_event = truth["first_event_month"].is_not_null().sum()
    rate = with_event / (CFG.businesses * CFG.months / 12)
    assert 0.01 <= rate <= 0.03
    assert summary.businesses_with_event == with_event
    assert summary.annual_event_rate == pytest.approx(rate)
    assert truth.filter(pl.col("first_event_month").is_not_null())["recovers"].sum() > 0


def test_population_shape(run):
    out, _ = run
    truth = pl.read_parquet(out / "truth" / "businesses.parquet")
    sole = truth["entity_type"] == "sole_proprietor"
    assert 0.22 <= sole.mean() <= 0.32
    assert truth.filter(sole)["corporate_number"].null_count() == sole.sum()
    assert 0.40 <= truth["guaranteed"].mean() <= 0.52
    top = truth.group_by("jsic_division").len().sort("len", descending=True)["jsic_division"].head(4).to_list()
    assert set(top) <= {"D", "E", "I", "M", "N"}
    assert truth["employees"].median() <= 10 and truth["employees"].max() > 50
    banks = truth.select(pl.sum_horizontal(pl.col(f"local_id_{b}").is_not_null() for b in ("bank_0116", "bank_0117", "bank_0119")))
    assert banks.to_series().is_between(1, 3).all() and (banks.to_series() > 1).mean() > 0.2


def test_chunks_add_up_to_all_businesses(run):
    out, _ = run
    truth = pl.read_parquet(out / "truth" / "businesses.parquet")
    assert truth.height == CFG.businesses and truth["business_id"].n_unique() == CFG.businesses
    chunks = {FILE_NAME.match(p.name)["chunk"] for p in (out / "landing").rglob("*") if p.is_file()}
    assert chunks == {"000", "001", "002"}
    links = pl.read_parquet(out / "truth" / "links.parquet")
    # Customer numbers are unique within an institution and differ between them.
    assert links.group_by("institution_id").agg(pl.col("local_id").n_unique() == pl.len())["local_id"].all()
    multi = links.group_by("business_id").agg(pl.col("local_id").n_unique(), pl.len()).filter(pl.col("len") > 1)
    assert (multi["local_id"] == multi["len"]).all()


def test_monthly_health_truth(run):
    """Every business's latent health in every simulated month (the 18 pre-window months
    included), agreeing with the per-business summary."""
    out, _ = run
    truth = pl.read_parquet(out / "truth" / "businesses.parquet")
    health = pl.read_parquet(out / "truth" / "health_monthly.parquet")
    months = 18 + CFG.months
    assert health.height == CFG.businesses * months
    assert health.group_by("business_id").len()["len"].unique().to_list() == [months]
    # 24 written months end in 2026-09 and start in 2024-10; 18 simulated before them
    assert health["month"].min() == date(2023, 4, 1) and health["month"].max() == date(2026, 9, 1)
    window = health.filter(pl.col("month") >= date(2024, 10, 1))
    summary = window.group_by("business_id").agg(
        start=pl.col("h").sort_by("month").first(), low=pl.col("h").min(), mean=pl.col("h").mean())
    both = truth.join(summary, on="business_id")
    assert both.height == CFG.businesses
    assert (both["health_start"] - both["start"]).abs().max() < 1e-5
    assert (both["health_min"] - both["low"]).abs().max() < 1e-5
    assert (health["distress"] - (-health["h"]).clip(lower_bound=0)).abs().max() == 0


def test_encodings_and_headers(run):
    out, _ = run
    for path in (out / "landing").rglob("*"):
        if not path.is_file():
            continue
        inst = path.parent.parent.name
        feed = FEEDS[path.parent.name]
        if inst in ("bank_0116", "cga_01"):
            data = path.read_bytes()
            assert not data.startswith(b"\xef\xbb\xbf")
            text = data.decode("cp932")  # strict
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
            assert text.split("\r\n", 1)[0].split(",") == [c.ja for c in feed.columns]
        elif inst == "bank_0117":
            text = path.read_bytes().decode("utf-8")
            assert text.startswith("\ufeff")
            assert text[1:].split("\n", 1)[0].split(",") == feed.column_names
        else:
            assert path.suffix == ".parquet"
            schema = pl.read_parquet_schema(path)
            assert list(schema) == feed.column_names
            for col in feed.columns:
                expected = {Kind.DATE: pl.Date, Kind.MONTH: pl.Date, Kind.JPY: pl.Int64, Kind.BOOL: pl.Boolean}.get(col.kind)
                if expected is not None:
                    assert schema[col.name] == expected, (path, col.name)


def test_japanese_formats_appear(run):
    out, _ = run
    text = (out / "landing" / "bank_0116" / "loans").glob("*.csv").__next__().read_bytes().decode("cp932")
    assert re.search(r"令和\d+年\d+月", text) and re.search(r"R\d+\.\d+\.\d+", text)
    assert re.search(r'"\d{1,3}(,\d{3})+"', text) and re.search("[０-９]", text)
    assert re.search(",(有|無|○|×),", text)
    classes = "".join(p.read_bytes().decode("cp932") for p in (out / "landing" / "bank_0116" / "classifications").glob("*"))
    assert "正常先" in classes and "要注意先" in classes


def test_corporate_numbers_valid_on_good_rows(run):
    out, _ = run
    checked = 0
    for feed in FEEDS:
        for path, frame in feed_frames(out, feed):
            numbers = good_rows(out, path, frame)["corporate_number"].drop_nulls().to_list()
            for value in set(numbers):
                assert is_valid_corporate_number(unicodedata.normalize("NFKC", value)), (path, value)
            checked += len(numbers)
    assert checked > 10_000


def test_monthly_rows_arrive_after_the_month_and_before_the_extract(run):
    out, _ = run
    for path in (out / "landing" / "bank_0119").glob("*/*.parquet"):
        if path.parent.name not in ("loans", "accounts"):
            continue
        frame = good_rows(out, path, pl.read_parquet(path))
        # Late rows and corrections (re-sent with a later received_on) stretch the tail.
        lag = (pl.col("received_on") - pl.col("month").dt.month_end()).dt.total_days()
        stats = frame.select(lag.min().alias("lo"), lag.max().alias("hi"), pl.col("received_on").max().alias("last"))
        assert stats["lo"][0] >= 10 and stats["hi"][0] <= 130 and stats["last"][0] <= CUTOFF


def test_statements_are_consistent_and_late(run):
    out, _ = run
    frame = pl.read_parquet(out / "landing" / "bank_0119" / "financials" / "*.parquet")
    frame = frame.filter(pl.col("sales_jpy") > 0, pl.col("received_on") <= CUTOFF)
    assert (frame["gross_profit_jpy"] < frame["sales_jpy"]).all()
    assert (frame["operating_profit_jpy"] < frame["gross_profit_jpy"]).all()
    assert (frame["net_assets_jpy"] == frame["total_assets_jpy"] - frame["total_liabilities_jpy"]).all()
    assert (frame["current_assets_jpy"] <= frame["total_assets_jpy"]).all()
    lag = frame.select((pl.col("received_on") - pl.col("period_end")).dt.total_days(), "statement_type")
    annual = lag.filter(pl.col("statement_type") == "annual")["received_on"]
    quarterly = lag.filter(pl.col("statement_type") == "quarterly")["received_on"]
    assert annual.min() >= 55 and annual.max() <= 180 and quarterly.max() <= 62
    assert (frame["period_end"].dt.month() == 3).mean() > 0.4  # March year ends dominate


def _bank_view(out: Path, feed: str) -> pl.DataFrame:
    """Loans or accounts of the UTF-8 and Parquet banks, typed, joined to the truth."""
    truth = pl.read_parquet(out / "truth" / "businesses.parquet")
    parts = []
    for bank in ("bank_0117", "bank_0119"):
        for path, frame in feed_frames(out, feed):
            if path.parent.parent.name != bank:
                continue
            frame = good_rows(out, path, frame).drop("row")
            parts.append(frame.join(truth.select(pl.col(f"local_id_{bank}").alias("local_id"), "first_event_month",
                                                 "business_id"), on="local_id"))
    frame = pl.concat(parts)
    return frame.with_columns(pl.col("month").str.slice(0, 7).str.to_date("%Y-%m"))


def test_deteriorating_businesses_show_more_signs_before_their_event(run):
    out, _ = run
    loans = _bank_view(out, "loans").with_columns(pl.col("days_past_due").cast(pl.Int64))
    before = (pl.col("month") < pl.col("first_event_month")) & (
        pl.col("month") >= pl.col("first_event_month").dt.offset_by("-12mo"))
    dpd_event = loans.filter(before)["days_past_due"].mean()
    dpd_other = loans.filter(pl.col("first_event_month").is_null())["days_past_due"].mean()
    assert dpd_event > 5 * dpd_other and dpd_other > 0  # healthy books show a few noisy signs too

    acc = _bank_view(out, "accounts").with_columns(pl.col("inflow_jpy").cast(pl.Int64)).unique(
        ["local_id", "month"], keep="first")
    last_year = acc.select("local_id", pl.col("month").dt.offset_by("12mo"), pl.col("inflow_jpy").alias("ly"))
    yoy = acc.join(last_year, on=["local_id", "month"]).with_columns(r=pl.col("inflow_jpy") / pl.col("ly"))
    six = (pl.col("month") < pl.col("first_event_month")) & (pl.col("month") >= pl.col("first_event_month").dt.offset_by("-6mo"))
    assert yoy.filter(six)["r"].median() < 0.85
    assert 0.95 < yoy.filter(pl.col("first_event_month").is_null())["r"].median() < 1.08


def test_events_feed_agrees_with_truth(run):
    out, _ = run
    truth = pl.read_parquet(out / "truth" / "businesses.parquet")
    links = pl.read_parquet(out / "truth" / "links.parquet")
    parts = []
    for path, frame in feed_frames(out, "events"):
        frame = good_rows(out, path, frame)
        parts.append(frame.select("local_id", "event_type", "occurred_on").with_columns(
            pl.lit(path.parent.parent.name).alias("institution_id")))
    events = pl.concat(parts).with_columns(
        pl.col("occurred_on").str.replace_all(r"/", "-").str.to_date("%Y-%m-%d", strict=False))
    # The cp932 senders write 和暦; compare on the ISO and Parquet senders only.
    events = events.filter(pl.col("occurred_on").is_not_null()).join(links, on=["institution_id", "local_id"])
    first = events.group_by("business_id").agg(pl.col("occurred_on").min().dt.month_start())
    joined = first.join(truth.select("business_id", "first_event_month"), on="business_id")
    assert joined.height > 20
    assert (joined["occurred_on"] == joined["first_event_month"]).all()


def test_planted_defects_are_recorded_and_visible(run):
    out, _ = run
    bad = bad_rows(out)
    assert set(bad["kind"]) == {"invalid_check_digit", "unknown_bank_code", "unparseable_date", "future_received_on",
                                "negative_amount", "unknown_category", "missing_required", "duplicate_key"}
    for (rel,), defects in bad.group_by(["file"]):
        path = out / "landing" / rel
        frame = read_file(path)
        assert defects.height / frame.height < 0.05
        feed = FEEDS[path.parent.name]
        for d in defects.iter_rows(named=True):
            i = d["row"] - 2
            if d["kind"] == "duplicate_key":
                # A CSV sender may spell the copy's dates differently; the first key is plain text.
                assert frame[feed.key[0]][i] == frame[feed.key[0]][i - 1]
                if path.suffix == ".parquet":
                    assert frame.row(i) == frame.row(i - 1)
                continue
            value = frame[d["column"]][i]
            if d["kind"] == "missing_required":
                assert value is None
            elif d["kind"] == "invalid_check_digit":
                assert not is_valid_corporate_number(unicodedata.normalize("NFKC", value))
            elif d["kind"] == "unknown_bank_code":
                assert value not in zengin_code.Bank.all
            elif d["kind"] == "negative_amount":
                assert value[0] in "-△▲"
            elif d["kind"] == "future_received_on":
                assert "2028" in value or "R10" in value or "令和10" in value
            elif d["kind"] == "unknown_category":
                col = feed.column(d["column"])
                assert value not in col.categories and value not in col.categories.values()


def _iso_dates(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).str.replace_all("/", "-").str.to_date("%Y-%m-%d", strict=False)
                              for c in columns).drop_nulls(list(columns))


def test_exits_are_the_last_thing_an_institution_sends_about_a_business(run):
    """Businesses without an outcome event leave (a relationship ends or the business closes):
    the institution sends an exit and nothing about the business received after it."""
    out, summary = run
    truth = pl.read_parquet(out / "truth" / "businesses.parquet")
    links = pl.read_parquet(out / "truth" / "links.parquet")
    exits, sent = [], []
    for path, frame in feed_frames(out, "exits"):
        inst = path.parent.parent.name
        exits.append(good_rows(out, path, frame).select("local_id", "exit_type", "exited_on", "received_on")
                     .with_columns(pl.lit(inst).alias("institution_id")))
    exits = pl.concat(exits)
    assert exits.height == summary.rows_per_feed["exits"] > 20
    assert set(exits["exit_type"]) <= set(FEEDS["exits"].column("exit_type").categories) | {
        *FEEDS["exits"].column("exit_type").categories.values()}
    # every kind of institution reports exits, and both closures and relationship ends happen
    assert {i.split("_")[0] for i in exits["institution_id"]} == {"bank", "cga"}
    assert {"closed", "廃業"} & set(exits["exit_type"]) and {"repaid", "完済"} & set(exits["exit_type"])
    # only businesses that never reach an outcome event leave
    who = exits.join(links, on=["institution_id", "local_id"]).join(truth, on="business_id")
    assert who.height == exits.height
    assert who["first_event_month"].null_count() == who["event_after_window_month"].null_count() == who.height
    # nothing is received after the exit (the cp932 sender writes 和暦: compare the others)
    exits = _iso_dates(exits, "exited_on", "received_on")
    assert exits.height > 10 and (exits["exited_on"] <= exits["received_on"]).all()
    for feed in ("business", "loans", "accounts", "guarantees", "financials", "observations"):
        for path, frame in feed_frames(out, feed):
            frame = _iso_dates(good_rows(out, path, frame).select("local_id", "received_on"), "received_on")
            sent.append(frame.with_columns(pl.lit(path.parent.parent.name).alias("institution_id")))
    last = pl.concat(sent).group_by("institution_id", "local_id").agg(pl.col("received_on").max().alias("last"))
    joined = exits.join(last, on=["institution_id", "local_id"])
    assert joined.height > 10
    assert (joined["last"] <= joined["received_on"]).all()


def _all_rows(out: Path) -> dict[tuple[str, str], pl.DataFrame]:
    """(institution, feed) -> every row of its files, as text, in a canonical order."""
    frames: dict[tuple[str, str], list[pl.DataFrame]] = {}
    for path in sorted((out / "landing").rglob("*")):
        if path.is_file():
            frames.setdefault((path.parent.parent.name, path.parent.name), []).append(read_file(path))
    return {k: pl.concat(v).sort(pl.all()) for k, v in frames.items()}


def test_the_last_months_are_delivered_one_file_per_month_of_receipt(run, tmp_path, monkeypatch):
    """monthly_files_months=N moves the rows received in the last N months (the extract's
    month, 2026-10, and the one before) into one file per month of receipt; 0 writes none."""
    out, _ = run
    assert not [p for p in (out / "landing").rglob("*_M*") if p.is_file()]  # the default: fiscal years only

    # With defects and the senders' varied spellings taken out, both layouts must hold the
    # same rows: only the files they are in differ.
    from yocho.generator import writer
    monkeypatch.setattr(writer, "plant", lambda frame, feed, fmt, rng, future: (frame, pl.DataFrame(), []))
    monkeypatch.setattr(writer, "render", lambda frame, feed, fmt, rng: frame.select(feed.column_names))
    cfg = GeneratorSettings(businesses=400, months=12, seed=5, chunk_size=250)
    plain = generate(cfg, tmp_path / "plain")
    monthly = generate(cfg.model_copy(update={"monthly_files_months": 2}), tmp_path / "monthly")
    assert monthly.rows_per_feed == plain.rows_per_feed
    assert monthly.files_written > plain.files_written
    before, after = _all_rows(tmp_path / "plain"), _all_rows(tmp_path / "monthly")
    assert before.keys() == after.keys()
    for key, frame in before.items():
        assert frame.equals(after[key]), key

    landing = tmp_path / "monthly" / "landing"
    first = date(2026, 9, 1)
    months = set()
    for path in sorted(p for p in landing.rglob("*") if p.is_file()):
        received = read_file(path)["received_on"].str.to_date("%Y-%m-%d")
        if match := MONTH_FILE.match(path.name):
            assert match["feed"] == path.parent.name and match["chunk"] in ("000", "001")
            months.add(match["month"])
            start = date(int(match["month"][:4]), int(match["month"][4:]), 1)
            assert (received.dt.month_start() == start).all(), path
        else:
            assert FILE_NAME.match(path.name), path
            assert (received < first).all(), path
    assert months == {"202609", "202610"}
    month_files = [p for p in landing.rglob("*_M202610_*")]
    # the night's delivery: every institution sends something, received up to the extract date
    assert {p.parent.parent.name for p in month_files} == set(plain.institutions)
    assert max(read_file(p)["received_on"].str.to_date("%Y-%m-%d").max() for p in month_files) <= CUTOFF
