"""The case page's decision aids through the web app: why now (今月の変化), how similar cases
ended (類似案件のその後, scoped to the viewer), the coded dismissal, and the decision KPIs."""
from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import polars as pl

from signals.queue import State
from tests.webapp.conftest import AS_OF, BANK_A, Business, Seeded, as_user, flags_frame
from yocho.contract import corporate_number_check_digit


def key(n: int) -> str:
    base = f"6100{n:08d}"
    return f"{corporate_number_check_digit(base)}{base}"


def section(page: str, testid: str) -> str:
    start = page.index(f'data-testid="{testid}"')
    return page[start:page.index("</section>", start)]


def open_business(seeded: Seeded, n: int, signs: list[str], first_sign: date, phase: str = "revitalisation",
                  probability: float = 0.3) -> int:
    business = Business(f"X{n}", key(n), [(BANK_A, f"X-{n}")], probability, "very_high", signs, phase, first_sign, 0.5)
    seeded.store.apply_flags(flags_frame(AS_OF, [business]), AS_OF, 6)
    return next(c.id for c in seeded.store.all_cases(seeded.users["bank_a"]) if c.business_key == key(n))


def test_why_now_shows_the_sign_new_this_month_and_the_probability_change(app: Any, seeded: Seeded) -> None:
    # 30+ days past due fired in September; failed debits joins it in October
    case_id = open_business(seeded, 1, ["rep_dpd_30", "acc_failed_debits"], date(2026, 9, 30))
    page = as_user(app, "bank_a").client.get(f"/cases/{case_id}").text
    why = section(page, "why-now")
    assert "2026-10-31時点と前回 2026-09-30 の比較" in why
    assert "確率（12か月以内の劣化事象）" in why
    new = why[why.index('data-testid="why-new"'):]
    new = new[:new.index("</div>")]
    assert "口座振替不能" in new and "延滞1ヶ月以上" not in new  # the continuing sign is not new
    assert 'data-testid="why-stopped"' not in why and "継続中の予兆: 1件" in why  # nothing stopped
    english = section(as_user(app, "bank_a").client.get(f"/cases/{case_id}?lang=en").text, "why-now")
    assert "Signs that fired this month" in english and "Failed direct debits" in english


def test_a_sign_that_stopped_is_shown_as_stopped_not_as_a_warning(app: Any, seeded: Seeded) -> None:
    business = Business("X2", key(2), [(BANK_A, "X-2")], 0.2, "high", ["rep_dpd_30"], "management_improvement",
                        date(2026, 5, 31), 0.5)
    frame = flags_frame(AS_OF, [business])
    evidence = json.loads(frame["evidence"][0])
    evidence["sign_history"][-2]["signs"].append("acc_failed_debits")  # September only
    frame = frame.with_columns(pl.lit(json.dumps(evidence, ensure_ascii=False)).alias("evidence"))
    seeded.store.apply_flags(frame, AS_OF, 6)
    case_id = next(c.id for c in seeded.store.all_cases(seeded.users["bank_a"]) if c.business_key == key(2))
    page = as_user(app, "bank_a").client.get(f"/cases/{case_id}").text
    why = section(page, "why-now")
    stopped = why[why.index('data-testid="why-stopped"'):]
    assert "前月から止まった事象（現在は予兆として発生していません）" in stopped and "口座振替不能" in stopped
    assert 'data-testid="why-new"' not in why
    assert "口座振替不能" not in section(page, "signs")  # not among the signs fired


def test_why_now_compares_with_the_snapshot_shown_last_month_and_with_opening(app: Any, seeded: Seeded) -> None:
    page = as_user(app, "bank_a").client.get(f"/cases/{seeded.case_ids['A1']}").text
    why = section(page, "why-now")
    # September's snapshot said 28.0% (the night's probability); October 31.0%
    assert "前回 2026-09-30: 28.0%" in why and "+3.0pt" in why
    assert "前月から新たに発生した予兆も、止まった事象もありません。" in why
    assert "案件化（2026-09-30、1か月前）からの変化" in why and "案件化時 2026-09-30: 28.0%" in why


