"""What crosses between institutions and to the council: consent is the only door.

- A council intake's manual referral is a council-owned record: the nightly flags never merge
  the banks' ids or evidence into it, and the banks' own case of the business stays theirs.
- A refusal of a manual referral never reveals a case the council may not see.
- Evidence is scoped per institution (signals/sharing.py).
"""
from __future__ import annotations

import json

import pytest

from signals.queue import CaseQuery, Conflict, NotFound, State

X = "7000012050002"


def test_a_manual_referral_stays_the_councils_own_record(store, people, make_flags, work):
    manual = store.register_manual_referral(people.council, X, "士業", "税理士から相談")
    row = make_flags.row
    work.open(make_flags(row(X, institutions=[("bank_0116", "A-1"), ("bank_0005", "B-1")])))
    # The council's record got no institution, no local id and no evidence.
    seen = store.get_case(people.council, manual.id)
    assert seen.institutions == () and seen.snapshots == () and seen.owner == "council"
    assert seen.state is State.REFERRED
    assert [c.id for c in store.all_cases(people.council)] == [manual.id]
    # The banks have their own case of the business, new, not referred, without the
    # council's consent or route on it.
    for bank in (people.bank_a, people.bank_b):
        (case,) = store.all_cases(bank)
        assert case.id != manual.id and case.owner == "institutions"
        assert (case.state, case.route, case.referred_on, case.consent_on) == (State.NEW, None, None, None)
        with pytest.raises(NotFound):
            store.get_case(bank, manual.id)
    # The next night updates the banks' case, still never the council's.
    later = make_flags.row(X, institutions=[("bank_0116", "A-1"), ("cga_13", "G-1")],
                           as_of=make_flags.as_of.replace(day=30, month=11))
    store.apply_flags(make_flags(later), later["as_of"], 6)
    assert store.get_case(people.council, manual.id).institutions == ()
    assert store.get_case(people.council, manual.id).snapshots == ()
    # Only the bank's own consent and referral bring its case to the council.
    bank_case = store.all_cases(people.bank_a)[0]
    work.move(bank_case.id, State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)
    assert sorted(c.id for c in store.all_cases(people.council)) == sorted([manual.id, bank_case.id])


def test_a_refused_manual_referral_reveals_no_unconsented_case(store, people, make_flags, work):
    ids = work.open(make_flags(X))
    work.move(ids[X], State.UNDER_REVIEW, State.CONSENT_OBTAINED)  # consented, not referred
    # The council cannot tell this business from one nobody flagged: both are registered.
    first = store.register_manual_referral(people.council, X, "その他", None)
    other = store.register_manual_referral(people.council, "4000012090001", "その他", None)
    assert first.state is other.state is State.REFERRED
    # It is refused only for what the council already sees: its own open referral ...
    with pytest.raises(Conflict, match="既に協議会への紹介として受付中") as refused:
        store.register_manual_referral(people.council, X, "士業", None)
    assert "進行中の案件" not in str(refused.value)
    # ... or a bank's referral it has been sent.
    work.move(ids[X], State.REFERRED)
    store.transition(people.council, first.id, State.DECLINED, expected_version=first.version, note="重複")
    with pytest.raises(Conflict, match="既に協議会への紹介として受付中"):
        store.register_manual_referral(people.council, X, "士業", None)
    assert store.get_case(people.bank_a, ids[X]).state is State.REFERRED
    assert len(store.all_cases(people.council, CaseQuery(states=(State.REFERRED,)))) == 2


def _shared_evidence() -> str:
    """A document of the shape signals/sql/evidence.sql writes, about a business that banks A
    and B both lend to; bank B's records hold its loan id, a note and its debtor class."""
    return json.dumps({
        "business_key": X, "as_of": "2026-10-31", "model_version": "m", "probability": 0.3, "band": "high",
        "portfolio_share": 0.01,
        "signs": [
            {"indicator_id": "rep_dpd_90", "name_ja": "延滞3ヶ月以上", "name_en": "90+ days past due",
             "family": "repayment", "severity": "critical", "value": 120,
             "evidence": {"max_days_past_due": 120, "loans": [
                 {"bank": "bank_0116", "loan_id": "A-LOAN-1", "days_past_due": 95},
                 {"bank": "bank_0005", "loan_id": "B-LOAN-9", "days_past_due": 120}]}},
            {"indicator_id": "obs_litigation", "name_ja": "訴訟", "name_en": "Litigation", "family": "qualitative",
             "severity": "high", "value": 0.8,
             "evidence": {"observations": [{"institution": "bank_0005", "code": "litigation",
                                            "note": "B行内部メモ：社長が入院"}]}},
            {"indicator_id": "rep_bank_class_watch", "name_ja": "債務者区分", "name_en": "Debtor class",
             "family": "repayment", "severity": "high", "value": 3,
             "evidence": {"worst": {"bank": "bank_0005", "debtor_class": "special_attention"},
                          "banks": [{"bank": "bank_0005", "debtor_class": "special_attention"},
                                    {"bank": "bank_0116", "debtor_class": "watch"}]}},
            {"indicator_id": "fin_operating_loss", "name_ja": "営業赤字", "name_en": "Operating loss",
             "family": "financials", "severity": "medium", "value": -31_000_000,
             "evidence": {"operating_profit_jpy": -31_000_000}},
        ],
        "top_factors": [{"kind": "figure", "indicator": "fin_operating_loss", "contribution": 0.4,
                         "value": -31_000_000}],
        "series": {"loan_balance_jpy": [{"month": "2026-10-01", "value": 80_000_000}],
                   "score": [{"month": "2026-10-31", "value": 0.3}]},
        "series_by_institution": [
            {"institution_id": "bank_0005", "loan_balance_jpy": [{"month": "2026-10-01", "value": 77_000_000}]},
            {"institution_id": "bank_0116", "loan_balance_jpy": [{"month": "2026-10-01", "value": 3_000_000}]}],
        "sign_history": [{"month": "2026-10-31", "signs": ["rep_dpd_90"]}],
    }, ensure_ascii=False)


