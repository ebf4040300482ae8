"""The demo's referrals: a few of the night's new cases taken through consent to the council of
their prefecture, so that the review web app opens on referrals waiting at more than one
prefecture's council (each with its own intake user, signals/queue/auth.py `seed_demo_users`).

Each case is moved by the demo user of its lead institution, as a reviewer would: review, the
owner's consent recorded in full (in writing, from the representative, a document reference,
the information shared), then the referral, which the store routes to the council of the
business's prefecture (signals/queue/councils.py)."""
from __future__ import annotations

from dataclasses import dataclass

from signals.queue import CaseQuery, QueueStore, State, authenticate
from signals.queue.auth import demo_password
from signals.queue.consent import CATEGORIES, ConsentRecord

# Cases referred per council and councils reached at most: enough to show the per-prefecture
# intake, few enough to leave the worklists to the person trying the demo.
PER_COUNCIL = 2
MAX_COUNCILS = 3
# What each referral shares, in turn: everything, and then without 財務 and 口座動向, so the
# councils' pages show the consent's categories at work.
SHARED = (tuple(CATEGORIES), ("repayment", "signs"))


@dataclass(frozen=True)
class DemoReferral:
    case_id: int
    business_key: str
    business_name: str | None
    referred_by: str
    council_id: str
    notice: str | None
    shared: tuple[str, ...]


def _login(store: QueueStore, username: str):  # noqa: ANN202 - a User or None
    return authenticate(store, username, demo_password(username))


def refer_demo_cases(store: QueueStore) -> list[DemoReferral]:
    """Refer the highest-priority new cases of up to MAX_COUNCILS prefectures whose council the
    demo registered (PER_COUNCIL each); the business's prefecture decides, the lead
    institution's when it has none."""
    admin = _login(store, "admin")
    if admin is None:
        return []
    registered = store.list_institutions(admin)
    # the prefectures whose council the demo registered with an intake user, and where each
    # institution is: only referrals someone can log in to see are made
    councils = {i.prefecture_code for i in registered if i.kind == "council"}
    home = {i.id: i.prefecture_code for i in registered}
    new = store.all_cases(admin, CaseQuery(states=(State.NEW,), sort="priority", descending=True))
    chosen: dict[int, list] = {}
    for case in new:
        place = case.prefecture_code or home.get(case.lead_institution_id or "")
        if place not in councils or (place not in chosen and len(chosen) >= MAX_COUNCILS):
            continue
        if len(chosen.setdefault(place, [])) < PER_COUNCIL and case.lead_institution_id:
            chosen[place].append(case)
    done: list[DemoReferral] = []
    today = store.today()
    for n, case in enumerate(c for cases in chosen.values() for c in cases):
        lead = case.lead_institution_id or ""
        user = _login(store, f"reviewer.{lead}" if lead.startswith("bank_") else f"analyst.{lead}")
        if user is None:
            continue
        shared = SHARED[n % len(SHARED)]
        moved = store.transition(user, case.id, State.UNDER_REVIEW, expected_version=case.version)
        moved = store.transition(user, case.id, State.CONSENT_OBTAINED, expected_version=moved.version,
                                 consent=ConsentRecord.of(method="written", obtained_on=today,
                                                          obtained_from="代表取締役（デモ）",
                                                          document_ref=f"DEMO-同意書-{case.id:05d}", shared=shared),
                                 note="デモ：代表者に説明し、協議会への情報提供に書面で同意を得た")
        moved = store.transition(user, case.id, State.REFERRED, expected_version=moved.version)
        detail = store.get_case(admin, case.id)
        done.append(DemoReferral(case.id, case.business_key, case.business_name, user.username,
                                 detail.council_id or "", detail.council_notice, shared))
    return done
