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
