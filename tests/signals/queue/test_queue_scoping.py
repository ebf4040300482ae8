"""Roles and scoping in the data layer, and the worklist's filters, sort and paging."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from signals.queue import CaseQuery, Forbidden, InvalidInput, NotFound, Role, State, disable_user

X, Y, Z, W = "7000012050002", "4000012090001", "1010001000006", "bank_0116:L-99"


@pytest.fixture
def cases(store, people, make_flags, work):
    """X: bank A only. Y: bank B, guaranteed by cga_13. Z: banks A and B. W: cga_27 only."""
    row = make_flags.row
    return work.open(make_flags(
        row(X, institutions=[("bank_0116", "A-1")], priority=0.9, probability=0.4, band="very_high",
            phase="revitalisation", first_sign_on=date(2026, 2, 28)),
        row(Y, institutions=[("bank_0005", "B-2"), ("cga_13", "G-2")], priority=0.5, probability=0.12),
        row(Z, institutions=[("bank_0116", "A-3"), ("bank_0005", "B-3")], priority=0.7, probability=0.2,
            first_sign_on=date(2026, 8, 31)),
        row(W, institutions=[("cga_27", "G-4")], priority=0.1, probability=0.05, band="watch",
            phase="profitability"),
    ))


def _keys(store, user, **query) -> list[str]:
    return [c.business_key for c in store.list_cases(user, CaseQuery(**query)).items]


def test_a_bank_reviewer_sees_only_cases_of_its_bank(store, people, cases):
    assert _keys(store, people.bank_a) == [X, Z]
    assert _keys(store, people.bank_b) == [Z, Y]
    for other in (Y, W):
        with pytest.raises(NotFound, match=f"case {cases[other]} not found"):
            store.get_case(people.bank_a, cases[other])
        with pytest.raises(NotFound):
            store.transition(people.bank_a, cases[other], State.UNDER_REVIEW, expected_version=1)
    # A shared case shows which banks share it, but only the reviewer's own account numbers.
    shared = store.get_case(people.bank_a, cases[Z])
    assert {(i.institution_id, i.local_id) for i in shared.institutions} == {("bank_0116", "A-3"), ("bank_0005", None)}
    assert store.get_case(people.bank_a, cases[Z]).state is State.NEW
    with pytest.raises(NotFound):  # a case that does not exist looks the same
        store.get_case(people.bank_a, 999_999)


def test_a_cga_analyst_sees_the_businesses_its_association_guarantees(store, people, cases):
    assert _keys(store, people.cga) == [Y]
    assert _keys(store, people.cga_other) == [W]
    detail = store.get_case(people.cga, cases[Y])
    # Like a bank reviewer, it sees who shares the case but only its own customer numbers
    # (the bank's customer number is the bank's record: docs/queue.md, "Sharing").
    assert {(i.institution_id, i.local_id) for i in detail.institutions} == {("bank_0005", None), ("cga_13", "G-2")}
    assert _keys(store, people.cga, search="B-2") == [] and _keys(store, people.cga, search="G-2") == [Y]
    with pytest.raises(NotFound):
        store.get_case(people.cga, cases[X])
    # Shared work: the bank and the association move the same case.
    store.transition(people.cga, cases[Y], State.UNDER_REVIEW, expected_version=1)
    assert store.get_case(people.bank_b, cases[Y]).state is State.UNDER_REVIEW


def test_council_intake_sees_only_consented_referrals(store, people, cases, work):
    assert _keys(store, people.council) == []
    work.move(cases[X], State.UNDER_REVIEW, State.CONSENT_OBTAINED)
    assert _keys(store, people.council) == []  # consent alone is not a referral
    with pytest.raises(NotFound):
        store.get_case(people.council, cases[X])
    work.move(cases[X], State.REFERRED)
    work.move(cases[Y], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, reviewer=people.cga)
    work.move(cases[Z], State.DISMISSED)
    # one council per prefecture: X (bank A, 東京都) goes to 東京都's, Y (led by bank B, 大阪府) to 大阪府's
    assert _keys(store, people.council) == [X]
    assert _keys(store, people.council_other) == [Y]
    work.move(cases[Y], State.DECLINED)
    assert _keys(store, people.council_other, states=(State.REFERRED,)) == []
    assert _keys(store, people.council_other, states=(State.DECLINED, State.ACCEPTED)) == [Y]
    with pytest.raises(NotFound):
        store.get_case(people.council, cases[Z])
    counts = store.count_by_state(people.council)
    assert (counts[State.REFERRED], counts[State.DECLINED], counts[State.NEW], sum(counts.values())) == (1, 0, 0, 1)
    assert store.count_by_state(people.bank_a)[State.DISMISSED] == 1


def test_admin_sees_everything_but_does_no_case_work(store, people, cases):
    assert _keys(store, people.admin) == [X, Z, Y, W]
    assert store.get_case(people.admin, cases[W]).business_key == W
    with pytest.raises(Forbidden):
        store.transition(people.admin, cases[W], State.UNDER_REVIEW, expected_version=1)


def test_scope_comes_from_the_database_not_from_the_callers_user_object(store, people, cases):
    forged = replace(people.bank_a, role=Role.ADMIN, institution_id=None)
    assert _keys(store, forged) == [X, Z]
    with pytest.raises(Forbidden):  # the wrong username for that id
        store.list_cases(replace(people.bank_a, username="admin"))
    disable_user(store, people.admin, people.bank_a.username)
    with pytest.raises(Forbidden):
        store.list_cases(people.bank_a)
    with pytest.raises(Forbidden):
        store.get_case(people.bank_a, cases[X])


def test_worklist_filters(store, people, cases, work):
    admin = people.admin
    work.move(cases[X], State.UNDER_REVIEW)
    assert _keys(store, admin, states=(State.UNDER_REVIEW,)) == [X]
    assert _keys(store, admin, states=(State.NEW, State.UNDER_REVIEW)) == [X, Z, Y, W]
    assert _keys(store, admin, phase="profitability") == [W]
    assert _keys(store, admin, band="very_high") == [X]
    assert _keys(store, admin, institution_id="bank_0005") == [Z, Y]
    assert _keys(store, people.bank_a, institution_id="bank_0005") == [Z]  # still within its scope
    assert _keys(store, admin, search="12050") == [X]  # part of a 法人番号
    assert _keys(store, admin, search="l-99") == [W]  # case-insensitive, inst:local_id keys
    assert _keys(store, admin, search="B-3") == [Z]  # a local id
    assert _keys(store, people.bank_a, search="B-3") == []  # not another bank's local id
    assert _keys(store, admin, search="%") == []  # wildcards are literal


def test_worklist_sort_and_paging(store, people, cases):
    admin = people.admin
    assert _keys(store, admin, sort="probability", descending=False) == [W, Y, Z, X]
    assert _keys(store, admin, sort="first_sign_on", descending=False) == [X, Y, W, Z]  # ties by id
    assert _keys(store, admin, sort="flagged_on") == [Z, Y, X, W]  # all the same night: by id
    page = store.list_cases(admin, CaseQuery(page=2, page_size=3))
    assert ([c.business_key for c in page.items], page.total, page.pages) == ([W], 4, 2)
    with pytest.raises(InvalidInput):
        store.list_cases(admin, CaseQuery(sort="business_key; drop table cases"))
    with pytest.raises(InvalidInput):
        store.list_cases(admin, CaseQuery(page=0))
