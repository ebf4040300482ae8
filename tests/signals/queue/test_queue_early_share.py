"""The early share (早期着手率): of the cases the nightly flags opened, those opened before any
deterioration event of the business, from the first event the nights' evidence reported —
counted on a small hand-made set whose answer is known, on both backends."""
from __future__ import annotations

import json
from datetime import date

from signals.queue.kpis import early_share
from tests.signals.queue.conftest import AS_OF, BANK_B, flag_row, flags_frame

NEXT = date(2026, 11, 30)


def reported(key: str, first_event_on: str | None, *, deterioration: bool = True, **overrides) -> dict:
    """A flags row whose evidence reports the business's first deterioration event as of its night
    (signals/sql/evidence.sql); `deterioration=False`: a document from before it did."""
    row = flag_row(key, **overrides)
    document = json.loads(row["evidence"])
    if deterioration:
        document["deterioration"] = {"first_event_on": first_event_on,
                                     "first_event_type": "dpd90" if first_event_on else None}
    row["evidence"] = json.dumps(document, ensure_ascii=False)
    return row


def test_the_share_of_cases_opened_before_any_deterioration_event(store, people):
    store.apply_flags(flags_frame(
        reported("7000012050002", None),  # K1: no event → early
        reported("4000012090001", "2026-09-15"),  # K2: already in an event when opened → not early
        reported("5100012050002", None),  # K3: an event after opening, reported next night → early
        reported("3000012010001", None),  # K4: an event before opening, reported late → not early
        reported("2000012010002", None, deterioration=False),  # K5: its night did not say → left out
        reported("1000012010003", None, institutions=[(BANK_B, "B-1")]),  # K6: bank B's, early
    ), AS_OF, 6)
    store.apply_flags(flags_frame(
        reported("5100012050002", "2026-11-10", as_of=NEXT),
        reported("3000012010001", "2026-10-20", as_of=NEXT),
        reported("7000012050002", None, deterioration=False, as_of=NEXT),  # says nothing: K1 stays known
    ), NEXT, 6)
    mine = early_share(store, people.bank_a)
    assert (mine.opened, mine.early, mine.unknown) == (4, 2, 1) and mine.share == 0.5
    everyone = early_share(store, people.admin)
    assert (everyone.opened, everyone.early, everyone.unknown) == (5, 3, 1) and everyone.share == 0.6
    assert early_share(store, people.bank_b).share == 1.0
    # the range is of the dates the cases were opened (all on AS_OF)
    assert early_share(store, people.bank_a, since=AS_OF, until=AS_OF).opened == 4
    none = early_share(store, people.bank_a, since=date(2026, 11, 1))
    assert (none.opened, none.early, none.share) == (0, 0, None)


def test_manual_referrals_are_not_counted(store, people):
    store.register_manual_referral(people.council, "7000012050002", "professional", "税理士から", consent_on=AS_OF)
    assert (early_share(store, people.admin).opened, early_share(store, people.admin).unknown) == (0, 0)
