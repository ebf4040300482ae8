"""The sentences a case page writes for each fired warning sign (webapp/sign_text): every sign
of the catalog, given evidence of the shape its family's SQL stores, gets a sentence in both
languages that carries its figures with their units and periods; a sign that did not fire gets
none; a sign whose figures are withheld or unknown gets a plain, labelled sentence — never the
raw document or its keys."""
from __future__ import annotations

import re

import pytest

from features.catalog import indicators
from signals.sharing import OTHERS, REPORTED
from webapp.sign_text import TEMPLATES, sign_text
from webapp.sign_text.words import Words

NAMES = {"bank_0116": "北陸第一銀行", "bank_0117": "加賀中央銀行", "cga_01": "東京信用保証協会"}
OBS = {"weight": 0.764, "half_life_months": 6.0, "observations": [
    {"observed_on": "2026-08-21", "received_on": "2026-09-02", "code": "x", "institution": "bank_0116",
     "note": "社長と連絡がつかない", "weight": 0.764}]}
PEERS = {"threshold": "division", "value": -5.52, "jsic_division": "D", "division_percentile": 90.0,
         "division_threshold": -3.58, "peers": 3024}

# indicator id -> (evidence as the family's SQL stores it, figures the Japanese sentence must
# show, figures the English one must show)
EXAMPLES: dict[str, tuple[dict, list[str], list[str]]] = {
    "fin_sales_decline_yoy": (
        {"period_end": "2026-03-31", "sales_jpy": 92_400_000, "previous_period_end": "2025-03-31",
         "previous_sales_jpy": 120_000_000, "change_pct": -23.0},
        ["2026年3月期", "前期比 −23.0%", "1億2,000万円→9,240万円"], ["FY to Mar 2026", "−23.0%", "¥120.0M → ¥92.4M"]),
    "fin_sales_decline_consecutive": (
        {"years_of_decline": 2, "period_ends": ["2025-03-31", "2024-03-31", "2023-03-31"],
         "sales_jpy": [49_745_179, 52_098_947, 55_431_005]},
        ["2期連続", "5,543万円→5,210万円→4,975万円", "2023年3月期"], ["2 years in a row", "¥55.4M → ¥52.1M → ¥49.7M"]),
    "fin_operating_loss": (
        {"period_end": "2026-03-31", "operating_profit_jpy": -3_425_042, "sales_jpy": 164_506_589},
        ["2026年3月期", "−343万円", "1億6,451万円"], ["−¥3.4M", "FY to Mar 2026", "¥164.5M"]),
    "fin_consecutive_operating_losses": (
        {"years_of_loss": 2, "period_ends": ["2025-12-31", "2024-12-31"], "operating_profit_jpy": [-3_253_358, -2_918_816]},
        ["2期連続", "2024年12月期 −292万円", "2025年12月期 −325万円"], ["2 years in a row", "FY to Dec 2025 −¥3.3M"]),
    "fin_negative_net_assets": (
        {"period_end": "2025-03-31", "net_assets_jpy": -706_175, "total_assets_jpy": 105_626_030,
         "total_liabilities_jpy": 106_332_205},
        ["2025年3月期", "純資産 −71万円", "総資産 1億563万円"], ["FY to Mar 2025", "−¥706,175", "¥105.6M"]),
    "fin_current_ratio_low": (
        {"period_end": "2025-03-31", "current_assets_jpy": 9_150_744, "current_liabilities_jpy": 12_227_936,
         "current_ratio": 0.75},
        ["流動比率 0.75倍", "915万円", "1,223万円", "2025年3月期"], ["0.75×", "¥9.2M", "¥12.2M"]),
    "fin_borrowings_to_monthly_sales": (
        {"period_end": "2025-12-31", "short_term_borrowings_jpy": 25_507_117, "long_term_borrowings_jpy": 60_643_788,
         "sales_jpy": 125_365_111, "monthly_sales_jpy": 10_447_093.0, "months_of_sales": 8.25,
         **{**PEERS, "value": 8.25, "jsic_division": "E", "division_threshold": 6.28, "peers": 2237}},
        ["8.25か月分", "8,615万円", "1,045万円", "2025年12月期", "2,237社", "6.28か月分"],
        ["8.25 months", "¥86.2M", "¥10.4M", "2,237 businesses"]),
    "fin_borrowings_multiple_rising": (
        {"period_end": "2025-03-31", "borrowings_jpy": 14_573_000, "sales_jpy": 26_170_835, "months_of_sales": 6.68,
         "previous_period_end": "2024-03-31", "previous_borrowings_jpy": 16_298_000, "previous_sales_jpy": 36_992_504,
         "previous_months_of_sales": 5.29},
        ["5.29か月", "6.68か月", "+1.39か月", "2024年3月期"], ["5.29 months", "6.68", "+1.39 months"]),
    "fin_interest_coverage_low": (
        {"period_end": "2026-03-31", "operating_profit_jpy": -3_425_042, "interest_expense_jpy": 620_415,
         "interest_coverage": -5.52, **PEERS},
        ["−5.52倍", "−343万円", "62万円", "3,024社", "−3.58倍"], ["−5.52×", "−¥3.4M", "¥620,415", "−3.58×"]),
    "fin_receivable_days_up": (
        {"period_end": "2025-03-31", "receivables_jpy": 31_554_716, "sales_jpy": 159_374_893, "receivable_days": 72.3,
         "previous_period_end": "2024-03-31", "previous_receivables_jpy": 24_137_958, "previous_sales_jpy": 164_136_479,
         "previous_receivable_days": 53.8},
        ["53.8日", "72.3日", "18.5日増", "2025年3月期"], ["53.8 days", "72.3 days", "18.5 days more"]),
    "fin_inventory_days_up": (
        {"period_end": "2025-03-31", "inventory_jpy": 9_376_641, "sales_jpy": 99_806_013, "inventory_days": 34.3,
         "previous_period_end": "2024-03-31", "previous_inventory_jpy": 5_808_147, "previous_sales_jpy": 115_621_864,
         "previous_inventory_days": 18.4},
        ["18.4日", "34.3日", "棚卸資産回転日数"], ["18.4 days", "34.3 days"]),
    "fin_cash_decline": (
        {"period_end": "2026-03-31", "cash_jpy": 22_587_982, "previous_period_end": "2025-03-31",
         "previous_cash_jpy": 41_598_947},
        ["−45.7%", "4,160万円→2,259万円", "2026年3月期"], ["−45.7%", "¥41.6M → ¥22.6M"]),
    "fin_statements_overdue": (
        {"latest_annual_period_end": "2024-03-31", "latest_annual_received_on": "2024-07-06",
         "first_trial_balance_period_start": None, "months_since": 31},
        ["2024年3月期", "31か月", "2024年7月6日"], ["FY to Mar 2024", "31 months", "6 Jul 2024"]),
    "fin_quarterly_sales_decline": (
        {"period_start": "2026-01-01", "period_end": "2026-03-31", "sales_jpy": 188_513_104,
         "previous_period_start": "2025-01-01", "previous_period_end": "2025-03-31", "previous_sales_jpy": 274_789_808,
         "change_pct": -31.4},
        ["2026年1月〜3月", "−31.4%", "2億7,479万円→1億8,851万円"], ["Jan–Mar 2026", "−31.4%", "¥274.8M → ¥188.5M"]),
    "rep_dpd_any": (
        {"max_days_past_due": 42, "loans": [{"bank": "bank_0116", "loan_id": "152-01", "month": "2026-09-01",
                                              "days_past_due": 42}]},
        ["2026年9月", "最長42日", "北陸第一銀行", "152-01"], ["42 days", "Sep 2026", "loan 152-01"]),
    "rep_dpd_30": (
        {"max_days_past_due": 45, "loans": [
            {"bank": "bank_0116", "loan_id": "152-01", "month": "2026-09-01", "days_past_due": 45},
            {"bank": "bank_0117", "loan_id": "022-01", "month": "2026-09-01", "days_past_due": 37}]},
        ["最長45日", "2件", "北陸第一銀行", "加賀中央銀行", "37日"], ["45 days", "2 loans", "37 days"]),
    "rep_dpd_90": (
        {"max_days_past_due": 689, "loans": [{"bank": "bank_0117", "loan_id": "016-01", "month": "2026-09-01",
                                               "days_past_due": 689}]},
        ["最長689日", "2026年9月"], ["689 days", "Sep 2026"]),
    "rep_partial_payment": (
        {"months_short": 2, "months": ["2026-08-01", "2026-09-01"], "latest_month": "2026-09-01", "shortfalls": [
            {"bank": "bank_0116", "loan_id": "152-01", "month": "2026-08-01", "scheduled_jpy": 367_000, "paid_jpy": 0},
            {"bank": "bank_0116", "loan_id": "152-01", "month": "2026-09-01", "scheduled_jpy": 367_000, "paid_jpy": 100_000}]},
        ["2026年8月〜9月", "2か月", "73万円", "10万円"], ["2 months", "Aug–Sep 2026", "¥100,000 paid of ¥734,000"]),
    "rep_restructured": (
        {"loans": ["bank_0116:133-01", "bank_0117:083-01"], "in_force_at_latest_month": 2,
         "first_restructured_month_in_window": "2025-11-01", "newly_restructured_month": "2026-09-01"},
        ["2件", "2026年9月", "2025年11月"], ["2 loans", "Sep 2026", "Nov 2025"]),
    "rep_overdraft_near_limit": (
        {"utilisation": 0.952, "bank": "bank_0117", "loan_id": "022-00", "month": "2026-09-01", "limit_jpy": 1_000_000,
         "used_jpy": 952_000, "overdraft_lines": 2},
        ["95.2%", "100万円", "95万円", "2026年9月", "加賀中央銀行"], ["95.2%", "¥952,000", "¥1.0M", "Sep 2026"]),
    "rep_overdraft_rising": (
        {"lines": [{"bank": "bank_0117", "loan_id": "022-00", "month": "2026-09-01", "utilisation": 0.952,
                    "base_month": "2026-03-01", "base_utilisation": 0.444, "rise_points": 50.8,
                    "rising_months_running": False, "streak_start_month": "2026-06-01",
                    "streak_start_utilisation": 0.767}]},
        ["44.4%", "95.2%", "+50.8ポイント", "2026年3月"], ["44.4%", "95.2%", "+50.8 points", "Mar 2026"]),
    "rep_borrowing_up_inflow_down": (
        {"balance_jpy": 56_465_000, "balance_month": "2026-09-01", "balance_year_ago_jpy": 11_708_000,
         "balance_year_ago_month": "2025-09-01", "balance_growth": 3.8228, "inflow_jpy": 23_423_006,
         "inflow_year_ago_jpy": 29_921_622, "inflow_latest_month": "2026-09-01", "inflow_change": -0.2172},
        ["+382.3%", "1,171万円→5,647万円", "−21.7%", "2,992万円→2,342万円"], ["+382.3%", "−21.7%", "¥11.7M → ¥56.5M"]),
    "rep_more_lenders": (
        {"lenders_now": ["0116", "0117", "0119"], "lenders_year_ago": ["0116"], "increase": 2},
        ["1行から3行", "+2行", "北陸第一銀行"], ["3 lenders", "up from 1", "+2"]),
    "rep_bank_class_watch": (
        {"worst_class": "doubtful", "worst_class_ja": "破綻懸念先", "bank": "bank_0116", "classified_on": "2026-09-30",
         "banks": [{"bank": "bank_0116", "debtor_class": "doubtful", "classified_on": "2026-09-30"}]},
        ["破綻懸念先", "2026年9月30日", "北陸第一銀行"], ["doubtful", "30 Sep 2026"]),
    "acc_inflow_decline_yoy": (
        {"months": ["2026-07", "2026-08", "2026-09"], "inflow_jpy": 28_729_360,
         "same_months_a_year_earlier_jpy": 43_765_246, "change_pct": -34.4},
        ["2026年7月〜9月", "−34.4%", "4,377万円→2,873万円"], ["Jul–Sep 2026", "−34.4%", "¥43.8M → ¥28.7M"]),
    "acc_balance_decline": (
        {"recent_months": ["2026-07", "2026-08", "2026-09"], "recent_average_balance_jpy": 9_212_002,
         "earlier_months": ["2026-04", "2026-05", "2026-06"], "earlier_average_balance_jpy": 16_480_750, "change_pct": -44.1},
        ["1,648万円", "921万円", "−44.1%", "2026年4月〜6月"], ["¥16.5M", "¥9.2M", "−44.1%", "Apr–Jun 2026"]),
    "acc_near_zero_months": (
        {"months": [{"month": "2026-05", "month_end_balance_jpy": 0, "outflow_jpy": 1_957_238},
                    {"month": "2026-07", "month_end_balance_jpy": 50_685, "outflow_jpy": 1_639_511}],
         "complete_months_in_window": 6, "floor_ratio": 0.1},
        ["6か月", "2か月", "2026年5月と2026年7月", "10%"], ["2 months", "6 months", "May 2026 and Jul 2026"]),
    "acc_failed_debits": (
        {"failed_debits": 3, "by_month": ["2026-07: 2", "2026-09: 1"]},
        ["2026年7月と2026年9月に口座振替不能が計3件"], ["3 failed debits", "Jul 2026 and Sep 2026"]),
    "acc_payroll_decline_yoy": (
        {"months": ["2026-07", "2026-08", "2026-09"], "payroll_jpy": 4_748_203,
         "same_months_a_year_earlier_jpy": 10_514_615, "change_pct": -54.8},
        ["給与振込額", "−54.8%", "1,051万円→475万円"], ["Payroll", "−54.8%", "¥10.5M → ¥4.7M"]),
    "acc_payroll_stopped": (
        {"months_without_payroll": ["2026-09"], "regular_months_before": 6, "average_payroll_before_jpy": 18_546_711},
        ["2026年9月", "6か月", "1,855万円"], ["Sep 2026", "6 months", "¥18.5M"]),
    "acc_tax_stopped": (
        {"last_paid_month": "2026-05", "last_paid_jpy": 3_382_391, "reference_month": "2026-09", "months_paid_in_lookback": 10},
        ["2026年5月", "338万円", "2026年9月", "10か月"], ["May 2026", "¥3.4M", "Sep 2026", "10 months"]),
    "acc_social_insurance_stopped": (
        {"last_paid_month": "2026-07", "last_paid_jpy": 4_189_669, "reference_month": "2026-09", "months_paid_in_lookback": 1},
        ["2026年7月", "419万円", "社会保険料"], ["Jul 2026", "¥4.2M", "1 month before"]),
    "cga_incident_reported": (
        {"reports": 2, "latest_type": "legal_filing", "latest_on": "2026-03-18"},
        ["2件", "2026年3月18日", "破産等申立"], ["2 reports", "18 Mar 2026", "bankruptcy"]),
    "cga_subrogation_requested": (
        {"amount_jpy": 45_934_800, "requests": 1, "latest_requested_on": "2026-04-13"},
        ["1件", "4,593万円", "2026年4月13日"], ["1 request", "¥45.9M", "13 Apr 2026"]),
    "cga_guarantee_adverse_status": (
        {"guarantees": ["HS57-01:delinquent", "HS57-02:restructured"], "month": "2026-09-01"},
        ["2026年9月", "2件", "延滞", "条件変更"], ["2 guarantees", "delinquent", "restructured", "Sep 2026"]),
    **{i.id: (OBS, ["2026年8月21日", "北陸第一銀行", "社長と連絡がつかない", "0.76", "6か月"],
              ["21 Aug 2026", "0.76", "6 months"])
       for i in indicators().values() if i.id.startswith("obs_")},
    "x_adverse_at_multiple_institutions": (
        {"institutions": [
            {"institution": "bank_0116", "shows": ["failed direct debits: 2 (2026-09 2)", "loan 184-01 (2026-09): 37 days past due"]},
            {"institution": "cga_01", "shows": ["guarantee HS57-01 delinquent (2026-09)",
                                                 "incident legal_filing on 2026-03-18 (lender 0116)"]}],
         "known_institutions": ["bank_0116", "bank_0117", "cga_01"]},
        ["2機関", "3機関", "37日延滞", "口座振替不能 2件", "破産等申立", "延滞"],
        ["2 institutions", "37 days past due", "2 failed debits", "delinquent", "bankruptcy"]),
    "x_watch_class_elsewhere": (
        {"classified_by": [{"institution": "bank_0116", "debtor_class": "watch", "ja": "要注意先", "classified_on": "2026-09-30"},
                           {"institution": "bank_0117", "debtor_class": "special_attention", "ja": "要管理先",
                            "classified_on": "2026-08-31"}],
         "other_institutions": ["cga_01"]},
        ["2行", "要注意先", "要管理先", "2026年9月30日", "1機関"], ["2 banks", "watch", "special attention", "1 institution"]),
}
KEY = re.compile(r"\b[a-z]+_[a-z_]+\b")  # an evidence key as stored (snake_case)


