"""Industry-relative thresholds (features/peers.py) on hand-built portfolios.

Every business files one annual statement (FY ending 2025-03, received 2025-06-01) with sales
of 120m (monthly sales 10m), so its 借入金月商倍率 is its borrowings / 10m. Percentiles are
DuckDB's quantile_cont (linear between the two nearest values), worked out by hand below:
of 30 values the 90th percentile lies at position 0.9 × 29 = 26.1 of the sorted values
(counting from 0), i.e. 10% of the way from the 27th to the 28th.
"""
from __future__ import annotations

import json
import re
from datetime import date

import polars as pl
from polars.testing import assert_frame_equal

from features import peers
from features.catalog import Family, indicators, threshold_values
from features.compute import compute, family_sql, results
from tests.features.tiny import Tiny

T = date(2025, 10, 31)
LATER = date(2025, 12, 31)
BANK = "bank_0116"
SIGN = "fin_borrowings_to_monthly_sales"
ICR = "fin_interest_coverage_low"


def _statement(local_id: str, months: float, received: date = date(2025, 6, 1), **figures) -> dict:
    return dict(local_id=local_id, statement_type="annual", period_start=date(2024, 4, 1),
                period_end=date(2025, 3, 31), received_on=received, sales_jpy=120_000_000,
                short_term_borrowings_jpy=0, long_term_borrowings_jpy=round(months * 10_000_000),
                interest_expense_jpy=1_000_000, **{"operating_profit_jpy": 6_000_000, **figures})


def _master(local_id: str, division: str, at: tuple[date, ...]) -> list[dict]:
    # sole proprietors (no 法人番号), keyed <institution>:<local_id>; the bank re-sends the record
    # with each as-of date's extract so the business stays monitored
    row = dict(local_id=local_id, name=f"テスト{local_id}", entity_type="sole_proprietor",
               jsic_division=division, prefecture_code=13)
    return [dict(row, received_on=d) for d in sorted({date(2020, 4, 1), *at})]


def _portfolio(tiny: Tiny, division: str, prefix: str, multiples: list[float], at: tuple[date, ...] = (T,)) -> Tiny:
    for n, months in enumerate(multiples):
        local_id = f"{prefix}{n:02d}"
        tiny.add("business", BANK, *_master(local_id, division, at))
        tiny.add("financials", BANK, _statement(local_id, months))
    return tiny


def _row(got: dict, local_id: str, indicator: str = SIGN, at: date = T) -> dict:
    return got[(f"{BANK}:{local_id}", at, indicator)]


def _evidence(got: dict, local_id: str, indicator: str = SIGN, at: date = T) -> dict:
    return json.loads(_row(got, local_id, indicator, at)["evidence"])


def _run(tiny: Tiny, *at: date, thresholds: dict | None = None) -> dict:
    return tiny.run(*(at or (T,)), family=Family.FINANCIALS, thresholds=thresholds)


def test_a_business_fires_above_its_trades_90th_percentile_below_the_flat_line():
    # manufacturing (E): 29 businesses at 2.0 months and one at 5.0. p90 = 2.0 (positions 26
    # and 27 are both 2.0). 5.0 > 2.0 fires, though under the flat 6 months it would not.
    got = _run(_portfolio(Tiny(), "E", "E", [2.0] * 29 + [5.0]))
    assert _row(got, "E29")["fired"] is True
    assert _evidence(got, "E29") == {
        "period_end": "2025-03-31", "short_term_borrowings_jpy": 0, "long_term_borrowings_jpy": 50000000,
        "sales_jpy": 120000000, "monthly_sales_jpy": 10000000.0, "months_of_sales": 5.0,
        "threshold": "division", "value": 5.0, "jsic_division": "E", "division_percentile": 90.0,
        "division_threshold": 2.0, "peers": 30}
    # at the percentile itself: not beyond it
    assert [_row(got, f"E{n:02d}")["fired"] for n in range(29)] == [False] * 29
    assert _row(got, "E00")["evidence"] is None
    # the flat threshold alone (relative off) does not fire for 5.0 months
    flat = _run(_portfolio(Tiny(), "E", "E", [2.0] * 29 + [5.0]), thresholds={f"{SIGN}.relative": 0})
    assert _row(flat, "E29")["fired"] is False and _row(flat, "E29")["evidence"] is None


