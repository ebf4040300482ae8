"""The web app through FastAPI's TestClient, over a temporary SQLite queue seeded with the
store's own functions (tests/webapp/conftest.py): login, CSRF, pages in both languages,
scoping by URL, transitions through the forms, exports."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from signals.queue import TRANSITIONS, Route, State, disable_user
from tests.webapp.conftest import USERS, Browser, Seeded, as_user, csrf_of
from webapp.i18n import MESSAGES, translate
from webapp.security import SESSION_COOKIE

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATES = Path(__file__).resolve().parents[2] / "webapp" / "templates"


def state_of(seeded: Seeded, label: str, who: str = "admin") -> State:
    return seeded.store.get_case(seeded.users[who], seeded.case_ids[label]).state


def version_of(seeded: Seeded, label: str) -> int:
    return seeded.store.get_case(seeded.users["admin"], seeded.case_ids[label]).version


def move(b: Browser, seeded: Seeded, label: str, to_state: str, **fields: Any) -> Any:
    case_id = seeded.case_ids[label]
    data = {"to_state": to_state, "version": version_of(seeded, label), **fields}
    return b.post(f"/cases/{case_id}/transition", data, token_from=f"/cases/{case_id}")


def flash_text(b: Browser, path: str) -> str:
    page = b.client.get(path).text
    found = re.search(r'class="flash flash-(\w+)"[^>]*>([^<]*)<', page)
    return f"{found.group(1)}: {found.group(2)}" if found else ""


# ---------------------------------------------------------------------------- login

@pytest.mark.parametrize("path", ["/cases", "/cases/1", "/council", "/kpis", "/exports",
                                  "/exports/worklist.xlsx", "/exports/council.csv"])
def test_pages_require_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_root_sends_each_role_to_its_home(app: Any, client: TestClient) -> None:
    assert client.get("/", follow_redirects=False).headers["location"] == "/login"
    assert as_user(app, "bank_a").client.get("/", follow_redirects=False).headers["location"] == "/cases"
    assert as_user(app, "council").client.get("/", follow_redirects=False).headers["location"] == "/council"


def test_login_with_a_wrong_password_is_refused(browser: Browser) -> None:
    response = browser.login(USERS["bank_a"], "not-the-password")
    assert response.status_code == 401
    assert translate("ja", "login_failed") in response.text
    assert browser.client.get("/cases", follow_redirects=False).status_code == 303


def test_login_returns_to_the_page_asked_for_and_only_on_this_site(client: TestClient, seeded: Seeded) -> None:
    target = f"/cases/{seeded.case_ids['A1']}"
    page = client.get(target)  # redirected to the login form, with next
    assert 'name="next" value="' + target + '"' in page.text
    response = client.post("/login", data={"username": USERS["bank_a"], "password": f"demo-{USERS['bank_a']}",
                                           "next": target, "csrf_token": csrf_of(page.text)}, follow_redirects=False)
    assert response.headers["location"] == target
    other = Browser(TestClient(client.app))
    page = other.client.get("/login")
    response = other.client.post("/login", data={"username": USERS["bank_a"], "password": f"demo-{USERS['bank_a']}",
                                                 "next": "//evil.example/x", "csrf_token": csrf_of(page.text)},
                                 follow_redirects=False)
    assert response.headers["location"] == "/cases"


def test_session_cookie_is_httponly_samesite_and_secure_on_https(app: Any) -> None:
    response = Browser(TestClient(app)).login(USERS["bank_a"])
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = Browser(TestClient(app, base_url="https://testserver")).login(USERS["bank_a"])
    assert "; Secure" in secure.headers["set-cookie"]


def test_a_tampered_session_cookie_is_not_a_login(app: Any) -> None:
    b = as_user(app, "bank_a")
    value = b.client.cookies[SESSION_COOKIE]
    b.client.cookies.set(SESSION_COOKIE, value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"))
    assert b.client.get("/cases", follow_redirects=False).status_code == 303


def test_logout_ends_the_session(app: Any) -> None:
    b = as_user(app, "bank_a")
    response = b.post("/logout", {}, token_from="/cases")
    assert response.status_code == 303 and response.headers["location"] == "/login?bye=1"
    assert b.client.get("/cases", follow_redirects=False).status_code == 303


def test_a_disabled_user_is_logged_out_at_once(app: Any, seeded: Seeded) -> None:
    b = as_user(app, "bank_a")
    assert b.client.get("/cases").status_code == 200
    disable_user(seeded.store, seeded.users["admin"], USERS["bank_a"])
    assert b.client.get("/cases", follow_redirects=False).status_code == 303


# ---------------------------------------------------------------------------- CSRF

def test_csrf_token_is_required_on_every_post(app: Any, seeded: Seeded) -> None:
    b = as_user(app, "bank_a")
    case_id = seeded.case_ids["A1"]
    form = {"to_state": "under_review", "version": str(version_of(seeded, "A1"))}
    missing = b.client.post(f"/cases/{case_id}/transition", data=form, follow_redirects=False)
    assert missing.status_code == 403
    assert translate("ja", "csrf_failed") in missing.text
    wrong = b.client.post(f"/cases/{case_id}/transition", data={**form, "csrf_token": "x" * 43},
                          follow_redirects=False)
    assert wrong.status_code == 403
    other_session = as_user(app, "bank_a").csrf()  # a token of another session
    assert b.client.post(f"/cases/{case_id}/transition", data={**form, "csrf_token": other_session},
                         follow_redirects=False).status_code == 403
    assert state_of(seeded, "A1") is State.NEW
    assert len(seeded.store.get_case(seeded.users["admin"], case_id).history) == 1
    assert b.client.post("/logout", follow_redirects=False).status_code == 403
    assert b.client.post("/council/referrals", data={"business_key": "1"}, follow_redirects=False).status_code == 403
    assert b.client.get("/cases").status_code == 200  # still logged in


def test_login_form_needs_its_csrf_token_and_a_new_one_is_issued_at_login(client: TestClient) -> None:
    page = client.get("/login")
    before = csrf_of(page.text)
    refused = client.post("/login", data={"username": USERS["bank_a"], "password": f"demo-{USERS['bank_a']}"},
                          follow_redirects=False)
    assert refused.status_code == 403
    client.post("/login", data={"username": USERS["bank_a"], "password": f"demo-{USERS['bank_a']}",
                                "csrf_token": before})
    assert csrf_of(client.get("/cases").text) != before


# ---------------------------------------------------------------------------- pages in both languages

PAGES = {
    "worklist": ("bank_a", "/cases", "worklist_title"),
    "case": ("bank_a", "/cases/{A1}", "evidence"),
    "council": ("council", "/council", "council_title"),
    "kpis": ("council", "/kpis", "kpis_title"),
    "exports": ("bank_a", "/exports", "exports_title"),
    "cga-worklist": ("cga", "/cases", "worklist_title"),
    "admin-worklist": ("admin", "/cases", "worklist_title"),
}


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize("page", sorted(PAGES))
def test_each_page_renders_in_japanese_and_english(app: Any, seeded: Seeded, page: str, lang: str) -> None:
    who, path, heading = PAGES[page]
    b = as_user(app, who)
    response = b.client.get(path.format(**seeded.case_ids) + f"?lang={lang}")
    assert response.status_code == 200
    assert f'<html lang="{lang}">' in response.text
    assert translate(lang, heading) in response.text
    assert translate(lang, "logout") in response.text
    other = "en" if lang == "ja" else "ja"
    assert translate(other, "logout") not in response.text


def test_login_page_in_both_languages_and_the_choice_is_remembered(client: TestClient) -> None:
    assert "ログイン" in client.get("/login").text  # Japanese first
    english = client.get("/login?lang=en")
    assert '<html lang="en">' in english.text and "Log in" in english.text
    assert "yocho_lang=en" in english.headers["set-cookie"]
    assert '<html lang="en">' in client.get("/login").text  # the cookie remembers it
    assert '<html lang="ja">' in client.get("/login?lang=ja").text


def test_every_label_has_both_languages_and_every_template_key_exists() -> None:
    for key, (ja, en) in MESSAGES.items():
        assert ja.strip() and en.strip(), key
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']\s*[,)]""", template.read_text(encoding="utf-8")))
    assert len(used) > 50, "t(...) calls not found in the templates"
    used |= {f"do_{target.value}" for _, target in TRANSITIONS} | {"snapshot_initial", "snapshot_update"}
    assert not used - set(MESSAGES), f"templates use unknown keys: {sorted(used - set(MESSAGES))}"


