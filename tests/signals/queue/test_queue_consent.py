"""The owner's consent on record (signals/queue/consent.py), on both backends: a referral without
it is refused; the categories it shares govern what the council reads of the evidence; a
withdrawal hides the case from the council at once, is audited, and tells the council only
that the referral was withdrawn; schema v10 on a database as version 9 left it."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import delete, insert, select, text, update

from signals.queue import CaseQuery, Forbidden, InvalidInput, NotFound, QueueStore, State
from signals.queue.consent import CATEGORIES, ConsentRecord
from signals.queue.exports import council_list_csv
from signals.queue.kpis import referral_kpis
from signals.queue.notifications import Kind, items, link_of
from signals.queue.schema import SCHEMA_VERSION, cases, consent_withdrawals, schema_version, transitions
from tests.signals.queue.conftest import FAST_SCRYPT, assert_append_only, consent_record

X = "7000012050002"


def _evidence() -> str:
    """A document of the shape signals/sql/evidence.sql writes, with a sign of each family the
    categories govern, their factors and series, of bank A alone."""
    month = [{"month": "2026-10-01", "value": 1}]
    return json.dumps({
        "business_key": X, "business_name": "株式会社テスト", "prefecture_code": 13, "as_of": "2026-10-31",
        "model_version": "m", "probability": 0.3, "band": "high", "portfolio_share": 0.01,
        "signs": [
            {"indicator_id": "rep_dpd_90", "name_ja": "延滞3ヶ月以上", "family": "repayment", "severity": "critical",
             "value": 95, "evidence": {"loans": [{"bank": "bank_0116", "loan_id": "L-1", "days_past_due": 95}]}},
            {"indicator_id": "acc_failed_debits", "name_ja": "口座振替不能", "family": "accounts", "severity": "high",
             "value": 2, "evidence": {"failed_debits": 2}},
            {"indicator_id": "fin_operating_loss", "name_ja": "営業赤字", "family": "financials",
             "severity": "medium", "value": -5, "evidence": {"operating_profit_jpy": -5}},
            {"indicator_id": "obs_litigation", "name_ja": "訴訟", "family": "qualitative", "severity": "high",
             "value": 1, "evidence": {"note": "提訴"}},
        ],
        "top_factors": [{"indicator": "fin_operating_loss", "contribution": 0.4, "value": -5},
                        {"indicator": "rep_dpd_90", "contribution": 0.3, "value": 95}],
        "series": {"loan_balance_jpy": month, "max_days_past_due": month, "deposit_balance_jpy": month,
                   "inflow_jpy": month, "failed_debits": month, "score": month},
        "series_by_institution": [{"institution_id": "bank_0116", "loan_balance_jpy": month,
                                   "deposit_balance_jpy": month}],
        "sign_history": [{"month": "2026-10-31", "signs": ["acc_failed_debits", "fin_operating_loss", "rep_dpd_90"]}],
        "deterioration": {"first_event_on": "2026-09-20", "first_event_type": "dpd90"},
    }, ensure_ascii=False)


@pytest.fixture
def case_id(store, make_flags, work):
    row = make_flags.row(X, institutions=[("bank_0116", "A-1"), ("cga_13", "G-1")],
                         critical_signs=["rep_dpd_90"], evidence=_evidence(), phase_reason_ja="延滞が続いている")
    return work.open(make_flags(row))[X]


def _consent(store, people, case_id, shared):
    case = store.get_case(people.bank_a, case_id)
    if case.state is State.NEW:
        case = store.transition(people.bank_a, case_id, State.UNDER_REVIEW, expected_version=case.version)
    return store.transition(people.bank_a, case_id, State.CONSENT_OBTAINED, expected_version=case.version,
                            consent=consent_record(store.today(), shared=shared))


def _refer(store, people, case_id, shared=tuple(CATEGORIES)):
    case = _consent(store, people, case_id, shared)
    return store.transition(people.bank_a, case_id, State.REFERRED, expected_version=case.version)


@pytest.mark.parametrize("field, value, message", [
    ("method", "fax", "取得方法"), ("obtained_from", "  ", "同意者"), ("document_ref", "", "文書番号"),
    ("shared", (), "一つ以上"), ("shared", ("financials", "credit_score"), "区分ではありません"),
    ("obtained_on", None, "取得日"),
])
def test_a_consent_record_needs_every_field(field, value, message):
    fields = {"method": "written", "obtained_on": date(2026, 11, 20), "obtained_from": "代表取締役 山田太郎",
              "document_ref": "同意書-1", "shared": ("signs",), field: value}
    with pytest.raises(InvalidInput, match=message):
        ConsentRecord.of(**fields)


def test_a_referral_without_a_consent_on_record_is_refused(store, people, case_id):
    bank = people.bank_a
    case = store.transition(bank, case_id, State.UNDER_REVIEW, expected_version=1)
    with pytest.raises(InvalidInput, match="本人同意の記録"):  # the consent step needs the record
        store.transition(bank, case_id, State.CONSENT_OBTAINED, expected_version=case.version)
    case = _consent_on(store, bank, case_id, case.version)
    # a case whose record is incomplete (as written outside the store) is not referred
    with store.engine.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == case_id).values(consent_document_ref=None))
    with pytest.raises(InvalidInput, match="協議会へ紹介できません"):
        store.transition(bank, case_id, State.REFERRED, expected_version=case.version)
    after = store.get_case(people.admin, case_id)
    assert (after.state, after.referred_on, after.council_id) == (State.CONSENT_OBTAINED, None, None)
    assert store.all_cases(people.council) == []


def _consent_on(store, user, case_id, version):
    return store.transition(user, case_id, State.CONSENT_OBTAINED, expected_version=version,
                            consent=consent_record(store.today(), shared=("signs",)))


def test_every_category_shared_shows_what_the_referring_bank_sees(store, people, case_id):
    _refer(store, people, case_id)
    council = json.loads(store.get_case(people.council, case_id).snapshots[-1].evidence)
    bank = json.loads(store.get_case(people.bank_a, case_id).snapshots[-1].evidence)
    assert council == bank


def test_the_shared_categories_govern_what_the_council_reads(store, people, case_id):
    _refer(store, people, case_id, shared=("repayment", "signs"))
    case = store.get_case(people.council, case_id)
    doc = json.loads(case.snapshots[-1].evidence)
    assert [s["indicator_id"] for s in doc["signs"]] == ["rep_dpd_90", "obs_litigation"]
    assert [f["indicator"] for f in doc["top_factors"]] == ["rep_dpd_90"]
    assert doc["sign_history"] == [{"month": "2026-10-31", "signs": ["rep_dpd_90"]}]
    assert doc["series"]["loan_balance_jpy"] and doc["series"]["score"]
    assert doc["series"]["deposit_balance_jpy"] == doc["series"]["failed_debits"] == []
    assert doc["series_by_institution"] == [{"institution_id": "bank_0116",
                                             "loan_balance_jpy": [{"month": "2026-10-01", "value": 1}]}]
    assert "営業赤字" not in case.snapshots[-1].evidence and "口座振替不能" not in case.snapshots[-1].evidence
    assert case.critical_signs == ["rep_dpd_90"] and case.consent_shared == ("repayment", "signs")
    # the bank that referred it still reads everything of its own
    assert "営業赤字" in store.get_case(people.bank_a, case_id).snapshots[-1].evidence


def test_without_signs_the_council_reads_the_score_and_the_shared_data_only(store, people, case_id):
    _refer(store, people, case_id, shared=("accounts",))
    case = store.get_case(people.council, case_id)
    doc = json.loads(case.snapshots[-1].evidence)
    assert doc["signs"] == doc["top_factors"] == doc["sign_history"] == []
    assert (doc["business_key"], doc["probability"], doc["band"]) == (X, 0.3, "high")
    assert doc["series"]["deposit_balance_jpy"] and doc["series"]["loan_balance_jpy"] == []
    assert "deterioration" not in doc
    assert case.critical_signs == [] and case.snapshots[-1].critical_signs == []
    assert case.phase_reason_ja is None and case.phase_reason_en is None
    listed = store.all_cases(people.council)[0]
    assert listed.critical_signs == [] and listed.phase_reason_ja is None
    assert "延滞3ヶ月以上" not in council_list_csv(store, people.council).decode("utf-8-sig")


@pytest.mark.parametrize("shared, shown", [(("signs",), False), (("repayment", "signs"), True)])
def test_the_first_deterioration_event_is_repayment_data(store, people, make_flags, work, shared, shown):
    """Of a case only the referring bank reports, the council reads the full document less what
    is not shared: the first deterioration event (延滞・代位弁済…) only with 返済状況."""
    case_id = work.open(make_flags(make_flags.row(X, institutions=[("bank_0116", "A-1")],
                                                  evidence=_evidence())))[X]
    _refer(store, people, case_id, shared=shared)
    doc = json.loads(store.get_case(people.council, case_id).snapshots[-1].evidence)
    assert ("deterioration" in doc) is shown and doc["business_name"] == "株式会社テスト"
    assert bool(doc["series"]["max_days_past_due"]) is shown


def test_a_withdrawal_hides_the_referral_at_once_and_is_audited(store, people, case_id, clock):
    referred = _refer(store, people, case_id)
    assert store.get_case(people.council, case_id).state is State.REFERRED
    with pytest.raises(Forbidden):  # the council does not withdraw the owner's consent
        store.withdraw_consent(people.council, case_id, expected_version=referred.version)
    with pytest.raises(Forbidden):  # nor does the association sharing the case: the bank recorded it
        store.withdraw_consent(people.cga, case_id, expected_version=referred.version)
    with pytest.raises(NotFound):  # and a bank without the business does not even see it
        store.withdraw_consent(people.bank_b, case_id, expected_version=referred.version)
    clock.set_day(date(2026, 11, 27))
    case = store.withdraw_consent(people.bank_a, case_id, expected_version=referred.version, note="社長から電話")
    # the council sees nothing of it any more: not by id, not in lists, counts, exports or KPIs
    with pytest.raises(NotFound):
        store.get_case(people.council, case_id)
    assert store.all_cases(people.council) == [] and sum(store.count_by_state(people.council).values()) == 0
    assert X not in council_list_csv(store, people.council).decode("utf-8-sig")
    assert referral_kpis(store, people.council).total == 0
    # only that the referral was withdrawn
    (withdrawn,) = store.withdrawn_referrals(people.council)
    assert (withdrawn.case_id, withdrawn.referred_on, withdrawn.withdrawn_on) == (
        case_id, referred.referred_on, date(2026, 11, 27))
    assert store.withdrawn_referrals(people.council_other) == []
    # the council's inbox: the receipt is gone with the case, the withdrawal is there by number only
    (told,) = items(store, people.council)
    assert (told.kind, told.subject, told.case_id, told.business_key, link_of(told)) == (
        Kind.REFERRAL_WITHDRAWN, f"#{case_id}", None, None, "/council")
    assert items(store, people.council_other) == []
    # the bank's case is back under review, its consent and referral cleared
    assert (case.state, case.consent_on, case.referred_on, case.council_id, case.consent_withdrawn_on) == (
        State.UNDER_REVIEW, None, None, "council_13", date(2026, 11, 27))
    assert (case.consent_method, case.consent_shared, case.version) == (None, (), referred.version + 1)
    entry = case.history[-1]
    assert (entry.actor, entry.from_state, entry.to_state, entry.reason_code) == (
        "reviewer.bank_0116", State.REFERRED, State.UNDER_REVIEW, "consent_withdrawn")
    assert "本人同意の撤回" in entry.note and "同意書-2026-001" in entry.note and "社長から電話" in entry.note
    with pytest.raises(InvalidInput, match="撤回できる本人同意"):  # nothing left to withdraw
        store.withdraw_consent(people.bank_a, case_id, expected_version=case.version)
    assert_append_only(store, consent_withdrawals, update(consent_withdrawals).values(council_id="x"),
                       delete(consent_withdrawals))
    # consent obtained again and referred again: the council sees the new referral
    again = _refer(store, people, case_id)
    assert again.consent_withdrawn_on is None
    assert store.get_case(people.council, case_id).state is State.REFERRED


def test_a_withdrawal_after_the_council_decided_keeps_the_decision_and_hides_it(store, people, case_id, work):
    _refer(store, people, case_id)
    accepted = work.move(case_id, State.ACCEPTED)
    case = store.withdraw_consent(people.bank_a, case_id, expected_version=accepted.version)
    assert case.state is State.ACCEPTED and case.consent_withdrawn_on == store.today()
    assert case.history[-1].reason_code == "consent_withdrawn"
    with pytest.raises(NotFound):
        store.get_case(people.council, case_id)
    assert store.all_cases(people.council, CaseQuery(states=(State.ACCEPTED,))) == []
    assert [w.case_id for w in store.withdrawn_referrals(people.council)] == [case_id]


def test_consent_withdrawn_before_the_referral_leaves_the_council_no_notice(store, people, case_id):
    case = _consent(store, people, case_id, ("signs",))
    case = store.withdraw_consent(people.bank_a, case_id, expected_version=case.version)
    assert case.state is State.UNDER_REVIEW and case.consent_on is None
    assert store.withdrawn_referrals(people.council) == []
    with store.engine.connect() as conn:
        assert conn.execute(select(transitions.c.reason_code).order_by(transitions.c.id.desc()).limit(1)
                            ).scalar_one() == "consent_withdrawn"


def test_a_version_9_database_keeps_its_referrals_with_the_national_council(queue_url, clock):
    """Schema v10 on a database as version 9 left it: a referral made to the one national
    council stays there, sharing every category; a case whose consent has no record goes back
    under review with an audit row saying why."""
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as store:
        now = datetime.now(UTC)
        with store.engine.begin() as conn:
            conn.execute(text("INSERT INTO institutions (id, kind, name) VALUES ('bank_0116', 'bank', 'b')"))
            for case_id, state in ((1, "referred"), (2, "consent_obtained"), (3, "new")):
                conn.execute(insert(cases).values(
                    id=case_id, business_key=f"70000120500{case_id:02d}", state=state, version=3,
                    critical_signs=[], consent_on=None if state == "new" else date(2026, 11, 1),
                    route="bank" if state == "referred" else None, created_at=now, updated_at=now))
            # as version 9 left it: none of version 10's columns, tables or rows
            conn.execute(text("DROP TABLE consent_withdrawals"))
            conn.execute(text("DROP INDEX ix_cases_council"))
            for column in ("consent_method", "consent_from", "consent_document_ref", "consent_shared",
                           "consent_withdrawn_on", "prefecture_code", "council_id", "council_notice"):
                conn.execute(text(f"ALTER TABLE cases DROP COLUMN {column}"))
            conn.execute(text("ALTER TABLE institutions DROP COLUMN prefecture_code"))
            conn.execute(delete(schema_version))
            conn.execute(insert(schema_version).values(version=9, applied_at=now, description="v9"))
    with QueueStore(queue_url, clock=clock, password_params=FAST_SCRYPT) as store:
        with store.engine.connect() as conn:
            assert conn.execute(select(schema_version.c.version).order_by(schema_version.c.version)
                                ).scalars().all() == list(range(9, SCHEMA_VERSION + 1)) == [9, 10, 11, 12]
            rows = {r.id: r for r in conn.execute(select(cases))}
            notes = conn.execute(select(transitions.c.case_id, transitions.c.from_state, transitions.c.to_state,
                                        transitions.c.note)).all()
            kind = conn.execute(text("SELECT kind FROM institutions WHERE id = 'council'")).scalar_one()
        assert (rows[1].state, rows[1].council_id, sorted(rows[1].consent_shared)) == (
            "referred", "council", sorted(CATEGORIES))
        assert (rows[2].state, rows[2].version, rows[2].consent_on) == ("under_review", 4, None)
        assert (rows[3].state, rows[3].version, rows[3].council_id) == ("new", 3, None)
        assert kind == "council"
        assert [(n.case_id, n.from_state, n.to_state) for n in notes] == [(2, "consent_obtained", "under_review")]
        assert "同意の記録" in notes[0].note
        # the national council's intake still sees its referral
        from signals.queue import authenticate, create_user
        from signals.queue.auth import bootstrap_admin
        bootstrap_admin(store, "admin", "admin-password")
        admin = authenticate(store, "admin", "admin-password")
        create_user(store, admin, username="intake", password="intake-password", role="council_intake",
                    institution_id="council", must_change_password=False)
        intake = authenticate(store, "intake", "intake-password")
        assert [c.id for c in store.all_cases(intake)] == [1]
        # the upgrade's audit row reads like any other (its time too, on both backends)
        moved_back = store.get_case(admin, 2).history[-1]
        assert (moved_back.actor, moved_back.from_state, moved_back.to_state) == (
            "system", State.CONSENT_OBTAINED, State.UNDER_REVIEW)
        assert moved_back.at.tzinfo is not None
