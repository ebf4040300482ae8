"""`python -m bench.real`: Yocho on real annual statements with known failures, against a plain
gradient-boosting baseline, out of time and firm-disjoint.

    .venv/bin/python -m bench.real --train A.csv [B.csv ...] --score C.csv [D.csv ...] --out DIR
        [--data-dir WORK] [--train-ends-by YEAR] [--score-ends-from YEAR] [--score-ends-by YEAR]
        [--seed N] [--bootstrap N]

Input: files in the layout of the Lombardo et al. (2022) bankruptcy data set
(/work/shared/data/lombardo2022/README.md): cik, fyear, company_name, tic, status_label,
status and 18 items in USD millions, one window of consecutive fiscal years per firm. A score
file may lack the status columns. The same firm may appear in several files: rows are
de-duplicated on (cik, fyear). A firm's window end is its last fiscal year; `--train-ends-by`
keeps the training firms whose window ends by that year, `--score-ends-from/--score-ends-by`
the score firms whose window ends in that range; a firm in both sets is dropped from training.

What runs is the product's own path, in two data directories under WORK:

- `WORK/train`: landing files of the training firms (master, statements, and one failure
  event per failed firm) → ingest flow → scan flow over every month-end from the first
  statement received to the last one + 12 months → train flow with `until` = that last
  month-end (champion in WORK/train/models). The source tells each training firm's outcome in
  the year after its last fiscal year, so the history is known up to then; without `until`,
  the warehouse would only take outcomes as known up to its last received row (the last
  failure event), a year earlier, and never label the latest statements. The 12-month horizon
  of a firm's last statement ends three months after that year (received 90 days after the
  year end): an "alive" firm is taken as not failed in those three months.
- `WORK/score`: landing files of the score firms (master and statements only: their outcomes
  are never ingested) → ingest flow → scan flow at the month-ends needed → score flow with the
  champion of WORK/train (settings `registry_dir`). Each firm is scored at the first month-end
  on or after the day its last statement was received, before its outcome is known.

Next to metrics.md, quality.md and quality.csv hold the warning-sign quality table
(features/quality.py) of the training warehouse: for each sign, how often it fired 6-12 months
before a failure and for firms that did not fail within 12 months, its lift, its 12-month
precision and whether it is weak, with the labels the training run used.

The baseline (`HistGradientBoostingClassifier(random_state=seed)`, default parameters) learns
from one row per training firm-year (label 1 on a failed firm's last fiscal year only, the year
before the filing) and scores each score firm's last fiscal year, on the mapped statement
items, their ratios and their year-over-year changes. Both are measured on the same firms:
ROC AUC, PR AUC (average precision) and recall in the top 5% and 10%, each with a firm-level
bootstrap 95% interval (paired: the same resamples for both models).

Mapping into the data contract (docs/data-contract.md), also in docs/benchmarks.md
----------------------------------------------------------------------------------
Landing folder `landing/bank_0001/<feed>/`: the contract needs an institution folder named
`bank_<統一金融機関コード>` in the 全銀 list; 0001 is such a code. These US firms are not its
borrowers; the folder only names the sender.

`business` (UTF-8 with BOM, English headers; one row per firm):
  local_id ← cik, zero-padded to 10 digits (the SEC's own format); corporate_number empty (US
  firms have no 法人番号); name ← company_name; entity_type `corporation`; jsic_division `T`
  (分類不能の産業: the source has no industry); prefecture_code 13 (a constant: the contract
  requires one and the source has none); received_on = the firm's first statement's received_on.

`financials` (cp932, Japanese headers, negatives written with △, one file per fiscal year, as a
bank's annual extract; one `annual` row per firm-year):
  period_start = 1 January fyear, period_end = 31 December fyear (assumption: the source gives
  fiscal years only, not the year-end date); received_on = period_end + 90 days (the 10-K
  filing deadline for most filers; the source says nothing about when statements became known).
  Units: USD millions × 1,000,000, rounded to whole currency units, written into the `_jpy`
  columns (the amounts are US dollars, not yen: every indicator and ratio is unit-free, so the
  currency does not matter to them; no yen amount threshold is involved).
  sales_jpy ← total_revenue; gross_profit_jpy ← gross_profit; operating_profit_jpy ← ebit;
  net_income_jpy ← net_income; depreciation_jpy ← depreciation_and_amortization;
  total_assets_jpy ← total_assets; current_assets_jpy ← current_assets;
  receivables_jpy ← total_receivables; inventory_jpy ← inventory;
  current_liabilities_jpy ← total_current_liabilities;
  long_term_borrowings_jpy ← total_long_term_debt; total_liabilities_jpy ← total_liabilities;
  net_assets_jpy = total_assets − total_liabilities (after rounding: exact);
  retained_earnings_jpy ← retained_earnings.
  Source items with no contract column: cost_of_goods_sold (= sales − gross profit), ebitda
  (= ebit + D&A), market_value (a market price; SMEs have none), total_operating_expenses,
  net_sales (a duplicate of total_revenue in this source).
  Contract columns left empty: ordinary_profit_jpy, interest_expense_jpy, cash_jpy,
  short_term_borrowings_jpy (not in the source).
  Values the contract refuses (e.g. negative sales or current assets) are written as they are:
  ingest quarantines those rows, and the run reports them from the warehouse's `quarantine`.

`events` (cp932, Japanese headers; training firms that failed only, one row each):
  event_type `legal_bankruptcy`; occurred_on = the window's last period_end + 6 months (30 June
  of the following year). Assumption: the source says only that the firm filed for Chapter 7 or
  11 in the year after the window's last fiscal year; the middle of that year is used.
  received_on = occurred_on (a filing is public the day it is made); event_id `BK-<local_id>`.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import polars.selectors as cs

from features.quality import quality_markdown, sign_quality
from models.training import code_version

INSTITUTION = "bank_0001"
JSIC_DIVISION = "T"  # 分類不能の産業
PREFECTURE_CODE = 13
RECEIVED_AFTER_DAYS = 90  # 10-K filing deadline after the fiscal year-end
FAILURE_AFTER_MONTHS = 6  # the middle of the year after the window's last fiscal year
UNIT = 1_000_000  # source figures are in millions
LOCAL_ID_DIGITS = 10

# The 18 source items, in USD millions.
ITEMS = (
    "current_assets", "total_assets", "cost_of_goods_sold", "total_long_term_debt",
    "depreciation_and_amortization", "ebit", "ebitda", "gross_profit", "inventory",
    "total_current_liabilities", "net_income", "retained_earnings", "total_receivables",
    "total_revenue", "market_value", "total_liabilities", "net_sales", "total_operating_expenses",
)
# contract financials column <- source item (net_assets_jpy is derived)
MAPPED = {
    "sales_jpy": "total_revenue",
    "gross_profit_jpy": "gross_profit",
    "operating_profit_jpy": "ebit",
    "net_income_jpy": "net_income",
    "depreciation_jpy": "depreciation_and_amortization",
    "total_assets_jpy": "total_assets",
    "current_assets_jpy": "current_assets",
    "receivables_jpy": "total_receivables",
    "inventory_jpy": "inventory",
    "current_liabilities_jpy": "total_current_liabilities",
    "long_term_borrowings_jpy": "total_long_term_debt",
    "total_liabilities_jpy": "total_liabilities",
    "retained_earnings_jpy": "retained_earnings",
}
UNMAPPED_ITEMS = ("cost_of_goods_sold", "ebitda", "market_value", "total_operating_expenses", "net_sales")
EMPTY_COLUMNS = ("ordinary_profit_jpy", "interest_expense_jpy", "cash_jpy", "short_term_borrowings_jpy")
STATUS_COLUMNS = ("status_label", "status")


# --- reading and selecting firms -----------------------------------------------------------

def read_statements(paths: list[Path]) -> tuple[pl.DataFrame, dict]:
    """The files' rows, one per (cik, fyear); `status` is null where a file has none."""
    frames = []
    for path in paths:
        frame = pl.read_csv(path, infer_schema_length=None)
        missing = {"cik", "fyear", "company_name", *ITEMS} - set(frame.columns)
        if missing:
            raise SystemExit(f"{path}: missing columns {sorted(missing)}")
        status = pl.col("status").cast(pl.Int8) if "status" in frame.columns else pl.lit(None, pl.Int8)
        frames.append(frame.select(
            pl.col("cik").cast(pl.Int64), pl.col("fyear").cast(pl.Float64).round(0).cast(pl.Int32),
            pl.col("company_name").cast(pl.Utf8), *(pl.col(i).cast(pl.Float64) for i in ITEMS),
            status.alias("status"), pl.lit(str(path)).alias("file"),
        ))
    rows = pl.concat(frames, how="vertical")
    return dedupe(rows)