def rendered(indicator_id: str, evidence: object, lang: str, **kwargs) -> str:
    name = indicators()[indicator_id].ja if lang == "ja" else indicators()[indicator_id].en
    text = sign_text(indicator_id, evidence, name=name, lang=lang, names=NAMES, **kwargs)
    assert text is not None
    cells = [c for row in (text.table.rows if text.table else ()) for c in row]
    return " ".join([text.sentence, *(text.table.headers if text.table else ()), *cells, *text.notes])


def test_every_sign_of_the_catalog_has_a_template_and_an_example() -> None:
    assert set(TEMPLATES) == set(indicators()) == set(EXAMPLES)


@pytest.mark.parametrize("indicator_id", sorted(EXAMPLES))
def test_a_fired_sign_reads_as_a_sentence_with_its_figures(indicator_id: str) -> None:
    evidence, ja_figures, en_figures = EXAMPLES[indicator_id]
    for lang, figures in (("ja", ja_figures), ("en", en_figures)):
        text = sign_text(indicator_id, evidence, name="名", lang=lang, names=NAMES)
        assert text is not None and text.sentence
        page = rendered(indicator_id, evidence, lang)
        for figure in figures:
            assert figure in page, (lang, figure, page)
        assert "{" not in page and "}" not in page and not KEY.search(page), page
        assert "名" not in text.sentence  # a template wrote it, not the plain fallback


