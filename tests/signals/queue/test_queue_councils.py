"""One SME Revitalization Council per prefecture (signals/queue/councils.py): a referral goes to
the council of the business's prefecture, or of its lead institution's when the business has
none (with a notice on the case); each council's intake sees only its own referrals, in every
read, and its own KPIs; an administrator sees every council's, with the breakdown. Both
backends."""
from __future__ import annotations

import json

import pytest

from signals.queue import CaseQuery, Forbidden, InvalidInput, NotFound, State, authenticate, create_user
from signals.queue.exports import council_list_csv
from signals.queue.kpis import referral_kpis
from tests.signals.queue.conftest import _evidence
from yocho.prefectures import PREFECTURES, cga_prefecture, council_id, council_name, council_prefecture

X, Y, Z, W = "7000012050002", "4000012090001", "1010001000006", "bank_0116:L-99"


def placed(key: str, prefecture: int | None, **overrides):
    """A flag row whose evidence places the business in a prefecture (the master's
    prefecture_code as of the night, signals/sql/evidence.sql); None: the master gives none."""
    from tests.signals.queue.conftest import flag_row

    document = json.loads(_evidence(key, [], 0.2))
    document["prefecture_code"] = prefecture
    return flag_row(key, evidence=json.dumps(document, ensure_ascii=False), **overrides)


def refer(work, case_id, reviewer):
    return work.move(case_id, State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, reviewer=reviewer)


def test_the_47_prefectures_and_their_councils():
    assert len(PREFECTURES) == 47 and sorted(PREFECTURES) == list(range(1, 48))
    assert (PREFECTURES[1], PREFECTURES[13], PREFECTURES[47]) == ("北海道", "東京都", "沖縄県")
    assert (council_id(13), council_name(13)) == ("council_13", "東京都中小企業活性化協議会")
    assert council_id(1) == "council_01" and council_prefecture("council_01") == 1
    assert council_prefecture("council") is None and council_prefecture("council_48") is None
    # associations: their prefecture's code, the four city associations their city's prefecture
    assert [cga_prefecture(f"cga_{n}") for n in ("13", "27", "48", "49", "50", "51")] == [13, 27, 14, 14, 23, 21]
    with pytest.raises(ValueError):
        council_id(48)


def test_a_referral_goes_to_the_council_of_the_business_prefecture(store, people, make_flags, work):
    # X: bank A (東京都) lends to a business in 大阪府; Y: the master gives no prefecture
    ids = work.open(make_flags(placed(X, 27), placed(Y, None)))
    x = refer(work, ids[X], people.bank_a)
    assert (x.council_id, x.prefecture_code) == ("council_27", 27)
    assert store.get_case(people.bank_a, ids[X]).council_notice is None
    y = refer(work, ids[Y], people.bank_a)
    detail = store.get_case(people.admin, ids[Y])
    assert (y.council_id, y.prefecture_code) == ("council_13", None)  # bank A's prefecture
    assert "主担当機関（bank_0116）の所在地 東京都" in detail.council_notice
    # each council sees its own referral and nothing of the other's, not even by id
    assert [c.business_key for c in store.all_cases(people.council_other)] == [X]
    assert [c.business_key for c in store.all_cases(people.council)] == [Y]
    with pytest.raises(NotFound):
        store.get_case(people.council, ids[X])
    with pytest.raises(NotFound):
        store.get_case(people.council_other, ids[Y])
    with pytest.raises(NotFound):  # nor decide it
        store.transition(people.council, ids[X], State.ACCEPTED, expected_version=x.version)
    assert store.count_by_state(people.council)[State.REFERRED] == 1
    assert X not in council_list_csv(store, people.council).decode("utf-8-sig")
    assert store.all_cases(people.council, CaseQuery(search=X)) == []


def test_the_business_prefecture_is_kept_as_of_the_latest_night(store, people, make_flags, work):
    ids = work.open(make_flags(placed(X, 13)))
    assert store.get_case(people.admin, ids[X]).prefecture_code == 13
    later = make_flags.as_of.replace(month=11, day=30)
    store.apply_flags(make_flags(placed(X, 27, as_of=later)), later, 6)  # the business moved
    assert refer(work, ids[X], people.bank_a).council_id == "council_27"