def dedupe(rows: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """One row per (cik, fyear): the first file's; the same firm-year in several files is
    expected (the windows of length 3, 4 and 5 overlap). Counts the copies whose figures differ."""
    keyed = rows.with_row_index("_order")
    distinct = keyed.unique(subset=["cik", "fyear", *ITEMS], keep="first")
    conflicts = distinct.group_by("cik", "fyear").len().filter(pl.col("len") > 1).height
    # a label present in any copy of the firm counts (a score file may lack it)
    status = rows.group_by("cik").agg(pl.col("status").max().alias("firm_status"))
    out = (keyed.sort("_order").unique(subset=["cik", "fyear"], keep="first", maintain_order=True)
           .drop("_order", "status").join(status, on="cik", how="left").rename({"firm_status": "status"})
           .sort("cik", "fyear"))
    return out, {"rows_read": rows.height, "firm_years": out.height, "duplicates_dropped": rows.height - out.height,
                 "duplicates_with_different_figures": conflicts}


def windows(statements: pl.DataFrame) -> pl.DataFrame:
    """cik, first_fyear, last_fyear (the window end), years, failed (null without labels)."""
    return statements.group_by("cik").agg(
        pl.col("fyear").min().alias("first_fyear"), pl.col("fyear").max().alias("last_fyear"),
        pl.len().alias("years"), pl.col("status").max().cast(pl.Boolean).alias("failed"),
    ).sort("cik")


def select_firms(statements: pl.DataFrame, ends_from: int | None, ends_by: int | None) -> pl.DataFrame:
    w = windows(statements)
    if ends_from is not None:
        w = w.filter(pl.col("last_fyear") >= ends_from)
    if ends_by is not None:
        w = w.filter(pl.col("last_fyear") <= ends_by)
    return statements.join(w.select("cik"), on="cik", how="semi")


def split_firms(train: pl.DataFrame, score: pl.DataFrame, train_ends_by: int | None, score_ends_from: int | None,
                score_ends_by: int | None) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """(training rows, score rows, training firms dropped because they are also scored): firms
    selected by window end; a firm in both sets is scored, not trained on (firm-disjoint)."""
    train = select_firms(train, None, train_ends_by)
    score = select_firms(score, score_ends_from, score_ends_by)
    scored = score.select("cik").unique()
    overlap = train.join(scored, on="cik", how="semi")["cik"].n_unique()
    return train.join(scored, on="cik", how="anti"), score, overlap


# --- the mapping into the data contract ----------------------------------------------------

def local_id(cik: pl.Expr) -> pl.Expr:
    return cik.cast(pl.Utf8).str.zfill(LOCAL_ID_DIGITS)


def _money(item: str) -> pl.Expr:
    return (pl.col(item) * UNIT).round(0).cast(pl.Int64)


def to_contract(statements: pl.DataFrame, *, with_events: bool) -> dict[str, pl.DataFrame]:
    """The contract's `business`, `financials` and (`with_events`) `events` rows, with native
    types, for de-duplicated statements (one row per cik and fyear)."""
    period_end = pl.date(pl.col("fyear"), 12, 31)
    fin = statements.select(
        local_id(pl.col("cik")).alias("local_id"),
        pl.lit(None, pl.Utf8).alias("corporate_number"),
        pl.lit("annual").alias("statement_type"),
        pl.date(pl.col("fyear"), 1, 1).alias("period_start"),
        period_end.alias("period_end"),
        *(_money(src).alias(col) for col, src in MAPPED.items()),
        "cik", "fyear",
    ).with_columns(
        net_assets_jpy=pl.col("total_assets_jpy") - pl.col("total_liabilities_jpy"),
        received_on=pl.col("period_end") + timedelta(days=RECEIVED_AFTER_DAYS),
        **{c: pl.lit(None, pl.Int64) for c in EMPTY_COLUMNS},
    )
    from yocho.contract import FEEDS

    firms = statements.group_by("cik").agg(
        pl.col("company_name").sort_by("fyear").drop_nulls().last().alias("name"),  # the latest
        pl.col("fyear").min().alias("first_fyear"), pl.col("fyear").max().alias("last_fyear"),
        pl.col("status").max().alias("status"),
    ).sort("cik")
    business = firms.select(
        local_id(pl.col("cik")).alias("local_id"),
        pl.lit(None, pl.Utf8).alias("corporate_number"),
        pl.col("name").fill_null(pl.format("CIK {}", pl.col("cik"))),
        pl.lit("corporation").alias("entity_type"),
        pl.lit(JSIC_DIVISION).alias("jsic_division"),
        pl.lit(PREFECTURE_CODE, pl.Int32).alias("prefecture_code"),
        pl.lit(None, pl.Int32).alias("employees"),  # not in the source
        pl.lit(None, pl.Int32).alias("founded_year"),
        (pl.date(pl.col("first_fyear"), 12, 31) + timedelta(days=RECEIVED_AFTER_DAYS)).alias("received_on"),
    )
    out = {
        "business": business.select(FEEDS["business"].column_names),
        "financials": fin.select([*FEEDS["financials"].column_names, "cik", "fyear"]),
    }
    if with_events:
        failed = firms.filter(pl.col("status") == 1)
        occurred = pl.date(pl.col("last_fyear"), 12, 31).dt.offset_by(f"{FAILURE_AFTER_MONTHS}mo")
        out["events"] = failed.select(
            pl.format("BK-{}", local_id(pl.col("cik"))).alias("event_id"),
            local_id(pl.col("cik")).alias("local_id"),
            pl.lit(None, pl.Utf8).alias("corporate_number"),
            pl.lit("legal_bankruptcy").alias("event_type"),
            occurred.alias("occurred_on"),
            occurred.alias("received_on"),
        )
    return out


# --- landing files, as a bank would send them ------------------------------------------------

def _text(frame: pl.DataFrame, *, japanese: bool) -> pl.DataFrame:
    """Every column as the text a bank's extract would hold: dates 2005/12/31, negatives △."""
    exprs = []
    for name, dtype in frame.schema.items():
        c = pl.col(name)
        if dtype == pl.Date:
            exprs.append(c.dt.strftime("%Y/%m/%d"))
        elif dtype.is_integer() and japanese:
            exprs.append(pl.when(c < 0).then(pl.lit("△") + c.abs().cast(pl.Utf8)).otherwise(c.cast(pl.Utf8)))
        else:
            exprs.append(c.cast(pl.Utf8))
    return frame.select(e.alias(name) for e, name in zip(exprs, frame.columns, strict=True))


def _write(frame: pl.DataFrame, path: Path, feed: str, *, japanese: bool) -> None:
    from yocho.contract import FEEDS

    text = _text(frame.select(FEEDS[feed].column_names), japanese=japanese)
    if japanese:
        text = text.rename({c.name: c.ja for c in FEEDS[feed].columns})
    csv = text.write_csv(line_terminator="\r\n", null_value="")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")  # ingest skips files still being written
    partial.write_bytes(csv.encode("cp932") if japanese else b"\xef\xbb\xbf" + csv.encode("utf-8"))
    partial.rename(path)


def write_landing(feeds: dict[str, pl.DataFrame], data_dir: Path) -> dict[str, int]:
    """Files per feed in <data_dir>/landing/bank_0001/<feed>/; returns rows written per feed."""
    root = data_dir / "landing" / INSTITUTION
    _write(feeds["business"], root / "business" / "business_master.csv", "business", japanese=False)
    fin = feeds["financials"]
    for (fyear,), part in fin.group_by("fyear", maintain_order=True):
        _write(part.sort("local_id"), root / "financials" / f"financials_FY{fyear}.csv", "financials", japanese=True)
    if "events" in feeds and feeds["events"].height:
        _write(feeds["events"], root / "events" / "events_legal_bankruptcy.csv", "events", japanese=True)
    return {name: frame.height for name, frame in feeds.items()}


# --- the plain baseline ------------------------------------------------------------------------

BASE_ITEMS = (*MAPPED, "net_assets_jpy")
RATIOS = {
    "ebit_ta": ("operating_profit_jpy", "total_assets_jpy"),
    "ni_ta": ("net_income_jpy", "total_assets_jpy"),
    "re_ta": ("retained_earnings_jpy", "total_assets_jpy"),
    "tl_ta": ("total_liabilities_jpy", "total_assets_jpy"),
    "na_ta": ("net_assets_jpy", "total_assets_jpy"),
    "ca_cl": ("current_assets_jpy", "current_liabilities_jpy"),
    "ca_ta": ("current_assets_jpy", "total_assets_jpy"),
    "cl_ta": ("current_liabilities_jpy", "total_assets_jpy"),
    "ltd_ta": ("long_term_borrowings_jpy", "total_assets_jpy"),
    "sales_ta": ("sales_jpy", "total_assets_jpy"),
    "dep_ta": ("depreciation_jpy", "total_assets_jpy"),
    "rec_sales": ("receivables_jpy", "sales_jpy"),
    "inv_sales": ("inventory_jpy", "sales_jpy"),
    "gross_margin": ("gross_profit_jpy", "sales_jpy"),
    "op_margin": ("operating_profit_jpy", "sales_jpy"),
    "ni_sales": ("net_income_jpy", "sales_jpy"),
}


def _ratio(a: str, b: str) -> pl.Expr:
    return pl.when(pl.col(b) != 0).then(pl.col(a) / pl.col(b))


def baseline_features(financials: pl.DataFrame) -> pl.DataFrame:
    """cik, fyear and the baseline's features: items, ratios, log total assets, working capital
    to assets, and year-over-year changes (relative for items, differences for ratios; null
    where the previous fiscal year is not on file)."""
    base = financials.select("cik", "fyear", *(pl.col(c).cast(pl.Float64) for c in BASE_ITEMS)).sort("cik", "fyear")
    base = base.with_columns(
        *(_ratio(a, b).alias(name) for name, (a, b) in RATIOS.items()),
        pl.when(pl.col("total_assets_jpy") > 0).then(pl.col("total_assets_jpy").log()).alias("log_ta"),
        ((pl.col("current_assets_jpy") - pl.col("current_liabilities_jpy")) / pl.col("total_assets_jpy"))
        .alias("wc_ta"),
    )
    consecutive = (pl.col("fyear") - pl.col("fyear").shift(1).over("cik")) == 1
    changes = [
        pl.when(consecutive & (pl.col(c).shift(1).over("cik") != 0))
        .then((pl.col(c) - pl.col(c).shift(1).over("cik")) / pl.col(c).shift(1).over("cik").abs())
        .alias(f"{c}__yoy") for c in BASE_ITEMS
    ] + [
        pl.when(consecutive).then(pl.col(c) - pl.col(c).shift(1).over("cik")).alias(f"{c}__yoy")
        for c in (*RATIOS, "log_ta", "wc_ta")
    ]
    return base.with_columns(changes).with_columns(cs.float().fill_nan(None))


def baseline(train_fin: pl.DataFrame, train_failed: pl.DataFrame, score_fin: pl.DataFrame, seed: int
             ) -> tuple[pl.DataFrame, dict]:
    """cik, probability for each score firm (its last fiscal year)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    train = baseline_features(train_fin)
    last = train.group_by("cik").agg(pl.col("fyear").max().alias("last_fyear"))
    train = (train.join(last, on="cik").join(train_failed, on="cik", how="left")
             .with_columns(label=(pl.col("failed").fill_null(False) & (pl.col("fyear") == pl.col("last_fyear")))
                           .cast(pl.Int8)))
    features = [c for c in train.columns if c not in ("cik", "fyear", "last_fyear", "failed", "label")]
    model = HistGradientBoostingClassifier(random_state=seed)
    model.fit(train.select(features).to_numpy(), train["label"].to_numpy())
    score = baseline_features(score_fin)
    score = score.filter(pl.col("fyear") == pl.col("fyear").max().over("cik")).sort("cik")
    probability = model.predict_proba(score.select(features).to_numpy())[:, 1]
    return (score.select("cik", pl.Series("probability", probability)),
            {"training_rows": train.height, "training_positives": int(train["label"].sum()),
             "features": len(features), "estimator": "sklearn HistGradientBoostingClassifier, default parameters"})


# --- metrics ---------------------------------------------------------------------------------

def recall_at(y: np.ndarray, p: np.ndarray, share: float) -> float:
    """Share of the failures among the top `share` of firms by score. Firms tied with the last
    one taken count fractionally (their expected number when ties are broken at random)."""
    n, positives = len(y), y.sum()
    if positives == 0:
        return float("nan")
    k = max(1, math.ceil(share * n))
    cut = np.sort(p)[::-1][k - 1]
    above, tied = p > cut, p == cut
    taken = (k - above.sum()) / tied.sum()
    return float((y[above].sum() + y[tied].sum() * taken) / positives)


def point_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    return {"roc_auc": float(roc_auc_score(y, p)), "pr_auc": float(average_precision_score(y, p)),
            "recall_top_5%": recall_at(y, p, 0.05), "recall_top_10%": recall_at(y, p, 0.10)}


METRICS = ("roc_auc", "pr_auc", "recall_top_5%", "recall_top_10%")


def evaluate(y: np.ndarray, scores: dict[str, np.ndarray], resamples: int, seed: int) -> dict:
    """Each model's metrics with a paired firm-level bootstrap 95% interval (percentiles of the
    same resamples for every model), and the interval of each model's difference to the first."""
    rng = np.random.default_rng(seed)
    n = len(y)
    draws: dict[str, list[dict]] = {name: [] for name in scores}
    kept = 0
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        if y[idx].min() == y[idx].max():
            continue  # a resample with one outcome only has no AUC
        kept += 1
        for name, p in scores.items():
            draws[name].append(point_metrics(y[idx], p[idx]))
    out: dict = {"firms": int(n), "failures": int(y.sum()), "bootstrap_resamples": kept, "models": {}}
    names = list(scores)
    for name, p in scores.items():
        point = point_metrics(y, p)
        entry = {}
        for m in METRICS:
            values = np.array([d[m] for d in draws[name]])
            entry[m] = {"value": point[m], "ci95": [float(np.nanpercentile(values, 2.5)),
                                                    float(np.nanpercentile(values, 97.5))]}
        out["models"][name] = entry
    for other in names[1:]:
        diff = {}
        for m in METRICS:
            d = np.array([a[m] - b[m] for a, b in zip(draws[names[0]], draws[other], strict=True)])
            diff[m] = {"value": out["models"][names[0]][m]["value"] - out["models"][other][m]["value"],
                       "ci95": [float(np.nanpercentile(d, 2.5)), float(np.nanpercentile(d, 97.5))]}
        out[f"difference_{names[0]}_minus_{other}"] = diff
    return out


