"""Referral KPIs by route, phase and fiscal quarter; manual referrals by council intake."""
from __future__ import annotations

from datetime import date

import pytest

from signals.queue import Conflict, Forbidden, InvalidInput, NotFound, Route, State
from signals.queue.kpis import (
    fiscal_quarter,
    fiscal_quarter_label,
    fiscal_quarter_label_ja,
    referral_kpis,
    register_manual_referral,
)

X, Y, Z = "7000012050002", "4000012090001", "1010001000006"


@pytest.mark.parametrize("day, expected", [
    (date(2026, 4, 1), (2026, 1)),
    (date(2026, 5, 10), (2026, 1)),
    (date(2026, 6, 30), (2026, 1)),
    (date(2026, 7, 1), (2026, 2)),
    (date(2026, 9, 30), (2026, 2)),
    (date(2026, 10, 1), (2026, 3)),
    (date(2026, 12, 31), (2026, 3)),
    (date(2027, 1, 1), (2026, 4)),
    (date(2027, 2, 1), (2026, 4)),
    (date(2027, 3, 31), (2026, 4)),
    (date(2026, 3, 31), (2025, 4)),
])
def test_fiscal_quarters(day, expected):
    assert fiscal_quarter(day) == expected
    assert fiscal_quarter_label(day) == f"FY{expected[0]} Q{expected[1]}"
    assert fiscal_quarter_label_ja(day) == f"{expected[0]}年度第{expected[1]}四半期"


def test_manual_referrals_by_council_intake(store, people, make_flags, work):
    case = register_manual_referral(store, people.council, "1000012010003", "士業", "顧問税理士から相談",
                                    phase="profitability")
    assert (case.state, case.route, case.route_ja, case.referral_phase) == (
        State.REFERRED, Route.PROFESSIONAL, "士業", "profitability")
    assert (case.referred_on, case.consent_on) == (store.today(), store.today())
    assert case.history[-1].from_state is None and "士業" in case.history[-1].note
    other = store.register_manual_referral(people.council, "9000012010004", Route.OTHER, None)
    assert other.route_ja == "その他" and other.referral_phase is None
    # The intake can then decide it like any referral.
    decided = store.transition(people.council, other.id, State.ACCEPTED, expected_version=other.version)
    assert decided.state is State.ACCEPTED
    with pytest.raises(Forbidden):
        store.register_manual_referral(people.bank_a, "8000012010005", "士業", None)
    with pytest.raises(InvalidInput, match="route"):
        store.register_manual_referral(people.council, "8000012010005", "金融機関", None)
    with pytest.raises(InvalidInput):
        store.register_manual_referral(people.council, "8000012010005", "tax_advisor", None)
    # A business the council already has an open referral of is not registered twice; a
    # bank's unreferred case of it is no reason to refuse (the refusal would reveal it).
    work.open(make_flags(X))
    mine = store.register_manual_referral(people.council, X, "その他", None)
    with pytest.raises(Conflict):
        store.register_manual_referral(people.council, X, "士業", None)
    assert store.get_case(people.council, mine.id).owner == "council"
    # The council's own referral is not a bank's case.
    with pytest.raises(NotFound):
        store.get_case(people.bank_a, case.id)


def test_referral_kpis_by_route_phase_and_quarter(store, people, make_flags, work, clock):
    row = make_flags.row
    ids = work.open(make_flags(
        row(X, institutions=[("bank_0116", "A-1")], phase="revitalisation", first_sign_on=date(2026, 3, 31)),
        # the association (東京都) leads Y: its referral goes to the same council as X's
        row(Y, institutions=[("bank_0005", "B-2"), ("cga_13", "G-2")], phase="management_improvement",
            first_sign_on=date(2026, 10, 31), lead_institution_id="cga_13"),
        row(Z, institutions=[("bank_0116", "A-3")]),
    ))
    clock.set_day(date(2026, 5, 10))  # FY2026 Q1, 40 days after the first sign
    work.move(ids[X], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)
    clock.set_day(date(2026, 7, 15))  # FY2026 Q2
    register_manual_referral(store, people.council, "1000012010003", "士業", "紹介", phase="profitability")
    clock.set_day(date(2026, 12, 1))  # FY2026 Q3
    register_manual_referral(store, people.council, "9000012010004", "その他", None)
    clock.set_day(date(2027, 2, 1))  # FY2026 Q4, 93 days after the first sign
    work.move(ids[Y], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, reviewer=people.cga)
    work.move(ids[X], State.ACCEPTED)
    work.move(ids[Z], State.DISMISSED)  # never referred: not counted

    kpis = referral_kpis(store, people.council)
    assert kpis.total == 4
    assert kpis.by_route == {"金融機関": 1, "信用保証協会": 1, "士業": 1, "その他": 1}
    assert kpis.by_phase == {"収益力改善": 1, "経営改善": 1, "事業再生": 1, "再チャレンジ": 0, "未設定": 1}
    assert kpis.by_quarter == {"FY2026 Q1": 1, "FY2026 Q2": 1, "FY2026 Q3": 1, "FY2026 Q4": 1}
    assert kpis.by_outcome == {"協議会へ紹介済": 3, "受付（事前相談）": 1, "不受理": 0}
    assert kpis.median_days_first_sign_to_referral == (40 + 93) / 2
    assert kpis.by_route_quarter[("FY2026 Q4", "信用保証協会")] == 1
    assert kpis.by_council == {"council_13": {"協議会へ紹介済": 3, "受付（事前相談）": 1, "不受理": 0}}
    assert referral_kpis(store, people.admin) == kpis
    assert referral_kpis(store, people.council_other).total == 0  # 大阪府's council had none

    # A bank counts the referrals among its own cases only.
    bank = referral_kpis(store, people.bank_a)
    assert (bank.total, bank.by_route["金融機関"], bank.by_quarter) == (1, 1, {"FY2026 Q1": 1})
    assert bank.median_days_first_sign_to_referral == 40
    cga = referral_kpis(store, people.cga)
    assert (cga.total, cga.by_route["信用保証協会"]) == (1, 1)
    assert referral_kpis(store, people.cga_other).median_days_first_sign_to_referral is None
    # A period.
    q2_q3 = referral_kpis(store, people.council, since=date(2026, 7, 1), until=date(2026, 12, 31))
    assert (q2_q3.total, q2_q3.by_route["士業"], q2_q3.by_route["その他"]) == (2, 1, 1)


@pytest.mark.parametrize("key", ["8000012010003",  # a check digit that does not add up
                                 "800001201000", "free text", "bank_16:A1", "bank_0116:", "x:1",
                                 "bank_0116:A\x001"])
def test_a_manual_referral_names_a_business_as_the_warehouse_does(store, people, key):
    """A 法人番号 with its check digit, or <institution>:<customer number> for a sole
    proprietor: free text would open a case no flag or evidence can ever join."""
    with pytest.raises(InvalidInput, match="法人番号"):
        store.register_manual_referral(people.council, key, "士業", None)
    assert store.register_manual_referral(people.council, "bank_0116:K-77", "士業", None).business_key == "bank_0116:K-77"