def test_a_trade_that_carries_much_debt_fires_only_for_its_outliers():
    # real estate (K): 27 businesses at 12 months, 3 at 20. p90 = 12 + 0.1 × (20 - 12) = 12.8.
    # The flat 6 months fires for all thirty; relative to the trade only the three at 20.
    tiny = _portfolio(Tiny(), "K", "K", [12.0] * 27 + [20.0] * 3)
    got = _run(tiny)
    assert [_row(got, f"K{n:02d}")["fired"] for n in range(30)] == [False] * 27 + [True] * 3
    assert _evidence(got, "K29")["division_threshold"] == 12.8
    flat = _run(tiny, thresholds={f"{SIGN}.relative": 0})
    assert all(_row(flat, f"K{n:02d}")["fired"] for n in range(30))
    # the flat evidence is unchanged when the relative threshold is off
    assert "threshold" not in _evidence(flat, "K00") and _evidence(flat, "K00")["months_of_sales"] == 12.0


def test_each_division_is_judged_against_its_own_peers_only():
    # both trades in one portfolio: the cut of one division never reaches the other
    tiny = _portfolio(Tiny(), "E", "E", [2.0] * 29 + [5.0])
    _portfolio(tiny, "K", "K", [12.0] * 27 + [20.0] * 3)
    got = _run(tiny)
    assert _row(got, "E29")["fired"] is True and _evidence(got, "E29")["division_threshold"] == 2.0
    assert _row(got, "K00")["fired"] is False and _evidence(got, "K29")["division_threshold"] == 12.8
    assert _evidence(got, "K29")["peers"] == 30


def test_fewer_peers_than_the_minimum_falls_back_to_the_flat_threshold_and_says_so():
    # a division of three (1, 2 and 7 months): the flat 6 months decides. 7 fires, 2 does not.
    got = _run(_portfolio(Tiny(), "B", "B", [1.0, 2.0, 7.0]))
    assert [_row(got, f"B{n:02d}")["fired"] for n in range(3)] == [False, False, True]
    said = _evidence(got, "B02")
    # p90 of (1, 2, 7): position 1.8, 2 + 0.8 × 5 = 6.0, shown for context
    assert {k: said[k] for k in ("threshold", "value", "jsic_division", "division_threshold", "peers")} == {
        "threshold": "flat", "value": 7.0, "jsic_division": "B", "division_threshold": 6.0, "peers": 3}
    assert said["flat_because"] == "businesses of the division with a value: 3, fewer than 30"
    # the 30 of test 1, with the minimum raised to 31: the flat line again, 5.0 does not fire
    got = _run(_portfolio(Tiny(), "E", "E", [2.0] * 29 + [5.0]), thresholds={f"{SIGN}.min_peers": 31})
    assert _row(got, "E29")["fired"] is False


def test_a_sign_on_low_values_fires_below_the_trades_10th_percentile():
    # interest coverage: operating profit / 1m interest. 27 businesses at 0.5 (the flat line 1
    # fires for each), 3 at 0.1. p10 = position 2.9: 0.1 + 0.9 × (0.5 - 0.1) = 0.46.
    tiny = Tiny()
    for n, op in enumerate([100_000] * 3 + [500_000] * 27):
        tiny.add("business", BANK, *_master(f"A{n:02d}", "A", (T,)))
        tiny.add("financials", BANK, _statement(f"A{n:02d}", 2.0, operating_profit_jpy=op))
    got = _run(tiny)
    assert [_row(got, f"A{n:02d}", ICR)["fired"] for n in range(30)] == [True] * 3 + [False] * 27
    said = _evidence(got, "A00", ICR)
    assert (said["threshold"], said["value"], said["division_threshold"], said["peers"]) == ("division", 0.1, 0.46, 30)