def metrics_markdown(evaluation: dict) -> str:
    def cell(m: dict) -> str:
        lo, hi = m["ci95"]
        return f"{m['value']:.3f} [{lo:.3f}, {hi:.3f}]"

    lines = ["| model | ROC AUC [95% CI] | PR AUC [95% CI] | recall @5% [95% CI] | recall @10% [95% CI] | firms | "
             "failures |", "|---|---|---|---|---|---:|---:|"]
    for name, entry in evaluation["models"].items():
        lines.append(f"| {name} | " + " | ".join(cell(entry[m]) for m in METRICS)
                     + f" | {evaluation['firms']:,} | {evaluation['failures']:,} |")
    return "\n".join(lines)


# --- the run ---------------------------------------------------------------------------------

@dataclass
class Timer:
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def __call__(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started


def _month_ends_between(first: date, last: date) -> list[date]:
    from features.scan import month_end

    out, day = [], month_end(first)
    while day <= last:
        out.append(day)
        day = month_end(day + timedelta(days=1))
    return out


def score_dates(financials: pl.DataFrame) -> pl.DataFrame:
    """cik, last_received, as_of: the first month-end on or after the firm's last statement."""
    from features.scan import month_end

    last = financials.group_by("cik").agg(pl.col("received_on").max().alias("last_received")).sort("cik")
    return last.with_columns(as_of=pl.col("last_received").map_elements(month_end, return_dtype=pl.Date))


def _settings(data_dir: Path, **update):
    from yocho.settings import load_settings

    return load_settings().model_copy(update={"data_dir": data_dir, **update})


def _quarantine(con) -> list[dict]:
    return con.execute(
        "SELECT feed, column_name, reason, count(*) AS rows FROM quarantine GROUP BY ALL "
        "ORDER BY rows DESC, feed, column_name").pl().to_dicts()


def _ingest_summary(outcomes: list[dict]) -> dict:
    return {"files": len(outcomes),
            "files_rejected": [o.get("message") for o in outcomes if o["status"] == "rejected"],
            "rows": sum(o["rows_total"] for o in outcomes), "rows_loaded": sum(o["rows_loaded"] for o in outcomes),
            "rows_quarantined": sum(o["rows_quarantined"] for o in outcomes)}


def _prepare_work(work: Path) -> None:
    for part in ("train", "score"):
        folder = work / part
        if folder.exists() and any(folder.iterdir()):
            raise SystemExit(f"{folder} is not empty: each run needs fresh data directories (the ingest would "
                             "skip files already loaded and the registry would hold earlier models)")


def run(train_paths: list[Path], score_paths: list[Path], out: Path, work: Path, *,
        train_ends_by: int | None = None, score_ends_from: int | None = None, score_ends_by: int | None = None,
        seed: int = 0, bootstrap: int = 1000, log=print) -> dict:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from flows.ingest import ingest as ingest_flow
    from flows.scan import scan_flow
    from flows.score import score_flow
    from flows.train import train_flow
    from models.registry import Registry
    from yocho.warehouse.db import warehouse

    _prepare_work(work)
    out.mkdir(parents=True, exist_ok=True)
    timer = Timer()
    started = time.perf_counter()

    # firms, de-duplicated and split
    train_rows, train_read = read_statements(train_paths)
    score_rows, score_read = read_statements(score_paths)
    if train_rows["status"].null_count():
        raise SystemExit("every training file needs the status column (the outcome to learn)")
    train_rows, score_rows, overlap = split_firms(train_rows, score_rows, train_ends_by, score_ends_from,
                                                  score_ends_by)
    train_w, score_w = windows(train_rows), windows(score_rows)
    if train_w.is_empty() or score_w.is_empty():
        raise SystemExit(f"nothing to run: {train_w.height} training firms, {score_w.height} score firms")
    labelled = score_rows["status"].null_count() == 0
    firms = {
        "train": {"firms": train_w.height, "failures": int(train_w["failed"].sum()),
                  "window_ends": [int(train_w["last_fyear"].min()), int(train_w["last_fyear"].max())],
                  "firm_years": train_rows.height, "dropped_because_also_scored": overlap, "read": train_read},
        "score": {"firms": score_w.height, "failures": int(score_w["failed"].sum()) if labelled else None,
                  "window_ends": [int(score_w["last_fyear"].min()), int(score_w["last_fyear"].max())],
                  "firm_years": score_rows.height, "read": score_read},
    }
    log(f"training firms: {firms['train']['firms']:,} ({firms['train']['failures']:,} failed), window ends "
        f"{firms['train']['window_ends']}; {overlap:,} dropped because they are also scored")
    log(f"score firms: {firms['score']['firms']:,}"
        + (f" ({firms['score']['failures']:,} failed)" if labelled else " (no labels)")
        + f", window ends {firms['score']['window_ends']}")

    # landing files
    train_dir, score_dir = work / "train", work / "score"
    train_feeds = to_contract(train_rows, with_events=True)
    score_feeds = to_contract(score_rows, with_events=False)
    with timer("landing"):
        written = {"train": write_landing(train_feeds, train_dir), "score": write_landing(score_feeds, score_dir)}
    train_settings = _settings(train_dir)
    score_settings = _settings(score_dir, registry_dir=train_settings.models_dir)

    # training side: ingest, scan the whole history, train
    with timer("ingest"):
        ingested = {"train": _ingest_summary(ingest_flow(train_settings)),
                    "score": _ingest_summary(ingest_flow(score_settings))}
    received = train_feeds["financials"]["received_on"]
    history = _month_ends_between(received.min(), received.max() + timedelta(days=365))
    with timer("scan"):
        train_scan = scan_flow(history, train_settings)
    # Training knows the outcome of every training firm for the year after its last fiscal
    # year (the source's label); the labels are complete up to the last scanned month-end,
    # a year after the last statement was received, rather than a year before the last
    # event (what the warehouse alone would assume): `yocho train --until`.
    with timer("train"):
        trained = train_flow(train_settings, history[-1])
    champion = Registry(train_settings.models_dir).champion()
    if champion is None:
        raise SystemExit(f"the training registered no champion: {trained.get('reason')}")
    log(f"trained {trained['version']} on {trained['training_rows']:,} rows: {trained['reason']}")

    # score side: scan the month-ends needed, score with the training champion
    dates = score_dates(score_feeds["financials"])
    as_of = sorted(dates["as_of"].unique().to_list())
    with timer("scan"):
        score_scan = scan_flow(as_of, score_settings)
    with timer("score"):
        scored = score_flow(as_of, score_settings)
    with warehouse(score_settings, read_only=True) as con:
        risk = con.execute("SELECT business_key, as_of, probability, band, top_factors FROM risk_scores").pl()
        score_events = con.execute("SELECT count(*) FROM raw_events").fetchone()[0]
        quarantine = {"score": _quarantine(con)}
    with warehouse(train_settings, read_only=True) as con:
        train_events = con.execute("SELECT count(*) FROM raw_events").fetchone()[0]
        labelled_rows = con.execute("SELECT count(*) FROM feature_panel").fetchone()[0]
        quarantine["train"] = _quarantine(con)
        # which signs separate on real statements: the training side holds the real failures,
        # with the labels the training run used (known up to the last scanned month-end)
        with timer("quality"):
            quality = sign_quality(con, until=history[-1])
    write_quality(quality, out)

    prefix = f"{INSTITUTION}:"
    risk = risk.with_columns(cik=pl.col("business_key").str.strip_prefix(prefix).cast(pl.Int64))
    yocho = dates.join(risk.select("cik", "as_of", "probability", "band", "top_factors"),
                       on=["cik", "as_of"], how="left")
    scores_csv = yocho.select("cik", "as_of", "probability", "band", "top_factors").sort("cik")
    scores_csv.write_csv(out / "scores.csv")
    missing_scores = yocho["probability"].null_count()

    # baseline, same firms, same split
    with timer("baseline"):
        base, base_info = baseline(train_feeds["financials"], train_w.select("cik", "failed"),
                                   score_feeds["financials"], seed)

    report: dict = {
        "source": {"train": [str(p) for p in train_paths], "score": [str(p) for p in score_paths]},
        "options": {"train_ends_by": train_ends_by, "score_ends_from": score_ends_from,
                    "score_ends_by": score_ends_by, "seed": seed, "bootstrap": bootstrap, "work": str(work)},
        "code_version": code_version(),
        "firms": firms,
        "landing_rows": written,
        "ingest": ingested,
        "quarantine": quarantine,
        "events_loaded": {"train": int(train_events), "score": int(score_events)},
        "scan": {"train_month_ends": len(history), "train_first": history[0].isoformat(),
                 "train_last": history[-1].isoformat(), "train_panel_rows": int(labelled_rows),
                 "train_indicator_values": train_scan["rows_written"],
                 "score_month_ends": [d.isoformat() for d in as_of], "score_indicator_values": score_scan["rows_written"]},
        "model": {"version": trained["version"], "kind": trained["model"], "promoted": trained["promoted"],
                  "training_rows": trained["training_rows"], "backtest": trained["backtest"],
                  "registry": str(train_settings.models_dir),
                  "code_version": Registry(train_settings.models_dir).card(champion).code_version},
        "scored": {"rows_written": scored["rows_written"], "firms_without_score": int(missing_scores)},
        "baseline": base_info,
        "seconds": {k: round(v, 2) for k, v in timer.seconds.items()},
    }
    if labelled:
        truth = score_w.select("cik", pl.col("failed").cast(pl.Int8).alias("y"))
        both = (truth.join(yocho.select("cik", pl.col("probability").alias("yocho")), on="cik")
                .join(base.select("cik", pl.col("probability").alias("baseline")), on="cik")
                .drop_nulls().sort("cik"))
        if both["y"].n_unique() < 2:
            raise SystemExit("the scored firms hold only one outcome: no ROC AUC to report")
        with timer("metrics"):
            report["evaluation"] = evaluate(both["y"].to_numpy(), {"yocho": both["yocho"].to_numpy(),
                                                                    "baseline": both["baseline"].to_numpy()},
                                            bootstrap, seed)
    report["seconds"] = {k: round(v, 2) for k, v in timer.seconds.items()}
    report["seconds"]["total"] = round(time.perf_counter() - started, 2)
    if labelled:
        (out / "metrics.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
        (out / "metrics.md").write_text(metrics_markdown(report["evaluation"]) + "\n", encoding="utf-8")
    else:
        (out / "run.json").write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return report


def write_quality(quality: pl.DataFrame, out: Path) -> None:
    """quality.csv (every sign of the catalog) and quality.md (the signs with data) next to
    metrics.md: features/quality.py on the training warehouse."""
    quality.write_csv(out / "quality.csv")
    title = ["# Warning signs on real annual statements: do they come before failures?", "",
             "Training firms' month-ends, labels as in the training run (a failure within 12 months), "
             "business-months already after a failure left out.", ""]
    (out / "quality.md").write_text("\n".join(title + quality_markdown(quality)) + "\n", encoding="utf-8")


def summary(report: dict) -> str:
    lines = []
    if "evaluation" in report:
        lines += [metrics_markdown(report["evaluation"]), ""]
    q = {side: sum(r["rows"] for r in rows) for side, rows in report["quarantine"].items()}
    lines += [
        f"model {report['model']['version']} (commit {report['code_version']}), "
        f"training rows {report['model']['training_rows']:,}; baseline rows {report['baseline']['training_rows']:,}",
        f"quarantined rows: training {q['train']:,}, scoring {q['score']:,}; events loaded: training "
        f"{report['events_loaded']['train']:,}, scoring {report['events_loaded']['score']:,}",
        "seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in report["seconds"].items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.real", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=Path, nargs="+", required=True, help="files of the training firms")
    parser.add_argument("--score", type=Path, nargs="+", required=True, help="files of the firms to score")
    parser.add_argument("--out", type=Path, required=True, help="where scores.csv and metrics.* go")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="WORK: holds the train/ and score/ data directories (default: a new temporary folder)")
    parser.add_argument("--train-ends-by", type=int, default=None)
    parser.add_argument("--score-ends-from", type=int, default=None)
    parser.add_argument("--score-ends-by", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the intervals")
    args = parser.parse_args(argv)
    work = args.data_dir or Path(tempfile.mkdtemp(prefix="yocho-real-"))
    report = run(args.train, args.score, args.out, work, train_ends_by=args.train_ends_by,
                 score_ends_from=args.score_ends_from, score_ends_by=args.score_ends_by, seed=args.seed,
                 bootstrap=args.bootstrap)
    print(summary(report))
    print(f"\nresults: {args.out}; data directories: {work}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
