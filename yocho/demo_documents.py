"""The demo's document requests (資料依頼): on a few open cases a guarantee association leads (its
guarantee is the largest exposure of the business, signals/priority.py), its analyst asks a bank
of the business for the latest trial balance and the cash-flow plan; the bank's reviewer sends
some, and one request is left past its due date. So the web app opens with the association's
requests on the case pages, the banks' 依頼された資料 lists and inboxes, received documents in
the evidence, and one overdue request.

Every step goes through the store as the users would (signals/queue/documents.py). The overdue
one is asked by a store whose clock reads three weeks ago, with a due date a week ago: a request
cannot be made with a due date already past, so the demo dates it back as if it had been made
then (its audit row says so by its time)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from signals.queue import OPEN_STATES, CaseQuery, QueueStore, authenticate
from signals.queue.auth import demo_password
from signals.queue.documents import mark_received, request_documents

# Cases the association's requests are made on: enough to show the lists, few enough to leave
# the rest of the worklists as the night left them.
MAX_CASES = 3
ASKED = ("trial_balance", "cash_flow_plan")


@dataclass(frozen=True)
class DemoRequest:
    case_id: int
    business_name: str | None
    business_key: str
    lead: str  # the association's id
    asked: str  # the bank's id
    received: int
    outstanding: int
    overdue: int


def _login(store: QueueStore, username: str):  # noqa: ANN202 - a User or None
    return authenticate(store, username, demo_password(username))


def request_demo_documents(store: QueueStore) -> list[DemoRequest]:
    """On up to MAX_CASES open cases an association leads with a bank on them, highest
    priority first: the analyst asks the bank for ASKED; on the first case the request is
    three weeks old and overdue, on the second the bank has sent the trial balance, on the
    third both (so a demo with two such cases still shows an overdue one)."""
    admin = _login(store, "admin")
    if admin is None:
        return []
    new = store.all_cases(admin, CaseQuery(states=tuple(OPEN_STATES), sort="priority", descending=True))
    chosen = [c for c in new if (c.lead_institution_id or "").startswith("cga_")
              and any(i.institution_id.startswith("bank_") for i in c.institutions)][:MAX_CASES]
    today = store.today()
    done: list[DemoRequest] = []
    for n, case in enumerate(chosen):
        lead = case.lead_institution_id or ""
        bank = min(i.institution_id for i in case.institutions if i.institution_id.startswith("bank_"))
        analyst, reviewer = _login(store, f"analyst.{lead}"), _login(store, f"reviewer.{bank}")
        if analyst is None or reviewer is None:
            continue
        if n == 0:
            # dated back: asked three weeks ago, due a week ago, never sent
            then = store.now() - timedelta(days=21)
            with QueueStore(store.engine.url.render_as_string(hide_password=False), clock=lambda at=then: at) as past:
                request_documents(past, analyst, case.id, bank, list(ASKED), today - timedelta(days=7),
                                  "デモ：直近の資金繰りの状況を確認したい")
            done.append(DemoRequest(case.id, case.business_name, case.business_key, lead, bank, 0, 2, 2))
            continue
        ids = request_documents(store, analyst, case.id, bank, list(ASKED), today + timedelta(days=14),
                                "デモ：保証協会が主担当として状況を確認します")
        sent = ids[:1] if n == 1 else ids
        for k, request_id in enumerate(sent):
            mark_received(store, reviewer, request_id, today, f"DEMO-{bank}-{case.id:05d}-{k + 1}.pdf")
        done.append(DemoRequest(case.id, case.business_name, case.business_key, lead, bank, len(sent),
                                len(ids) - len(sent), 0))
    return done