def test_similar_cases_need_five_and_count_only_the_viewers_institution(app: Any, seeded: Seeded) -> None:
    bank = as_user(app, "bank_a")
    a1 = f"/cases/{seeded.case_ids['A1']}"
    assert "5件未満のため表示しません" in section(bank.client.get(a1).text, "similar")
    reviewer = seeded.users["bank_a"]
    codes = ["temporary", "temporary", "healthy", "data_error", "already_supported"]
    for n, code in enumerate(codes, start=10):  # A1's phase (事業再生) and trigger (both)
        case_id = open_business(seeded, n, ["rep_dpd_90"], date(2026, 8, 31))
        seeded.store.transition(reviewer, case_id, State.DISMISSED, expected_version=1, reason_code=code)
    similar = section(bank.client.get(a1).text, "similar")
    assert "推奨フェーズ「事業再生」・きっかけ「重大予兆＋スコア」が同じで終了した案件 5件" in similar
    assert re.search(r"対象外</td><td class=\"num\">5<", similar)
    assert re.search(r"一時的な要因</td><td class=\"num small\">2<", similar)
    assert "あなたの機関が閲覧できる案件のみ" in similar
    assert "6100000000" not in similar  # aggregated: no business is named
    # Bank B's revitalisation case: bank A's five closed cases are not bank B's to count.
    other = as_user(app, "bank_b").client.get(f"/cases/{seeded.case_ids['B1']}").text
    assert "5件未満のため表示しません" in section(other, "similar")


def test_dismissing_through_the_form_records_the_reason_code(app: Any, seeded: Seeded) -> None:
    bank = as_user(app, "bank_a")
    case_id = seeded.case_ids["A5"]
    page = bank.client.get(f"/cases/{case_id}").text
    form = page[page.index('data-target="dismissed"'):]
    form = form[:form.index("</form>")]
    assert '<select name="reason_code" required>' in form
    assert all(label in form for label in ("一時的な要因", "既に対応中", "データの誤り", "事業は健全", "その他（記述）"))
    version = seeded.store.get_case(seeded.users["admin"], case_id).version
    bank.post(f"/cases/{case_id}/transition", {"to_state": "dismissed", "version": version,
                                               "reason_code": "other", "note": ""}, token_from=f"/cases/{case_id}")
    after = bank.client.get(f"/cases/{case_id}").text
    assert "記述してください" in after  # その他 without its description is refused
    assert seeded.store.get_case(seeded.users["admin"], case_id).state is State.NEW
    bank.post(f"/cases/{case_id}/transition", {"to_state": "dismissed", "version": version,
                                               "reason_code": "healthy", "note": "月次で資金繰りを確認済"},
              token_from=f"/cases/{case_id}")
    detail = seeded.store.get_case(seeded.users["admin"], case_id)
    assert detail.state is State.DISMISSED and detail.history[-1].reason_code == "healthy"
    history = bank.client.get(f"/cases/{case_id}").text
    history = history[history.index('data-testid="history"'):]
    assert "事業は健全" in history and "月次で資金繰りを確認済" in history

    kpis = bank.client.get("/kpis").text
    decisions = kpis[kpis.index('data-testid="kpi-decisions"'):]
    assert "2026年度第3四半期" in decisions  # decided 2026-11-24
    reasons = kpis[kpis.index('data-testid="kpi-dismiss-reasons"'):]
    assert re.search(r"事業は健全</th>.*?<strong>1</strong>", reasons, re.S)
    # Bank B's KPI page does not count bank A's dismissal.
    assert 'data-testid="kpi-dismiss-reasons"' not in as_user(app, "bank_b").client.get("/kpis").text
    assert "decisions by fiscal-year quarter" in bank.client.get("/kpis?lang=en").text