def test_the_percentile_as_of_a_date_ignores_later_values_and_businesses_outside_the_universe():
    base = [2.0] * 29 + [5.0]
    alone = _run(_portfolio(Tiny(), "E", "E", base, at=(T, LATER)), T, LATER)

    tiny = _portfolio(Tiny(), "E", "E", base, at=(T, LATER))
    # a peer's corrected statement received after T (now 40 months) ...
    tiny.add("financials", BANK, _statement("E00", 40.0, received=date(2025, 11, 15)))
    # ... a new business of the trade whose first statement arrives after T ...
    tiny.add("business", BANK, *_master("N01", "E", (T, LATER)))
    tiny.add("financials", BANK, _statement("N01", 60.0, received=date(2025, 11, 20)))
    # ... and one that left the bank before T, its statement on file
    tiny.add("business", BANK, *_master("X01", "E", ()))
    tiny.add("financials", BANK, _statement("X01", 90.0))
    tiny.add("exits", BANK, dict(local_id="X01", exit_type="repaid", exited_on=date(2025, 7, 1),
                                 received_on=date(2025, 7, 5)))
    got = _run(tiny, T, LATER)

    assert (f"{BANK}:X01", T, SIGN) not in got  # not monitored
    assert _row(got, "N01")["available"] is False  # no statement yet at T
    # as of T the division is the same thirty values: same cut, same peers, same decisions
    for n in range(30):
        assert _row(got, f"E{n:02d}")["fired"] == _row(alone, f"E{n:02d}")["fired"]
    assert _evidence(got, "E29") == _evidence(alone, "E29")
    assert _evidence(got, "E29")["division_threshold"] == 2.0 and _evidence(got, "E29")["peers"] == 30
    # later, the new values count: 31 peers (28 at 2.0, then 5, 40 and 60); p90 at position
    # 0.9 × 30 = 27, the last of the 2.0s
    later = _evidence(got, "N01", at=LATER)
    assert (later["value"], later["peers"], later["division_threshold"]) == (60.0, 31, 2.0)
    assert _evidence(got, "E00", at=LATER)["value"] == 40.0


def test_the_division_is_the_preferred_master_record_among_institutions():
    # one company (法人番号) in the masters of a bank (division E) and the association (division K):
    # the master received later gives the division; received the same day, the lower
    # institution_id's (yocho.warehouse.pit: pit_preference)
    cn = "7000012050002"

    def division(bank_received: date, cga_received: date) -> str:
        master = dict(corporate_number=cn, name="テスト工業", entity_type="corporation", prefecture_code=13)
        tiny = Tiny().add("business", BANK, dict(master, local_id="A1", jsic_division="E", received_on=bank_received))
        tiny.add("business", "cga_01", dict(master, local_id="G9", jsic_division="K", received_on=cga_received))
        tiny.add("financials", BANK, {**_statement("A1", 7.0), "corporate_number": cn})  # 7 > 6 months: fires
        return json.loads(_run(tiny)[(cn, T, SIGN)]["evidence"])["jsic_division"]

    assert division(date(2025, 9, 1), date(2025, 9, 1)) == "E"  # bank_0116 < cga_01
    assert division(date(2025, 9, 1), date(2025, 9, 2)) == "K"
    assert division(date(2025, 9, 2), date(2025, 9, 1)) == "E"


def test_shards_leave_the_decision_to_the_merge_which_sees_the_whole_division():
    tiny = _portfolio(Tiny(), "E", "E", [2.0] * 29 + [5.0])
    compute(tiny.con, [T], None, [Family.FINANCIALS])
    whole = results(tiny.con)
    parts = []
    for shard in range(3):
        compute(tiny.con, [T], None, [Family.FINANCIALS], shard=(shard, 3))
        parts.append(results(tiny.con))
    merged = pl.concat(parts)
    # within its shard E29 was judged by the flat line only (5.0 months: not fired)
    assert merged.filter((pl.col("business_key") == f"{BANK}:E29") & (pl.col("indicator_id") == SIGN))["fired"].item() is False
    tiny.con.register("merged", merged.to_arrow())
    tiny.con.execute("CREATE OR REPLACE TEMP TABLE indicator_results AS SELECT * FROM merged")
    peers.apply(tiny.con, threshold_values())
    assert_frame_equal(results(tiny.con), whole)
    assert _row({(r["business_key"], r["as_of"], r["indicator_id"]): r
                 for r in whole.iter_rows(named=True)}, "E29")["fired"] is True


def test_every_relative_sign_keeps_its_evidence_in_its_familys_sql():
    # a sign that may fire only relative to its trade needs its figures on every available row
    for family in {i.family for i in indicators().values() if i.peers}:
        kept = re.search(r"i\.hit OR i\.id IN \(([^)]*)\)", family_sql(family))
        assert kept, f"{family.value}.sql keeps no evidence for its relative signs"
        assert set(re.findall(r"'(\w+)'", kept.group(1))) == {
            i.id for i in indicators().values() if i.peers and i.family is family}
