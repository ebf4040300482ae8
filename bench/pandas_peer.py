"""An idiomatic pandas implementation of a subset of the indicators, the benchmark's peer.

Same definitions as features/sql/repayment.sql and features/sql/accounts.sql:

- rep_dpd_30, rep_dpd_90: largest days past due over the business's loans, each loan at its
  latest month received by T (latest version of each loan-month received by T), counted when
  that month is within the last `recent_months` months before T.
- rep_restructured: loans flagged restructured in any month within `window_months` before T;
  available when a loan has a latest month within `recent_months`.
- acc_failed_debits: failed debits over the accounts' months within `window_months` of the
  business's most recent account month; available when the reference month is fresh.
- acc_balance_decline: average balance of the last 3 complete months against the 3 before.

`load` reads the raw tables into DataFrames (untimed in the benchmark); `compute` is the
indicator logic that is timed. Both return long frames keyed (business_key, as_of,
indicator_id) with value, available, fired.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from features.catalog import Family, family_lookback_months

INDICATORS = ("rep_dpd_30", "rep_dpd_90", "rep_restructured", "acc_failed_debits", "acc_balance_decline")
FAMILIES = ("repayment", "accounts")


@dataclass
class PeerInput:
    loans: pd.DataFrame
    accounts: pd.DataFrame
    universe: pd.DataFrame  # business_key, as_of
    thresholds: dict[str, float]


def load(con: duckdb.DuckDBPyConnection, as_of: list[date], thresholds: dict[str, float]) -> PeerInput:
    """The raw loan and account rows joined to their business key, and the universe, as
    pandas frames. Builds the point-in-time helper tables on `con` (features.pit)."""
    from features import pit

    pit.prepare(con, as_of)
    # Only the months some compared date's window reaches: what any reader would push down
    # to the read, and what keeps the frames in memory at national scale.
    first = pd.Timestamp(min(as_of))
    loans = con.execute(
        """
        SELECT k.business_key, l.institution_id, l.loan_id, l.month, l.received_on,
               l.days_past_due, l.restructured
        FROM raw_loans l JOIN business_keys k USING (institution_id, local_id)
        WHERE l.month > ?
        """, [_months_back(first, _loan_window(thresholds)).date()]
    ).df()
    accounts = con.execute(
        """
        SELECT k.business_key, r.institution_id, r.local_id, r.month, r.received_on, r.source_row,
               r.average_balance_jpy, r.failed_debits
        FROM raw_accounts r JOIN business_keys k USING (institution_id, local_id)
        WHERE r.month > ?
        """, [_months_back(first, _account_window(thresholds)).date()]
    ).df()
    universe = con.execute("SELECT business_key, as_of FROM universe").df()
    for frame, cols in ((loans, ("month", "received_on")), (accounts, ("month", "received_on")), (universe, ("as_of",))):
        for c in cols:
            frame[c] = pd.to_datetime(frame[c])
    return PeerInput(loans, accounts, universe, thresholds)


def _months_back(t: pd.Timestamp, months: int) -> pd.Timestamp:
    return t - pd.DateOffset(months=int(months))


def _latest_versions(frame: pd.DataFrame, t: pd.Timestamp, lower: pd.Timestamp, key: list[str],
                     order: list[str]) -> pd.DataFrame:
    """Rows received by t with month after `lower`, the latest version of each key."""
    rows = frame[(frame["received_on"] <= t) & (frame["month"] > lower)]
    rows = rows.sort_values(order, ascending=False, kind="stable")
    return rows.drop_duplicates(key, keep="first")


def _loan_window(th: dict[str, float]) -> int:
    """Months of loan history read back from T: the repayment SQL's `$lookback_months`."""
    return family_lookback_months(Family.REPAYMENT, th)


def _account_window(th: dict[str, float]) -> int:
    """Months of account history read back from T: the accounts SQL's `$lookback_months`."""
    return family_lookback_months(Family.ACCOUNTS, th)


def _month_index(s: pd.Series) -> pd.Series:
    return s.dt.year * 12 + s.dt.month


