"""Document requests through the pages (webapp/routes_documents.py): the association leading a
case asks a bank for documents, the bank sees them on 依頼された資料 and its inbox and records
what it sent, the analyst sees it in the evidence. The data layer's rules are tested in
tests/signals/queue/test_queue_documents.py; these check the forms, CSRF and the messages."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.webapp.conftest import AS_OF, BANK_A, BANK_B, CGA, Business, Seeded, as_user, flags_frame

# A business the association guarantees more than the banks lend: it leads the case.
LED = Business("D1", "9000070000007", [(CGA, "G-0707"), (BANK_A, "A-0707"), (BANK_B, "B-0707")], 0.25, "high",
               ["rep_dpd_30"], "management_improvement", AS_OF - timedelta(days=60), 0.5)


def open_led_case(seeded: Seeded) -> int:
    seeded.store.apply_flags(flags_frame(AS_OF, [LED]), AS_OF, 6)
    case = next(c for c in seeded.store.all_cases(seeded.users["cga"]) if c.business_key == LED.key)
    assert case.lead_institution_id == CGA
    return case.id


def _request(who: Any, case_id: int, **form: Any) -> Any:
    data = {"institution_id": BANK_A, "document": ["trial_balance", "cash_flow_plan"], "due_on": "2026-12-01",
            "note": ""} | form
    return who.post(f"/cases/{case_id}/documents", data, token_from=f"/cases/{case_id}")


def test_the_lead_requests_the_bank_records_receipt_and_the_evidence_shows_it(app: Any, seeded: Seeded) -> None:
    case_id = open_led_case(seeded)
    analyst, bank, other = as_user(app, "cga"), as_user(app, "bank_a"), as_user(app, "bank_b")
    page = analyst.client.get(f"/cases/{case_id}").text
    assert 'data-testid="request-form"' in page and "資料を依頼する" in page
    # a bank of the case is not offered the form, and the store refuses its post
    assert 'data-testid="request-form"' not in bank.client.get(f"/cases/{case_id}").text
    response = _request(bank, case_id, institution_id=BANK_B)
    assert response.status_code == 303
    assert "資料を依頼できるのは主担当の機関だけです" in bank.client.get(f"/cases/{case_id}").text
    # no CSRF token: refused before anything is written
    refused = analyst.client.post(f"/cases/{case_id}/documents", data={"institution_id": BANK_A,
                                  "document": ["trial_balance"], "due_on": "2026-12-01"}, follow_redirects=False)
    assert refused.status_code == 403
    assert _request(analyst, case_id, document=[]).status_code == 303
    assert "依頼する資料を選んでください" in analyst.client.get(f"/cases/{case_id}").text
    assert _request(analyst, case_id).status_code == 303
    page = analyst.client.get(f"/cases/{case_id}").text
    assert "2件の資料を" in page and "未着 2件（うち期限超過 0件）" in page
    # the bank is told: the header's count, the page of requests, its inbox
    listed = bank.client.get("/documents").text
    assert 'data-testid="documents-count"' in listed and "最新の試算表" in listed and "資金繰り表" in listed
    assert "依頼された資料" in bank.client.get("/cases").text
    assert "資料の依頼" in bank.client.get("/inbox").text
    assert "documents-empty" in other.client.get("/documents").text  # bank B was not asked
    # the bank records the trial balance as sent
    ids = [r.id for r in __import__("signals.queue.documents", fromlist=["x"]).requested_of_me(
        seeded.store, seeded.users["bank_a"])]
    response = bank.post(f"/documents/{ids[0]}/received", {"received_on": "2026-11-24",
                         "reference": "文書番号 HK-2026-118", "next": "/documents"}, token_from="/documents")
    assert response.status_code == 303 and response.headers["location"] == "/documents"
    assert "資料の送付を記録しました" in bank.client.get("/documents").text
    # twice: already handled, said in Japanese
    bank.post(f"/documents/{ids[0]}/received", {"received_on": "2026-11-24", "reference": "x"},
              token_from="/documents")
    assert "この依頼は既に処理されています" in bank.client.get("/documents").text
    # the analyst may not record the bank's sending
    analyst.post(f"/documents/{ids[1]}/received", {"received_on": "2026-11-24", "reference": "x",
                 "next": f"/cases/{case_id}"}, token_from=f"/cases/{case_id}")
    assert "受領を記録できるのは依頼された機関だけです" in analyst.client.get(f"/cases/{case_id}").text
    page = analyst.client.get(f"/cases/{case_id}").text
    assert "2026年11月24日 北陸第一銀行より最新の試算表を受領（文書番号 HK-2026-118）" in page
    assert "未着 1件（うち期限超過 0件）" in page
    # a week after the due date the other is overdue, for both
    seeded.clock.set_day(AS_OF + timedelta(days=40))
    analyst, bank = as_user(app, "cga"), as_user(app, "bank_a")  # the sessions of a month ago have ended
    assert "未着 1件（うち期限超過 1件）" in analyst.client.get(f"/cases/{case_id}").text
    listed = bank.client.get("/documents").text
    assert 'data-testid="document-overdue"' in listed and "未送付 1件（うち期限超過 1件）" in listed
    assert "inbox-count doc-count overdue" in listed  # the header's count turns red
    assert "資料の期限超過" in analyst.client.get("/inbox").text
    # in English
    english = analyst.client.get(f"/cases/{case_id}?lang=en").text
    assert "Latest trial balance received from 北陸第一銀行 (文書番号 HK-2026-118)" in english
    assert "1 outstanding (1 overdue)" in english


def test_the_lead_waives_and_an_outsider_sees_nothing(app: Any, seeded: Seeded) -> None:
    case_id = open_led_case(seeded)
    analyst = as_user(app, "cga")
    _request(analyst, case_id, document=["repayment_schedule"], institution_id=BANK_B)
    from signals.queue.documents import case_requests

    (asked,) = case_requests(seeded.store, seeded.users["cga"], case_id)
    bank_b = as_user(app, "bank_b")
    bank_b.post(f"/documents/{asked.id}/waive", {"reason": "不要", "next": "/documents"}, token_from="/documents")
    assert "依頼を取り下げられるのは主担当の機関だけです" in bank_b.client.get("/documents").text
    response = analyst.post(f"/documents/{asked.id}/waive", {"reason": "保証協会で保有",
                            "next": f"/cases/{case_id}"}, token_from=f"/cases/{case_id}")
    assert response.status_code == 303
    page = analyst.client.get(f"/cases/{case_id}").text
    assert "資料の依頼を取り下げました" in page and 'data-status="waived"' in page
    assert "資料依頼の取下げ" in page  # the audit log's row
    # council intake sees no document requests, and no header link
    council = as_user(app, "council")
    assert 'data-testid="documents-link"' not in council.client.get("/council").text
    assert "documents-empty" in council.client.get("/documents").text
