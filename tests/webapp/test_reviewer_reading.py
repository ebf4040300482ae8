"""What a reviewer reads on the pages, beyond the case workflow: the business's trade name
(商号) wherever a business is listed, within the reader's scope only; each list numbered 1..n
in the order it shows; the charts marking only the months in which a sign newly fired, with a
gap where a month has no figure. The case page's evidence sentences are tested in
test_sign_text.py and, in a browser, in test_browser.py."""
from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Any

import polars as pl
import pytest

from tests.webapp import conftest
from tests.webapp.conftest import BANK_A, NAMES, Business, Seeded, as_user, flags_frame
from webapp.charts import evidence_charts
from webapp.i18n import translate
from yocho.contract import corporate_number_check_digit

ROW_NUMBER = re.compile(r'data-testid="row-number">([\d,]+)<')
BANK_A_NAMES = [NAMES[label] for label in ("A1", "A2", "A3", "A4", "A5")]
OTHERS = [NAMES["B1"], NAMES["B2"]]


def numbers(html: str) -> list[int]:
    return [int(n.replace(",", "")) for n in ROW_NUMBER.findall(html)]


def test_lists_and_the_case_page_name_the_business_within_scope(app: Any, seeded: Seeded) -> None:
    bank = as_user(app, "bank_a").client
    worklist = bank.get("/cases?state=all").text
    assert all(name in worklist for name in BANK_A_NAMES)
    assert not any(name in worklist for name in OTHERS)  # bank B's businesses
    case = bank.get(f"/cases/{seeded.case_ids['A1']}").text
    assert '<span class="biz-name-big" data-testid="business-name">株式会社北陸精機</span>' in case
    assert bank.get(f"/cases/{seeded.case_ids['B1']}").status_code == 404
    # found by part of its name
    assert "株式会社北陸精機" in bank.get("/cases?q=北陸精機").text and "加賀食品" not in bank.get("/cases?q=北陸精機").text
    # the council sees the names of the referrals it may see, and no other
    council = as_user(app, "council").client.get("/council").text
    assert NAMES["A4"] in council and NAMES["B2"] in council and NAMES["A1"] not in council
    # the association: its own cases (C1, and A2 it shares with bank A)
    cga = as_user(app, "cga").client.get("/cases").text
    assert NAMES["C1"] in cga and NAMES["A2"] in cga and NAMES["A1"] not in cga


def test_exports_carry_the_name(app: Any) -> None:
    bank = as_user(app, "bank_a").client
    rows = list(csv.reader(io.StringIO(bank.get("/exports/worklist.csv?state=all").content.decode("utf-8-sig"))))
    header = rows[0]
    names = [row[header.index("商号")] for row in rows[1:]]
    assert sorted(names) == sorted(BANK_A_NAMES) and not set(names) & set(OTHERS)
    # the critical signs by name, not by id
    assert "延滞3ヶ月以上" in {row[header.index("重大予兆")] for row in rows[1:]}
    assert "rep_dpd_90" not in "".join(",".join(row) for row in rows)
    book = bank.get("/exports/council.xlsx?state=all").content
    sheet = pl.read_excel(io.BytesIO(book), sheet_name="協議会紹介一覧")
    assert sheet["商号"].to_list() == [NAMES["A4"]]