def _repayment(data: PeerInput, t: pd.Timestamp, businesses: pd.Index) -> list[pd.DataFrame]:
    th = data.thresholds
    rows = _latest_versions(data.loans, t, _months_back(t, _loan_window(th)),
                            ["institution_id", "loan_id", "month"], ["received_on"])
    latest = rows.sort_values("month", ascending=False, kind="stable").drop_duplicates(
        ["institution_id", "loan_id"], keep="first")
    out = []
    for ind in ("rep_dpd_30", "rep_dpd_90"):
        recent = latest[latest["month"] > _months_back(t, th[f"{ind}__recent_months"])]
        days = recent.groupby("business_key")["days_past_due"].max().reindex(businesses)
        available = days.notna()
        out.append(pd.DataFrame({
            "business_key": businesses, "indicator_id": ind, "value": days.to_numpy(dtype=float),
            "available": available.to_numpy(),
            "fired": np.where(available, days >= th[f"{ind}__min_days"], None),
        }))
    current = latest[latest["month"] > _months_back(t, th["rep_restructured__recent_months"])]
    available = businesses.isin(current["business_key"].unique())
    window = rows[(rows["month"] > _months_back(t, th["rep_restructured__window_months"]))
                  & rows["restructured"].fillna(False).astype(bool)]
    loans = (window.drop_duplicates(["business_key", "institution_id", "loan_id"])
             .groupby("business_key").size().reindex(businesses, fill_value=0))
    value = np.where(available, loans.to_numpy(dtype=float), np.nan)
    out.append(pd.DataFrame({
        "business_key": businesses, "indicator_id": "rep_restructured", "value": value, "available": available,
        "fired": np.where(available, loans.to_numpy() >= 1, None),
    }))
    return out


def _accounts(data: PeerInput, t: pd.Timestamp, businesses: pd.Index) -> list[pd.DataFrame]:
    th = data.thresholds
    rows = _latest_versions(data.accounts, t, _months_back(t, _account_window(th)),
                            ["institution_id", "local_id", "month"], ["received_on", "source_row"])
    spans = rows.groupby(["business_key", "institution_id", "local_id"])["month"].agg(first_m="min", last_m="max")
    spans = spans.reset_index()
    spans["latest_m"] = spans.groupby("business_key")["last_m"].transform("max")
    live = spans[spans["last_m"] >= spans["latest_m"] - pd.DateOffset(months=2)]
    horizon = pd.DataFrame({
        "latest_m": spans.groupby("business_key")["latest_m"].first(),
        "ref_m": live.groupby("business_key")["last_m"].min(),
    })
    first_of_month = t.to_period("M").to_timestamp()
    horizon["fresh"] = horizon["ref_m"] >= first_of_month - pd.DateOffset(months=3)

    # sums over the accounts of each month, NULL when no account reported the figure (as SQL's
    # sum): the grouped sum's min_count, vectorised (a lambda per group would run Python once
    # per business-month and measure the interpreter, not pandas)
    by_month = rows.groupby(["business_key", "month"])
    monthly = (by_month[["average_balance_jpy", "failed_debits"]].sum(min_count=1)
               .rename(columns={"average_balance_jpy": "avg_balance", "failed_debits": "failed"})
               .join(by_month.size().rename("reported"))
               .reset_index())
    # accounts alive in each month: between their first and latest month received
    pairs = monthly[["business_key", "month"]].merge(spans[["business_key", "first_m", "last_m"]], on="business_key")
    alive = (pairs[(pairs["month"] >= pairs["first_m"]) & (pairs["month"] <= pairs["last_m"])]
             .groupby(["business_key", "month"]).size().rename("alive"))
    monthly = monthly.join(alive, on=["business_key", "month"], how="inner").join(horizon, on="business_key")
    monthly["k"] = _month_index(monthly["ref_m"]) - _month_index(monthly["month"])
    monthly["complete"] = (monthly["reported"] == monthly["alive"]) & (monthly["month"] <= monthly["ref_m"])

    window = th["acc_failed_debits__window_months"]
    recent_failed = monthly[monthly["month"] > monthly["latest_m"] - pd.DateOffset(months=int(window))]
    failed = recent_failed.groupby("business_key")["failed"].sum(min_count=1)
    h = horizon.reindex(businesses)
    fresh = h["fresh"].fillna(False).astype(bool).to_numpy()
    failed_v = failed.reindex(businesses).fillna(0).to_numpy(dtype=float)
    out = [pd.DataFrame({
        "business_key": businesses, "indicator_id": "acc_failed_debits",
        "value": np.where(fresh, failed_v, np.nan), "available": fresh,
        "fired": np.where(fresh, failed_v >= th["acc_failed_debits__min_count"], None),
    })]

    complete = monthly[monthly["complete"]]
    recent = complete[complete["k"].between(0, 2)].groupby("business_key")["avg_balance"].agg(["mean", "size"])
    earlier = complete[complete["k"].between(3, 5)].groupby("business_key")["avg_balance"].agg(["mean", "size"])
    recent, earlier = recent.reindex(businesses), earlier.reindex(businesses)
    ok = (fresh & (recent["size"].fillna(0) >= 2).to_numpy() & (earlier["size"].fillna(0) >= 2).to_numpy()
          & (earlier["mean"] > 0).fillna(False).to_numpy())
    pct = ((recent["mean"] - earlier["mean"]) * 100.0 / earlier["mean"]).to_numpy(dtype=float)
    out.append(pd.DataFrame({
        "business_key": businesses, "indicator_id": "acc_balance_decline",
        "value": np.where(ok, pct, np.nan), "available": ok,
        "fired": np.where(ok, pct <= th["acc_balance_decline__max_change_pct"], None),
    }))
    return out


