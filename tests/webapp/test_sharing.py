"""What crosses between institutions and to the council, through the pages: consent is the
only door (docs/webapp.md, "Sharing"). The data layer's rules are tested in
tests/signals/queue/test_queue_sharing.py; these check what the pages show."""
from __future__ import annotations

from datetime import date
from typing import Any

from signals.queue import State
from tests.webapp.conftest import BUSINESSES, Seeded, as_user, consent_record, flags_frame

A1 = next(b for b in BUSINESSES if b.label == "A1")
NEXT_NIGHT = date(2026, 11, 30)


def _register(council: Any, key: str) -> Any:
    form = {"business_key": key, "route": "professional", "phase": "revitalisation",
            "consent_on": "2026-11-20", "note": "顧問税理士から相談"}
    return council.post("/council/referrals", form, token_from="/council")


def test_a_manual_referral_gets_no_bank_evidence_and_leaves_the_banks_case_theirs(app: Any, seeded: Seeded) -> None:
    council, bank = as_user(app, "council"), as_user(app, "bank_a")
    # A1 has bank A's open, unconsented case: registering it reveals nothing and succeeds.
    response = _register(council, A1.key)
    assert response.status_code == 303 and response.headers["location"].startswith("/cases/")
    manual_path = response.headers["location"]
    page = council.client.get(manual_path).text
    assert "進行中の案件" not in page and "受付中" not in page
    # The next night's flags of A1 stay with bank A's case.
    seeded.store.apply_flags(flags_frame(NEXT_NIGHT, [A1]), NEXT_NIGHT, 6)
    page = council.client.get(manual_path).text
    for secret in ("A-0001", "北陸第一銀行", "延滞3ヶ月以上", "months_observed"):
        assert secret not in page, secret
    assert bank.client.get(manual_path).status_code == 404
    bank_case = seeded.store.get_case(seeded.users["bank_a"], seeded.case_ids["A1"])
    assert bank_case.state is State.NEW and bank_case.route is None and bank_case.consent_on is None
    assert bank_case.last_as_of == NEXT_NIGHT
    assert council.client.get(f"/cases/{seeded.case_ids['A1']}").status_code == 404


def test_a_refused_manual_referral_names_only_what_the_council_sees(app: Any, seeded: Seeded) -> None:
    council = as_user(app, "council")
    for label in ("A3", "B1"):  # consented but not referred; new
        key = next(b.key for b in BUSINESSES if b.label == label)
        assert _register(council, key).headers["location"].startswith("/cases/")
    # Refused only for a business the council already has a referral of (B2: bank B's).
    b2 = next(b.key for b in BUSINESSES if b.label == "B2")
    assert _register(council, b2).headers["location"] == "/council"
    page = council.client.get("/council").text
    assert "既に協議会への紹介として受付中" in page and "進行中の案件" not in page


def test_a_reviewer_sees_only_its_own_records_in_a_shared_cases_evidence(app: Any, seeded: Seeded) -> None:
    import polars as pl

    from tests.signals.queue.test_queue_sharing import BANK_B_SECRETS, X, _shared_evidence
    from tests.webapp.conftest import BANK_A, BANK_B, Business

    shared = Business("S1", X, [(BANK_A, "A-0777"), (BANK_B, "B-2")], 0.3, "high", ["rep_dpd_90"],
                      "revitalisation", date(2026, 6, 30), 0.9)
    frame = flags_frame(NEXT_NIGHT, [shared]).with_columns(evidence=pl.lit(_shared_evidence()))
    seeded.store.apply_flags(frame, NEXT_NIGHT, 6)
    case_id = next(c.id for c in seeded.store.all_cases(seeded.users["admin"]) if c.business_key == X)
    page_a = as_user(app, "bank_a").client.get(f"/cases/{case_id}")
    assert page_a.status_code == 200 and "A-LOAN-1" in page_a.text
    for secret in BANK_B_SECRETS:
        assert secret not in page_a.text, secret
    page_b = as_user(app, "bank_b").client.get(f"/cases/{case_id}").text
    assert "B-LOAN-9" in page_b and "A-LOAN-1" not in page_b
    # withheld details are said in words, not as a raw key
    assert "他の機関からも報告あり" in page_a.text and "other_institutions" not in page_a.text


def test_a_bank_that_only_declared_the_business_cannot_open_its_case(app: Any, seeded: Seeded) -> None:
    """Scope comes from loans, accounts and guarantees (signals/sql/institutions.sql): bank B's
    master row carrying bank A's borrower's 法人番号 gives bank B no page of it."""
    from tests.signals import Book, M
    from tests.webapp.conftest import BANK_A, BANK_B

    key = "7000012050002"
    book = Book()
    book.know(key, BANK_A, "A-0900", date(2024, 12, 1))
    book.know(key, BANK_B, "B-SPY", date(2024, 12, 2), relationship=False)
    book.month(M[0], {key: "very_high"}, {key: ["rep_dpd_90"]})
    seeded.store.apply_flags(book.flags(M[0]), M[0], 6)
    case_id = next(c.id for c in seeded.store.all_cases(seeded.users["admin"]) if c.business_key == key)
    assert as_user(app, "bank_a").client.get(f"/cases/{case_id}").status_code == 200
    spy = as_user(app, "bank_b")
    assert spy.client.get(f"/cases/{case_id}").status_code == 404
    assert key not in spy.client.get("/cases?state=all").text


def test_the_council_sees_only_the_referring_bank_of_a_shared_referral(app: Any, seeded: Seeded) -> None:
    """A2 is shared by bank A and the association; bank A refers it with the owner's consent."""
    case_id = seeded.case_ids["A2"]
    for target in (State.CONSENT_OBTAINED, State.REFERRED):
        case = seeded.store.get_case(seeded.users["bank_a"], case_id)
        seeded.store.transition(seeded.users["bank_a"], case_id, target, expected_version=case.version,
                                consent=consent_record(date(2026, 11, 20)))
    council = as_user(app, "council")
    page = council.client.get(f"/cases/{case_id}").text
    assert "A-0002" in page
    assert "G-0002" not in page and "東京信用保証協会" not in page
    export = council.client.get("/exports/council.csv?state=all").content.decode("utf-8-sig")
    assert "A-0002" in export and "G-0002" not in export
    assert "A-0002" not in as_user(app, "cga").client.get(f"/cases/{case_id}").text