def test_case_page_shows_evidence_charts_history_and_phase(app: Any, seeded: Seeded) -> None:
    b = as_user(app, "bank_a")
    path = f"/cases/{seeded.case_ids['A1']}"
    ja = b.client.get(path).text
    assert "延滞3ヶ月以上" in ja and "預金残高の減少傾向" in ja  # signs fired, with names from the evidence
    assert "3か月以上の延滞があり抜本的な再生支援が必要" in ja  # phase reason
    assert "事業再生" in ja  # recommended phase
    # loan balance, days past due, deposits, inflows, failed debits, score
    assert ja.count('<svg class="chart"') == 6
    assert ja.count('class="chart-marker"') >= 4  # months in which signs fired
    # the month the case was opened, on every chart with figures (this evidence has no inflows
    # nor failed debits: those two say "no data")
    assert ja.count('class="chart-opened"') == 4 and "2026-09 案件化" in ja and ja.count("データなし") >= 2
    assert "scorecard-2026-10" in ja and "31.0%" in ja
    # the nightly job's note, in the page's language (stored in its fixed form)
    assert 'data-testid="history"' in ja and "2026-09-30時点の予兆検知により案件化（契機：重大予兆＋スコア）" in ja
    assert "flagged as of" not in ja
    assert 'data-target="under_review"' in ja and 'data-target="dismissed"' in ja
    assert 'data-target="referred"' not in ja  # not allowed from new
    en = b.client.get(path + "?lang=en").text
    assert "90+ days past due" in en and "Revitalisation" in en and "90+ days past due: revitalisation support" in en
    assert "Opened by the signs as of 2026-09-30 (trigger: Critical sign + score)" in en and "案件化" not in en
    older = seeded.store.get_case(seeded.users["bank_a"], seeded.case_ids["A1"]).snapshots[0]
    assert "2026-09-30" in b.client.get(f"{path}?snapshot={older.id}").text