def compute(data: PeerInput) -> pd.DataFrame:
    """The five indicators for every business in the universe at each of its dates."""
    frames = []
    for t, known in data.universe.groupby("as_of"):
        businesses = pd.Index(known["business_key"].unique(), name="business_key")
        for part in _repayment(data, t, businesses) + _accounts(data, t, businesses):
            part["as_of"] = t
            frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    return out[["business_key", "as_of", "indicator_id", "value", "available", "fired"]]


def _tri(v: object) -> str:
    """True / False / none (unavailable), comparable across object and nullable dtypes."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return "none"
    return str(bool(v))


def compare(peer: pd.DataFrame, yocho: pd.DataFrame, rel_tol: float = 1e-9) -> dict:
    """Rows where the peer and Yocho disagree on availability, fired or value."""
    y = yocho[yocho["indicator_id"].isin(INDICATORS)][
        ["business_key", "as_of", "indicator_id", "value", "available", "fired"]].copy()
    y["as_of"] = pd.to_datetime(y["as_of"])
    merged = peer.merge(y, on=["business_key", "as_of", "indicator_id"], how="outer",
                        suffixes=("_peer", "_yocho"), indicator=True)
    missing = merged["_merge"] != "both"
    avail_p = merged["available_peer"].fillna(False).astype(bool)
    avail_y = merged["available_yocho"].fillna(False).astype(bool)
    vp = merged["value_peer"].astype(float)
    vy = merged["value_yocho"].astype(float)
    both_nan = vp.isna() & vy.isna()
    close = np.isclose(vp.fillna(0), vy.fillna(0), rtol=rel_tol, atol=1e-9) & (vp.isna() == vy.isna())
    fired_p = merged["fired_peer"].map(_tri)
    fired_y = merged["fired_yocho"].map(_tri)
    bad = missing | (avail_p != avail_y) | ~(both_nan | close) | (fired_p != fired_y)
    per_indicator = merged[bad].groupby("indicator_id").size().to_dict()
    counts = {
        ind: {"available": int(g["available_peer"].fillna(False).astype(bool).sum()),
              "fired": int((g["fired_peer"].map(_tri) == "True").sum())}
        for ind, g in merged.groupby("indicator_id")
    }
    return {
        "rows_compared": int(len(merged)),
        "peer_counts": counts,
        "mismatches": int(bad.sum()),
        "mismatches_per_indicator": {k: int(v) for k, v in per_indicator.items()},
        "examples": merged[bad].head(5).astype(str).to_dict("records"),
    }