BANK_B_SECRETS = ("B-LOAN-9", "B-2", "入院", "special_attention", "77000000", "80000000", "31000000")


def test_evidence_is_scoped_per_institution(store, people, make_flags, work):
    row = make_flags.row
    ids = work.open(make_flags(row(X, institutions=[("bank_0116", "A-1"), ("bank_0005", "B-2")],
                                   evidence=_shared_evidence())))
    text = store.get_case(people.bank_a, ids[X]).snapshots[-1].evidence
    for secret in BANK_B_SECRETS:
        assert secret not in text, secret
    doc = json.loads(text)
    signs = {s["indicator_id"]: s for s in doc["signs"]}
    # Every sign still shows as fired; bank A's own records in full, bank B's as a fact only.
    assert set(signs) == {"rep_dpd_90", "obs_litigation", "rep_bank_class_watch", "fin_operating_loss"}
    assert signs["rep_dpd_90"]["evidence"] == {
        "loans": [{"bank": "bank_0116", "loan_id": "A-LOAN-1", "days_past_due": 95}],
        "other_institutions": "reported"}
    assert signs["obs_litigation"]["evidence"] == {"other_institutions": "reported"}
    assert signs["rep_dpd_90"]["value"] is None and signs["fin_operating_loss"]["value"] is None
    assert doc["series"]["loan_balance_jpy"] == [{"month": "2026-10-01", "value": 3_000_000}]
    assert doc["series"]["score"] == [{"month": "2026-10-31", "value": 0.3}]
    assert "value" not in doc["top_factors"][0] and doc["top_factors"][0]["contribution"] == 0.4
    # Bank B the other way round.
    other = store.get_case(people.bank_b, ids[X]).snapshots[-1].evidence
    assert "B-LOAN-9" in other and "入院" in other and "A-LOAN-1" not in other
    # The administrator sees the document as stored.
    assert store.get_case(people.admin, ids[X]).snapshots[-1].evidence == _shared_evidence()
    # The council, once bank A refers it sharing every category, sees what bank A sees: its
    # consent covers its own records.
    work.move(ids[X], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)
    assert json.loads(store.get_case(people.council, ids[X]).snapshots[-1].evidence) == doc


def test_a_case_of_one_institution_shows_it_everything(store, people, make_flags, work):
    ids = work.open(make_flags(make_flags.row(X, institutions=[("bank_0005", "B-2")],
                                              evidence=_shared_evidence())))
    doc = json.loads(store.get_case(people.bank_b, ids[X]).snapshots[-1].evidence)
    assert {s["indicator_id"]: s["value"] for s in doc["signs"]}["fin_operating_loss"] == -31_000_000
    assert doc["series"]["loan_balance_jpy"][0]["value"] == 80_000_000


def test_the_council_sees_only_the_referring_institution_of_a_shared_case(store, people, make_flags, work):
    row = make_flags.row
    ids = work.open(make_flags(row(X, institutions=[("bank_0116", "A-1"), ("bank_0005", "B-2"), ("cga_13", "G-1")])))
    work.move(ids[X], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)  # bank A refers
    case = store.get_case(people.council, ids[X])
    assert [(i.institution_id, i.local_id) for i in case.institutions] == [("bank_0116", "A-1")]
    assert store.all_cases(people.council, CaseQuery(search="B-2")) == []
    assert store.all_cases(people.council, CaseQuery(institution_id="bank_0005")) == []
    assert [c.id for c in store.all_cases(people.council, CaseQuery(institution_id="bank_0116"))] == [ids[X]]
    assert [c.id for c in store.all_cases(people.council, CaseQuery(search="A-1"))] == [ids[X]]
    # The association, sharing the case, sees who else does, with its own number only.
    shared = store.get_case(people.cga, ids[X])
    assert [(i.institution_id, i.local_id) for i in shared.institutions] == [
        ("bank_0005", None), ("bank_0116", None), ("cga_13", "G-1")]


def test_records_are_attributed_by_institution_loan_key_and_lender_code():
    from signals.sharing import owner_of, scoped_evidence

    assert owner_of({"bank": "bank_0116", "loan_id": "L"}) == "bank_0116"
    assert owner_of({"lender": "0005", "guarantee_id": "G"}) == "bank_0005"
    assert owner_of("loan:bank_0005:L9") == "bank_0005" and owner_of("cga_13/G1") == "cga_13"
    assert owner_of({"months": 3}) is None and owner_of("normal") is None
    doc = json.dumps({"signs": [{"indicator_id": "rep_restructured", "value": 2,
                                 "evidence": {"loans": 2, "which": ["bank_0116:L1", "bank_0005:L9"]}}]})
    (sign,) = json.loads(scoped_evidence(doc, "bank_0116", {"bank_0116", "bank_0005"}))["signs"]
    assert sign == {"indicator_id": "rep_restructured", "value": None,
                    "evidence": {"which": ["bank_0116:L1"], "other_institutions": "reported"}}
    assert json.loads(scoped_evidence("not json", "bank_0116", {"bank_0116"})) == {}