def test_worklist_filters_sorts_and_pages(app: Any, seeded: Seeded) -> None:
    b = as_user(app, "bank_a")

    def case_ids(query: str) -> list[int]:
        html = b.client.get("/cases" + query).text
        return [int(x) for x in re.findall(r'<tr data-case-id="(\d+)"', html)]

    ids = seeded.case_ids
    assert sorted(case_ids("")) == sorted(ids[k] for k in ("A1", "A2", "A3", "A4", "A5"))
    assert sorted(case_ids("?state=new")) == sorted([ids["A1"], ids["A5"]])
    assert case_ids("?phase=profitability&sort=probability&order=asc") == [ids["A5"], ids["A3"]]
    assert case_ids("?band=very_high") == [ids["A1"]]
    assert case_ids("?q=0000003") == [ids["A3"]]
    assert case_ids("?q=A-0004") == [ids["A4"]]
    assert case_ids(f"?institution={'cga_13'}") == [ids["A2"]]
    by_probability = case_ids("?sort=probability&order=desc")
    assert by_probability[0] == ids["A1"] and by_probability[-1] == ids["A5"]
    first, second, third = case_ids("?page_size=2"), case_ids("?page_size=2&page=2"), case_ids("?page_size=2&page=3")
    assert len(first) == 2 and len(second) == 2 and len(third) == 1
    assert not set(first) & set(second)
    assert "5件中 3–4件" in b.client.get("/cases?page_size=2&page=2").text
    for junk in ("?sort=password&order=sideways", "?page=-4&page_size=abc", "?state=bogus&phase=x"):
        assert b.client.get("/cases" + junk).status_code == 200


# ---------------------------------------------------------------------------- scoping