def test_a_city_association_routes_by_its_prefecture_and_registers_the_council(store, people, make_flags, work):
    """名古屋市信用保証協会 (cga_50) leads a business without a prefecture: 愛知県's council,
    registered with its Japanese name at the first referral."""
    ids = work.open(make_flags(placed(X, None, institutions=[("cga_50", "N-1")])))
    admin = people.admin
    nagoya = create_user(store, admin, username="analyst.cga_50", password="nagoya-password",
                         role="cga_analyst", institution_id="cga_50", must_change_password=False)
    case = refer(work, ids[X], nagoya)
    assert case.council_id == "council_23"
    names = {i.id: (i.name, i.prefecture_code) for i in store.list_institutions(admin)}
    assert names["council_23"] == ("愛知県中小企業活性化協議会", 23)
    assert "愛知県" in store.get_case(admin, ids[X]).council_notice


def test_no_prefecture_anywhere_refuses_the_referral(store, people, make_flags, work):
    """A business without a prefecture, led by a bank registered without one: the referral is
    refused (no council to send it to) and the case stays where it was."""
    ids = work.open(make_flags(placed(X, None, institutions=[("bank_0009", "S-1")])))
    admin = people.admin
    reviewer = create_user(store, admin, username="reviewer.bank_0009", password="sumitomo-password",
                           role="bank_reviewer", institution_id="bank_0009", must_change_password=False)
    case = work.move(ids[X], State.UNDER_REVIEW, State.CONSENT_OBTAINED, reviewer=reviewer)
    with pytest.raises(InvalidInput, match="紹介先の協議会を決められません"):
        store.transition(reviewer, ids[X], State.REFERRED, expected_version=case.version)
    assert store.get_case(admin, ids[X]).state is State.CONSENT_OBTAINED
    # once the bank's prefecture is registered, it goes to that council
    store.ensure_institutions([("bank_0009", "三井住友銀行", 27)])
    assert refer_from_consent(store, reviewer, ids[X]).council_id == "council_27"


def refer_from_consent(store, reviewer, case_id):
    case = store.get_case(reviewer, case_id)
    return store.transition(reviewer, case_id, State.REFERRED, expected_version=case.version)


def test_council_kpis_per_council_and_nationally(store, people, make_flags, work):
    ids = work.open(make_flags(placed(X, 13), placed(Y, 27), placed(Z, 27)))
    for key in (X, Y, Z):
        refer(work, ids[key], people.bank_a)
    work.move(ids[Y], State.ACCEPTED)
    mine, theirs = referral_kpis(store, people.council), referral_kpis(store, people.council_other)
    assert (mine.total, theirs.total) == (1, 2)
    assert mine.by_council == {"council_13": {"協議会へ紹介済": 1, "受付（事前相談）": 0, "不受理": 0}}
    assert theirs.by_council == {"council_27": {"協議会へ紹介済": 1, "受付（事前相談）": 1, "不受理": 0}}
    national = referral_kpis(store, people.admin)
    assert national.total == 3 and national.by_council == {**mine.by_council, **theirs.by_council}


def test_a_council_user_belongs_to_one_council(store, people):
    with pytest.raises(InvalidInput):  # a council user needs a council, not a bank
        create_user(store, people.admin, username="intake.x", password="long enough pw", role="council_intake",
                    institution_id="bank_0116")
    with pytest.raises(Forbidden):  # the council has no withdrawn list of another council's
        store.withdrawn_referrals(people.bank_a)
    assert authenticate(store, "intake.council_27", "demo-intake.council_27").institution_id == "council_27"


def test_an_association_analyst_sees_only_its_own_association(store, people, make_flags, work):
    """Guarantee associations are per prefecture too: cga_13's analyst sees the businesses
    cga_13 guarantees and nothing of cga_27's, in lists, by id, in moves and in exports."""
    ids = work.open(make_flags(make_flags.row(X, institutions=[("cga_13", "G-1")]),
                               make_flags.row(W, institutions=[("cga_27", "G-9")])))
    assert [c.business_key for c in store.all_cases(people.cga)] == [X]
    assert [c.business_key for c in store.all_cases(people.cga_other)] == [W]
    with pytest.raises(NotFound):
        store.get_case(people.cga, ids[W])
    with pytest.raises(NotFound):
        store.transition(people.cga, ids[W], State.UNDER_REVIEW, expected_version=1)
    assert store.list_cases(people.cga, CaseQuery(search="G-9")).total == 0
    referred = refer(work, ids[W], people.cga_other)
    assert referred.council_id == "council_27"
    assert W not in council_list_csv(store, people.cga).decode("utf-8-sig")
    assert referral_kpis(store, people.cga).total == 0 and referral_kpis(store, people.cga_other).total == 1
