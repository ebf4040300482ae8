"""The web app's side of the per-prefecture councils and the consent on record: the consent form
(its fields, CSRF, Japanese messages), the referral refused without a record, a council of one
prefecture unable to see another's referral (not even by URL), the withdrawal of consent, the
council's list of withdrawn referrals, and the KPIs per council."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import update

from signals.queue import State
from signals.queue.schema import cases
from tests.webapp.conftest import USERS, Seeded, as_user, consent_record
from webapp.i18n import translate


def flash_text(b: Any, path: str) -> str:
    page = b.client.get(path).text
    found = re.search(r'class="flash flash-(\w+)"[^>]*>([^<]*)<', page)
    return f"{found.group(1)}: {found.group(2)}" if found else ""


def consent_form(seeded: Seeded, label: str, **fields: Any) -> dict[str, Any]:
    case = seeded.store.get_case(seeded.users["admin"], seeded.case_ids[label])
    return {"to_state": "consent_obtained", "version": case.version, "consent_on": "2026-11-20",
            "consent_method": "electronic", "consent_from": "代表取締役 加賀花子", "consent_document_ref": "電子同意-0042",
            "consent_shared": ["accounts"], "note": "電子署名で取得"} | fields


def test_the_consent_form_asks_for_the_whole_record_in_both_languages(app: Any, seeded: Seeded) -> None:
    bank = as_user(app, "bank_a")
    path = f"/cases/{seeded.case_ids['A2']}"  # under review
    for lang in ("ja", "en"):
        page = bank.client.get(f"{path}?lang={lang}").text
        for key in ("consent_method", "consent_method_written", "consent_method_electronic", "consent_from",
                    "consent_document_ref", "consent_shared", "consent_category_financials",
                    "consent_category_repayment", "consent_category_accounts", "consent_category_signs"):
            assert translate(lang, key) in page, (lang, key)
    page = bank.client.get(path).text
    assert page.count('name="consent_shared"') == 4 and 'name="consent_method" value="written"' in page


def test_consent_is_recorded_through_the_form_and_refused_when_incomplete(app: Any, seeded: Seeded) -> None:
    bank = as_user(app, "bank_a")
    case_id = seeded.case_ids["A2"]
    path = f"/cases/{case_id}"
    for missing, message in (("consent_from", "同意者（代表者の氏名・役職）を入力してください"),
                             ("consent_document_ref", "文書番号またはファイル参照を入力してください"),
                             ("consent_shared", "協議会と共有する情報を一つ以上選んでください"),
                             ("consent_method", "同意の取得方法（書面 / 電子）を選んでください")):
        refused = bank.post(f"{path}/transition", consent_form(seeded, "A2", **{missing: [] if missing ==
                                                                               "consent_shared" else ""}),
                            token_from=path)
        assert refused.status_code == 303
        assert message in flash_text(bank, path), missing
        assert seeded.store.get_case(seeded.users["admin"], case_id).state is State.UNDER_REVIEW
    done = bank.post(f"{path}/transition", consent_form(seeded, "A2"), token_from=path)
    assert done.status_code == 303
    case = seeded.store.get_case(seeded.users["admin"], case_id)
    assert (case.state, case.consent_method, case.consent_from, case.consent_document_ref, case.consent_shared,
            case.consent_on, case.consent_recorded_by) == (
        State.CONSENT_OBTAINED, "electronic", "代表取締役 加賀花子", "電子同意-0042", ("accounts",),
        date(2026, 11, 20), USERS["bank_a"])
    page = bank.client.get(path).text
    assert 'data-testid="consent-record"' in page and "電子同意-0042" in page and "口座動向" in page


def test_the_withdrawal_form_needs_its_csrf_token(app: Any, seeded: Seeded) -> None:
    bank = as_user(app, "bank_a")
    case_id = seeded.case_ids["A4"]
    version = seeded.store.get_case(seeded.users["admin"], case_id).version
    missing = bank.client.post(f"/cases/{case_id}/withdraw-consent", data={"version": version},
                               follow_redirects=False)
    assert missing.status_code == 403 and translate("ja", "csrf_failed") in missing.text
    assert seeded.store.get_case(seeded.users["admin"], case_id).state is State.REFERRED


def test_the_referral_is_not_offered_without_a_consent_on_record(app: Any, seeded: Seeded) -> None:
    """A3 is in consent_obtained; its record made incomplete (as an old store might hold it):
    the page says why and offers no referral, and a forged post is refused by the store."""
    case_id = seeded.case_ids["A3"]
    with seeded.store.engine.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == case_id).values(consent_document_ref=None))
    bank = as_user(app, "bank_a")
    path = f"/cases/{case_id}"
    page = bank.client.get(path).text
    assert translate("ja", "consent_missing") in page and 'data-target="referred"' not in page
    version = seeded.store.get_case(seeded.users["admin"], case_id).version
    bank.post(f"{path}/transition", {"to_state": "referred", "version": version}, token_from=path)
    assert "協議会へ紹介できません" in flash_text(bank, path)
    assert seeded.store.get_case(seeded.users["admin"], case_id).state is State.CONSENT_OBTAINED


def test_a_council_cannot_see_another_prefectures_referral_even_by_url(app: Any, seeded: Seeded) -> None:
    """A4 went to 石川県's council: 東京都's sees nothing of it, in the list, by URL, in exports
    and KPIs, and cannot decide it."""
    case_id = seeded.case_ids["A4"]
    ishikawa, tokyo = as_user(app, "council"), as_user(app, "council_13")
    assert ishikawa.client.get(f"/cases/{case_id}").status_code == 200
    page = ishikawa.client.get(f"/cases/{case_id}").text
    assert "石川県中小企業活性化協議会" in page
    assert tokyo.client.get(f"/cases/{case_id}").status_code == 404
    assert f'data-case-id="{case_id}"' not in tokyo.client.get("/council?state=all").text
    assert "3000010000004" not in tokyo.client.get("/exports/council.csv?state=all").content.decode("utf-8-sig")
    version = seeded.store.get_case(seeded.users["admin"], case_id).version
    decided = tokyo.post(f"/cases/{case_id}/transition", {"to_state": "accepted", "version": version},
                         token_from="/council")
    assert decided.status_code == 404
    assert seeded.store.get_case(seeded.users["admin"], case_id).state is State.REFERRED
    kpis = tokyo.client.get("/kpis").text
    assert re.search(r'data-testid="kpi-total">0<', kpis)


def test_a3_without_a_prefecture_goes_by_its_lead_bank_with_a_notice(app: Any, seeded: Seeded) -> None:
    bank = as_user(app, "bank_a")
    case_id = seeded.case_ids["A3"]
    path = f"/cases/{case_id}"
    version = seeded.store.get_case(seeded.users["admin"], case_id).version
    bank.post(f"{path}/transition", {"to_state": "referred", "version": version}, token_from=path)
    page = bank.client.get(path).text
    assert 'data-testid="council-notice"' in page and "石川県 の協議会へ紹介しました" in page
    assert as_user(app, "council").client.get(path).status_code == 200


def test_the_shared_categories_govern_the_councils_case_page(app: Any, seeded: Seeded) -> None:
    """A2 referred sharing only 口座動向: the council's page shows no sign (延滞, 営業赤字) and no
    phase reason, while the bank's shows them."""
    bank = as_user(app, "bank_a")
    case_id = seeded.case_ids["A2"]
    path = f"/cases/{case_id}"
    bank.post(f"{path}/transition", consent_form(seeded, "A2"), token_from=path)
    version = seeded.store.get_case(seeded.users["admin"], case_id).version
    bank.post(f"{path}/transition", {"to_state": "referred", "version": version}, token_from=path)
    council = as_user(app, "council").client.get(path).text
    mine = bank.client.get(path).text
    for hidden in ("延滞1ヶ月以上", "営業赤字", "返済に遅れが出始めている"):
        assert hidden in mine and hidden not in council, hidden