def test_waiting_entries_are_named(app: Any, seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    night = date(2026, 11, 30)
    new = []
    for n in range(3):
        base = f"6300{n:08d}"
        new.append(Business(f"N{n}", f"{corporate_number_check_digit(base)}{base}", [(BANK_A, f"N-{n}")], 0.2, "high",
                            ["fin_operating_loss"], "profitability", date(2026, 8, 31), 0.2 - n / 100))
        monkeypatch.setitem(conftest.NAMES, f"N{n}", f"待機商事{n}株式会社")
    frame = flags_frame(night, new).with_columns(monthly_budget=pl.lit(1, dtype=pl.Int64))
    assert seeded.store.apply_flags(frame, night, 6).waiting == 2
    page = as_user(app, "bank_a").client.get("/waiting").text
    assert "待機商事1株式会社" in page and "待機商事2株式会社" in page and numbers(page) == [1, 2]


@pytest.mark.parametrize("who, path", [("bank_a", "/cases?state=all"), ("cga", "/cases?state=all"),
                                       ("bank_a", "/cases?state=all&sort=probability"),
                                       ("council", "/council?state=all")])
def test_each_list_numbers_its_own_rows_in_the_order_shown(app: Any, who: str, path: str) -> None:
    client = as_user(app, who).client
    html = client.get(path).text
    shown = numbers(html)
    assert shown == list(range(1, len(shown) + 1)) and len(shown) >= 2
    # the next page goes on from where the last ended
    second = numbers(client.get(path + "&page_size=1&page=2").text)
    assert second == [2]


def test_the_lead_institutions_rank_stays_as_a_labelled_column(app: Any) -> None:
    html = as_user(app, "cga").client.get("/cases").text
    assert "主担当機関での順位" in html and "この一覧の並び順ではありません" in html


def _charts(history: list[dict], score: list[dict]) -> dict[str, str]:
    evidence = {"series": {"loan_balance_jpy": [{"month": f"2026-{m:02d}-01", "value": 1_000_000 + m} for m in range(5, 11)],
                           "score": score},
                "sign_history": history}
    charts = evidence_charts(evidence, lang="ja", translate=lambda key, **kw: translate("ja", key, **kw),
                             indicator_name=lambda i: i, end=date(2026, 10, 31), months=6)
    return {title: str(svg) for title, svg in charts}


def test_charts_mark_only_months_in_which_a_sign_newly_fired() -> None:
    history = [{"month": "2026-05-31", "signs": ["acc_balance_decline"]},  # first on record: not known to be new
               {"month": "2026-06-30", "signs": ["acc_balance_decline"]},  # continuing
               {"month": "2026-07-31", "signs": ["acc_balance_decline", "rep_dpd_30"]},  # rep_dpd_30 new
               {"month": "2026-08-31", "signs": ["acc_balance_decline", "rep_dpd_30"]},  # continuing
               {"month": "2026-09-30", "signs": []},
               {"month": "2026-10-31", "signs": ["rep_dpd_30"]}]  # fired again after a calm month
    loan = _charts(history, [])["借入残高"]
    marked = re.findall(r'class="chart-marker"><title>([^<]*)</title>', loan)
    assert len(marked) == 2
    assert marked[0].startswith("2026-07 に新たに発生した予兆: rep_dpd_30") and "acc_balance_decline" not in marked[0]
    assert marked[1].startswith("2026-10 に新たに発生した予兆: rep_dpd_30")
    assert loan.count('class="chart-signband"') == 2


def test_months_without_a_score_are_a_gap_not_zero() -> None:
    score = [{"month": "2026-05-31", "value": 0.10}, {"month": "2026-06-30", "value": 0.12},
             {"month": "2026-09-30", "value": 0.20}, {"month": "2026-10-31", "value": 0.25}]  # none in July, August
    history = [{"month": f"2026-{m:02d}-28", "signs": ["rep_dpd_30"] if m == 8 else []} for m in range(5, 11)]
    chart = _charts(history, score)["スコア（12か月発生確率）"]
    lines = re.findall(r'<polyline points="([^"]+)"', chart)
    assert [len(points.split()) for points in lines] == [2, 2]  # May–June, then September–October
    # no point for July or August, and August's new sign gets no point on the line: only its shaded column
    assert chart.count("<circle") == 4 and 'class="chart-marker"' not in chart
    assert chart.count('class="chart-signband"') == 1
    zero_line_y = re.search(r'<text x="[\d.]+" y="([\d.]+)" text-anchor="end" class="chart-tick">0%</text>', chart)
    assert zero_line_y is not None
    circles_y = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', chart)]
    assert all(abs(y - (float(zero_line_y.group(1)) - 4)) > 1 for y in circles_y)  # nothing drawn at 0%


def test_the_kpi_page_shows_the_early_share_with_its_definition(app: Any) -> None:
    """Bank A's cases A1–A5: A1 was opened after its business's first deterioration event, the
    other four before any (tests/webapp/conftest.py FIRST_EVENTS)."""
    page = as_user(app, "bank_a").client.get("/kpis").text
    assert '<span class="tile-value" data-testid="kpi-early-share">80.0%</span>' in page
    assert "4件 / 5件" in page and "分子：劣化事象が起きる前に案件化した案件 4件" in page
    assert "分母：夜間処理で案件化した案件 5件" in page and "案件化の日までに一度も起きていなかった" in page
    english = as_user(app, "bank_a").client.get("/kpis?lang=en").text
    assert "Early share" in english and "4 of 5 cases" in english and "Denominator: cases the nightly flags opened, 5" in english
    # the range counts the cases opened within it: A5 alone was opened in October
    october = as_user(app, "bank_a").client.get("/kpis?since=2026-10-01&until=2026-10-31").text
    assert "1件 / 1件" in october


def test_english_counts_agree_with_their_number() -> None:
    """No "1 months": every English label that counts something says its noun through the
    plural form, and a value with a unit says "1 month"."""
    from webapp.formatting import Formatter
    from webapp.i18n import MESSAGES

    bare = re.compile(r"\{\w+\} (?:months?|days?|cases?|characters?|signs?|businesses|debits?|loans?)\b")
    assert not [key for key, (_, en) in MESSAGES.items() if bare.search(en)]
    assert translate("en", "since_opened", date="2026-09-30", months=1).endswith("(2026-09-30, 1 month ago)")
    assert "3 months ago" in translate("en", "since_opened", date="2026-09-30", months=3)
    assert translate("en", "similar_too_few", n=1).startswith("Fewer than 1 similar closed case:")
    en, ja = Formatter("en"), Formatter("ja")
    assert [en.unit_value(1, "months"), en.unit_value(2.0, "months"), en.unit_value(1, "debits")] == [
        "1 month", "2 months", "1 debit"]
    assert ja.unit_value(1, "months") == "1か月"