def test_a_case_out_of_scope_by_url_is_404_like_a_missing_one(app: Any, seeded: Seeded) -> None:
    ids = seeded.case_ids
    bank_a, cga, council = as_user(app, "bank_a"), as_user(app, "cga"), as_user(app, "council")
    missing = bank_a.client.get("/cases/999999")
    assert missing.status_code == 404
    other_bank = bank_a.client.get(f"/cases/{ids['B1']}")
    assert other_bank.status_code == 404
    message = translate("ja", "not_found_text")
    assert message in other_bank.text and message in missing.text
    assert "4000020000001" not in other_bank.text
    assert bank_a.client.get("/cases/abc").status_code == 404
    assert cga.client.get(f"/cases/{ids['A2']}").status_code == 200  # it guarantees A2
    assert cga.client.get(f"/cases/{ids['C1']}").status_code == 200
    assert cga.client.get(f"/cases/{ids['A1']}").status_code == 404
    assert council.client.get(f"/cases/{ids['A4']}").status_code == 200  # referred with consent
    assert council.client.get(f"/cases/{ids['A3']}").status_code == 404  # consent, but not referred
    assert council.client.get(f"/cases/{ids['A1']}").status_code == 404
    assert "4000020000001" not in bank_a.client.get("/cases?state=all").text


def test_a_transition_on_a_case_out_of_scope_is_404_and_changes_nothing(app: Any, seeded: Seeded) -> None:
    b = as_user(app, "bank_a")
    case_id = seeded.case_ids["B1"]
    response = b.post(f"/cases/{case_id}/transition", {"to_state": "under_review", "version": "1"},
                      token_from="/cases")
    assert response.status_code == 404
    assert state_of(seeded, "B1") is State.NEW


# ---------------------------------------------------------------------------- transitions

def test_the_referral_path_through_the_forms(app: Any, seeded: Seeded) -> None:
    bank, council = as_user(app, "bank_a"), as_user(app, "council")
    case_id = seeded.case_ids["A1"]
    path = f"/cases/{case_id}"

    response = move(bank, seeded, "A1", "under_review", note="確認を開始")
    assert response.status_code == 303 and response.headers["location"] == path
    assert flash_text(bank, path) == "ok: 状態を「検討中」に変更しました。"
    assert state_of(seeded, "A1") is State.UNDER_REVIEW

    refused = move(bank, seeded, "A1", "consent_obtained", note="同意")  # no consent record
    assert refused.status_code == 303
    assert flash_text(bank, path).startswith("error: " + translate("ja", "invalid_input"))
    assert state_of(seeded, "A1") is State.UNDER_REVIEW

    move(bank, seeded, "A1", "consent_obtained", note="代表者の同意を書面で取得", consent_on="2026-11-20",
         consent_method="written", consent_from="代表取締役 北陸太郎", consent_document_ref="同意書-A1",
         consent_shared=["repayment", "signs"])
    move(bank, seeded, "A1", "referred")
    case = seeded.store.get_case(seeded.users["admin"], case_id)
    assert case.state is State.REFERRED and case.route is Route.BANK and case.consent_on == date(2026, 11, 20)

    assert f'data-case-id="{case_id}"' in council.client.get("/council").text
    response = council.post(f"{path}/transition", {"to_state": "accepted", "version": case.version,
                                                   "next": "/council"}, token_from="/council")
    assert response.headers["location"] == "/council"
    case = seeded.store.get_case(seeded.users["admin"], case_id)
    assert case.state is State.ACCEPTED
    moves = [(h.actor, h.from_state, h.to_state, h.note) for h in case.history]
    assert moves[1:] == [
        (USERS["bank_a"], State.NEW, State.UNDER_REVIEW, "確認を開始"),
        (USERS["bank_a"], State.UNDER_REVIEW, State.CONSENT_OBTAINED, "代表者の同意を書面で取得"),
        (USERS["bank_a"], State.CONSENT_OBTAINED, State.REFERRED, None),
        (USERS["council"], State.REFERRED, State.ACCEPTED, None),
    ]
    page = bank.client.get(path).text
    assert page.count(USERS["council"]) >= 1 and "代表者の同意を書面で取得" in page