def test_a_sign_that_did_not_fire_gets_no_sentence() -> None:
    evidence = EXAMPLES["acc_failed_debits"][0]
    assert sign_text("acc_failed_debits", evidence, name="口座振替不能", lang="ja", fired=False) is None
    assert sign_text("acc_failed_debits", evidence, name="口座振替不能", lang="ja", fired=True) is not None


def test_withheld_or_unknown_figures_get_a_plain_labelled_sentence() -> None:
    # a shared case: another institution's figures are withheld (signals/sharing.py)
    withheld = {OTHERS: REPORTED}
    text = sign_text("rep_dpd_30", withheld, name="延滞1ヶ月以上", lang="ja", value_text="45日")
    assert text is not None and text.sentence == "「延滞1ヶ月以上」が発生" and "共有ルール" in text.notes[0]
    # the viewer's own loan only: the sentence says what is there and that the rest is withheld
    own = {"loans": [{"bank": "bank_0116", "loan_id": "L1", "month": "2026-09-01", "days_past_due": 37}],
           OTHERS: REPORTED}
    text = sign_text("rep_dpd_30", own, name="延滞1ヶ月以上", lang="ja", names=NAMES)
    assert text is not None and "最長37日" in text.sentence and text.notes
    # a sign without a template, or evidence of an unknown shape: labelled figures only
    odd = {"max_days_past_due": 61, "mystery_key": "zzz", "nested": {"a": 1}}
    page = rendered("rep_more_lenders", odd, "en", value_text="2 lenders")
    assert "Days past due (max)" in page and "61 days" in page and "2 lenders" in page
    assert "mystery" not in page and "zzz" not in page and "{" not in page
    assert sign_text("rep_more_lenders", None, name="x", lang="ja", value_text="2行").sentence == "「x」が発生（値：2行）"


def test_words_write_yen_months_and_counts_as_a_reader_expects() -> None:
    ja, en = Words("ja"), Words("en")
    assert [ja.yen(v) for v in (120_000_000, 92_400_000, 9_999, -3_425_042, 100_000_000)] == [
        "1億2,000万円", "9,240万円", "9,999円", "−343万円", "1億円"]
    assert [en.yen(v) for v in (120_000_000, 952_000, 2_500_000_000)] == ["¥120.0M", "¥952,000", "¥2.50bn"]
    assert ja.months(["2026-07", "2026-09"]) == "2026年7月と2026年9月"
    assert ja.months(["2026-07", "2026-08", "2026-09", "2026-11"]) == "2026年7月〜9月と2026年11月"
    assert en.months(["2025-12", "2026-01"]) == "Dec 2025–Jan 2026"
    assert [en.count(1, "month"), en.count(2, "month"), ja.count(1, "month")] == ["1 month", "2 months", "1か月"]
    assert ja.signed_pct(-23) == "−23.0%" and en.signed_pct(4.5) == "+4.5%"