def test_withdrawal_hides_the_referral_and_the_council_sees_only_that(app: Any, seeded: Seeded) -> None:
    case_id = seeded.case_ids["A4"]
    path = f"/cases/{case_id}"
    bank, council = as_user(app, "bank_a"), as_user(app, "council")
    assert translate("ja", "withdraw_consent") in bank.client.get(path).text
    assert translate("ja", "withdraw_consent") not in council.client.get(path).text
    assert translate("ja", "withdraw_consent") not in as_user(app, "cga").client.get(
        f"/cases/{seeded.case_ids['A2']}").text  # nothing to withdraw there
    # A2's consent recorded by bank A: the association sharing the case is not offered the
    # withdrawal, and a forged one is refused
    a2 = seeded.store.get_case(seeded.users["bank_a"], seeded.case_ids["A2"])
    a2 = seeded.store.transition(seeded.users["bank_a"], a2.id, State.CONSENT_OBTAINED, expected_version=a2.version,
                                 consent=consent_record(date(2026, 11, 20)))
    cga = as_user(app, "cga")
    a2_path = f"/cases/{a2.id}"
    assert translate("ja", "withdraw_consent") not in cga.client.get(a2_path).text
    assert translate("ja", "withdraw_consent") in bank.client.get(a2_path).text
    forged = cga.post(f"{a2_path}/withdraw-consent", {"version": a2.version}, token_from=a2_path)
    assert forged.status_code == 403
    assert seeded.store.get_case(seeded.users["admin"], a2.id).state is State.CONSENT_OBTAINED
    version = seeded.store.get_case(seeded.users["admin"], case_id).version
    done = bank.post(f"{path}/withdraw-consent", {"version": version, "note": "社長から撤回の連絡"}, token_from=path)
    assert done.status_code == 303 and done.headers["location"] == path
    assert flash_text(bank, path) == "ok: " + translate("ja", "withdraw_done")
    assert council.client.get(path).status_code == 404
    listing = council.client.get("/council?state=all").text
    assert f'data-case-id="{case_id}"' not in listing.split('data-testid="withdrawn-referrals"')[0]
    notice = listing.split('data-testid="withdrawn-referrals"')[1]
    assert f"案件 #{case_id}（紹介日 2026-11-10）— 2026-11-24 に取り下げ" in notice
    assert "3000010000004" not in notice and "金沢建設" not in notice
    assert f'data-case-id="{case_id}"' not in as_user(app, "council_13").client.get("/council").text
    history = bank.client.get(path).text
    assert "本人同意の撤回" in history and "社長から撤回の連絡" in history
    assert 'data-testid="consent-withdrawn"' in history