def test_closing_moves_need_a_reason(app: Any, seeded: Seeded) -> None:
    bank, council = as_user(app, "bank_a"), as_user(app, "council")
    move(bank, seeded, "A5", "dismissed")
    assert state_of(seeded, "A5") is State.NEW
    move(bank, seeded, "A5", "dismissed", note="既に自主再建中で対象外")  # a note, but no reason code
    assert state_of(seeded, "A5") is State.NEW
    assert "理由を選んでください" in flash_text(bank, f"/cases/{seeded.case_ids['A5']}")
    move(bank, seeded, "A5", "dismissed", reason_code="already_supported", note="既に自主再建中で対象外")
    assert state_of(seeded, "A5") is State.DISMISSED
    move(bank, seeded, "A3", "snoozed", note="決算確定待ち", snooze_until="2027-01-31")
    assert state_of(seeded, "A3") is State.SNOOZED
    move(council, seeded, "B2", "declined")
    assert state_of(seeded, "B2") is State.REFERRED
    move(council, seeded, "B2", "declined", note="協議会の支援対象外（事業規模）")
    detail = seeded.store.get_case(seeded.users["admin"], seeded.case_ids["B2"])
    assert detail.state is State.DECLINED and detail.close_reason == "協議会の支援対象外（事業規模）"


def test_a_stale_form_is_refused_with_a_conflict(app: Any, seeded: Seeded) -> None:
    b = as_user(app, "bank_a")
    case_id = seeded.case_ids["A1"]
    stale = version_of(seeded, "A1")
    move(b, seeded, "A1", "under_review")
    b.post(f"/cases/{case_id}/transition", {"to_state": "dismissed", "version": stale, "note": "重複",
                                            "reason_code": "already_supported"},
           token_from=f"/cases/{case_id}")
    assert flash_text(b, f"/cases/{case_id}") == "error: " + translate("ja", "conflict")
    assert state_of(seeded, "A1") is State.UNDER_REVIEW


def test_a_role_cannot_make_another_roles_move(app: Any, seeded: Seeded) -> None:
    bank = as_user(app, "bank_a")
    response = move(bank, seeded, "A4", "accepted")  # only council intake accepts
    assert response.status_code == 403
    assert state_of(seeded, "A4") is State.REFERRED
    move(bank, seeded, "A1", "referred")  # illegal from new
    assert flash_text(bank, f"/cases/{seeded.case_ids['A1']}") == "error: " + translate("ja", "illegal_transition")


def test_council_registers_a_manual_referral(app: Any, seeded: Seeded) -> None:
    council, bank = as_user(app, "council"), as_user(app, "bank_a")
    form = {"business_key": "8000090000777", "route": "other", "phase": "profitability",
            "consent_on": "2026-11-20", "note": "商工会議所からの紹介"}
    response = council.post("/council/referrals", form, token_from="/council")
    assert response.status_code == 303
    case_id = int(response.headers["location"].rsplit("/", 1)[1])
    case = seeded.store.get_case(seeded.users["council"], case_id)
    assert case.route is Route.OTHER and case.state is State.REFERRED
    assert bank.post("/council/referrals", {**form, "business_key": "7000090000778"},
                     token_from="/cases").status_code == 403


# ---------------------------------------------------------------------------- exports and KPIs

def test_exports_download_scoped_with_the_right_content_types(app: Any) -> None:
    bank = as_user(app, "bank_a")
    xlsx = bank.client.get("/exports/worklist.xlsx")
    assert xlsx.status_code == 200 and xlsx.headers["content-type"] == XLSX
    assert xlsx.content.startswith(b"PK")
    assert re.fullmatch(r'attachment; filename="yocho_worklist_2026-11-24\.xlsx"', xlsx.headers["content-disposition"])
    csv = bank.client.get("/exports/worklist.csv")
    assert csv.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv.content.startswith(b"\xef\xbb\xbf")
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("案件番号,")
    assert "6000010000001" in text and "4000020000001" not in text
    filtered = bank.client.get("/exports/worklist.csv?state=new").content.decode("utf-8-sig")
    assert len(filtered.strip().splitlines()) == 3  # header and the two new cases
    council = as_user(app, "council").client.get("/exports/council.csv?state=all").content.decode("utf-8-sig")
    assert {"3000010000004", "3000020000002", "8000090000001"} <= set(re.findall(r"\b\d{13}\b", council))
    council_xlsx = as_user(app, "council").client.get("/exports/council.xlsx")
    assert council_xlsx.headers["content-type"] == XLSX and council_xlsx.content.startswith(b"PK")


def test_kpi_page_counts_referrals_by_route_phase_and_quarter(app: Any) -> None:
    page = as_user(app, "council").client.get("/kpis").text
    assert re.search(r'data-testid="kpi-total">3<', page)
    route = page[page.index('data-testid="kpi-route"'):]
    route = route[:route.index("</table>")]
    assert re.search(r"金融機関</th><td class=\"num\">2<", route)
    assert re.search(r"士業</th><td class=\"num\">1<", route)
    assert "2026年度第3四半期" in page
    english = as_user(app, "council").client.get("/kpis?lang=en").text
    assert "FY2026 Q3" in english and "Professional" in english and "Median days" in english
    bank = as_user(app, "bank_a").client.get("/kpis").text
    assert re.search(r'data-testid="kpi-total">1<', bank)  # only its own referral


def test_responses_carry_security_headers(app: Any) -> None:
    response = as_user(app, "bank_a").client.get("/cases")
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_text_users_type_is_escaped(app: Any, seeded: Seeded) -> None:
    b = as_user(app, "bank_a")
    move(b, seeded, "A1", "under_review", note='<script>alert("x")</script>')
    page = b.client.get(f"/cases/{seeded.case_ids['A1']}").text
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_charts_mark_sign_months_and_break_at_missing_months() -> None:
    from webapp.charts import evidence_charts

    evidence = {
        "series": {
            "loan_balance_jpy": [{"month": "2026-07-01", "value": 5_000_000}, {"month": "2026-08-01", "value": None},
                                 {"month": "2026-09-01", "value": 5_200_000}, {"month": "2026-10-01", "value": 5_300_000}],
            "max_days_past_due": {"2026-09-01": 35, "2026-10-01": 65},  # a mapping is read too
        },
        "sign_history": [{"month": "2026-09-30", "signs": ["rep_dpd_30"]}, {"month": "2026-08-31", "signs": []}],
    }
    charts = evidence_charts(evidence, lang="en", translate=lambda key, **kw: translate("en", key, **kw),
                             indicator_name=lambda i: {"rep_dpd_30": "30+ days past due"}.get(i, i),
                             end=date(2026, 10, 31), months=6, opened_on=date(2026, 9, 30))
    assert [title for title, _ in charts] == ["Loan balance", "Days past due (max)", "Deposit balance (month end)",
                                              "Inflows (monthly)", "Failed direct debits",
                                              "Score (12-month probability)"]
    loan, dpd, deposit, *_ = (str(svg) for _, svg in charts)
    assert loan.count('class="chart-opened"') == 1 and "Case opened 2026-09" in loan
    assert loan.count("<polyline") == 1  # July stands alone (August is missing); September–October joined
    assert loan.count('class="chart-marker"') == 1 and "New signs in 2026-09: 30+ days past due" in loan
    assert dpd.count("<polyline") == 1 and dpd.count('class="chart-marker"') == 1
    assert "No data" in deposit and "<polyline" not in deposit


def test_case_page_tells_fired_signs_from_figures(app: Any, seeded: Seeded) -> None:
    """Only a fired sign reads as a warning sign: a sign that did not fire and a measure are
    shown as figures, each row saying which it is, with what the contribution means."""
    b = as_user(app, "bank_a")
    path = f"/cases/{seeded.case_ids['A1']}"
    ja = b.client.get(path).text
    table = ja[ja.index('data-testid="factors"'):]
    table = table[:table.index("</table>")]
    rows = re.findall(r'<tr data-kind="(\w+)"><td>([^<]+)</td><td>(.*?)</td>', table)
    kinds = {name: (kind, label) for kind, name, label in rows}
    assert kinds["現預金の減少"][0] == "figure" and "数値（予兆ではない）" in kinds["現預金の減少"][1]
    assert kinds["自己資本比率"][0] == "figure"
    signs = [name for name, (kind, _) in kinds.items() if kind == "sign"]
    assert signs and all("予兆（発火）" in kinds[name][1] for name in signs)
    assert "現預金の減少" not in signs
    assert "較正後の対数オッズ" in ja
    en = b.client.get(path + "?lang=en").text
    assert "Figure (not a warning sign)" in en and "Warning sign (fired)" in en