def test_kpis_per_council_for_the_council_and_nationally_for_the_admin(app: Any, seeded: Seeded) -> None:
    # a referral to 東京都's council beside 石川県's two (A4, B2) and its manual one (M1)
    store, users = seeded.store, seeded.users
    c1 = store.get_case(users["cga"], seeded.case_ids["C1"])
    for target, extra in ((State.UNDER_REVIEW, {}), (State.CONSENT_OBTAINED, {"consent": consent_record(
            date(2026, 11, 20))}), (State.REFERRED, {})):
        c1 = store.transition(users["cga"], c1.id, target, expected_version=c1.version, **extra)
    assert c1.council_id == "council_13"
    national = as_user(app, "admin").client.get("/kpis").text
    table = national.split('data-testid="kpi-council"')[1].split("</table>")[0]
    assert "石川県中小企業活性化協議会" in table and "東京都中小企業活性化協議会" in table
    assert re.search(r'data-council="council_17"><th scope="row">石川県中小企業活性化協議会</th>'
                     r'(<td class="num">\d+</td>){3}<td class="num"><strong>3</strong>', table)
    tokyo = as_user(app, "council_13").client.get("/kpis?lang=en").text
    mine = tokyo.split('data-testid="kpi-council"')[1].split("</table>")[0]
    assert "council_13" in mine and "council_17" not in mine and translate("en", "kpi_by_council") in tokyo
