"""The daily e-mail digest (signals/queue/digest.py) against a real SMTP server on this machine
(tests/smtp_server.py): who receives one, what it says, nothing twice the same day, failures
recorded and retried. Both backends."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from signals.queue import State
from signals.queue.contacts import emails, operator_set_email, set_email
from signals.queue.digest import due_digests, send_digests
from signals.queue.lifecycle import Forbidden, InvalidInput
from signals.queue.notifications import mark_all_read
from signals.queue.schema import digest_runs
from tests.signals.queue.conftest import BANK_A, BANK_B, CGA
from tests.smtp_server import SmtpServer
from yocho.settings import NotificationSettings

BASE = "https://yocho.example.jp"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


def _settings(smtp: SmtpServer, **overrides) -> NotificationSettings:
    return NotificationSettings(**{"enabled": True, "smtp_host": smtp.host, "smtp_port": smtp.port,
                                   "smtp_security": "none", "from_address": "yocho@example.jp",
                                   "base_url": BASE + "/", "send_hour": 7, "max_items": 2, **overrides})


@pytest.fixture
def night(store, people, work, make_flags, clock):
    """Three cases of bank A (one shared with the CGA), one of bank B; addresses for bank A,
    bank B (nothing new for it after it reads its inbox), the CGA's analyst and council intake."""
    ids = work.open(make_flags(
        make_flags.row("7000010000001"),
        make_flags.row("7000010000002"),
        make_flags.row("7000030000003", institutions=[(BANK_A, "A-3"), (CGA, "G-3")]),
        make_flags.row("7000020000004", institutions=[(BANK_B, "B-4")]),
    ))
    for user, address in ((people.bank_a, "a@bank-a.example.jp"), (people.bank_b, "b@bank-b.example.jp"),
                          (people.cga, "analyst@cga.example.jp"), (people.council, "intake@council.example.jp")):
        set_email(store, people.admin, user.username, address)
    mark_all_read(store, people.bank_b)
    clock.now = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)  # 07:30 on the 25th in Japan
    return ids


def test_each_user_with_new_work_gets_one_digest_of_their_own_scope(store, people, smtp, night):
    run = send_digests(store, _settings(smtp))
    assert sorted(run.sent) == [f"analyst.{CGA}", f"reviewer.{BANK_A}"] and run.failed == []
    # nothing new: bank B has read its inbox, council intake has no referral; no address: admin
    assert sorted(run.nothing_new) == sorted([people.council.username, f"reviewer.{BANK_B}"])
    by_rcpt = {m.recipients[0]: m for m in smtp.received}
    assert sorted(by_rcpt) == ["a@bank-a.example.jp", "analyst@cga.example.jp"]
    assert all(len(m.recipients) == 1 for m in smtp.received)
    bank_a = by_rcpt["a@bank-a.example.jp"]
    assert bank_a.sender == "yocho@example.jp"
    assert bank_a.message["Subject"] == "【予兆】新しい作業 3件（2026-11-25） / Yocho: 3 new items"
    body = bank_a.body
    assert "新しい作業が 3 件あります" in body and "新規案件: 3件" in body and "New case: 3" in body
    # two items listed (max_items), the rest pointed to the inbox, in both languages
    assert body.count(f"{BASE}/cases/") == 4 and "ほか 1 件は受信箱で" in body and "1 more in your inbox" in body
    assert f"受信箱: {BASE}/inbox" in body and f"Inbox: {BASE}/inbox" in body
    assert body.index("---- English ----") > body.index("新規案件")
    # never another institution's business
    assert "7000020000004" not in body and f"/cases/{night['7000020000004']}" not in body
    analyst = by_rcpt["analyst@cga.example.jp"].body
    assert "7000030000003" in analyst and "7000010000001" not in analyst and "新規案件: 1件" in analyst


def test_a_second_run_the_same_day_sends_nothing_and_the_next_day_only_what_is_new(
        store, people, work, make_flags, smtp, night, clock):
    settings = _settings(smtp)
    assert len(send_digests(store, settings).sent) == 2
    again = send_digests(store, settings)
    assert again.sent == [] and sorted(again.already_sent) == [f"analyst.{CGA}", f"reviewer.{BANK_A}"]
    assert len(smtp.received) == 2
    # Next day: bank A refers a case; council intake gets one referral, bank A nothing new.
    clock.advance(hours=2)
    work.move(night["7000010000001"], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)
    clock.advance(days=1)
    run = send_digests(store, settings)
    assert run.sent == [people.council.username]
    assert sorted(run.nothing_new) == sorted([f"analyst.{CGA}", f"reviewer.{BANK_A}", f"reviewer.{BANK_B}"])
    council = smtp.received[-1]
    assert council.recipients == ["intake@council.example.jp"] and "紹介受付: 1件" in council.body
    assert "7000010000001" in council.body and "7000010000002" not in council.body


def test_a_refusal_is_recorded_and_retried_at_the_next_run(store, people, smtp, night):
    smtp.behaviour.refuse_recipients.add("a@bank-a.example.jp")
    run = send_digests(store, _settings(smtp))
    assert run.sent == [f"analyst.{CGA}"]
    assert [(u, "SMTPRecipientsRefused" in e) for u, e in run.failed] == [(f"reviewer.{BANK_A}", True)]
    with store.engine.connect() as conn:
        rows = conn.execute(select(digest_runs.c.status, digest_runs.c.address, digest_runs.c.item_count,
                                   digest_runs.c.error).where(digest_runs.c.status != "empty")
                            .order_by(digest_runs.c.id)).all()
    assert [(r.status, r.address, r.item_count) for r in rows] == [
        ("failed", "a@bank-a.example.jp", 3), ("sent", "analyst@cga.example.jp", 1)]
    assert "550" in rows[0].error
    smtp.behaviour.refuse_recipients.clear()
    retry = send_digests(store, _settings(smtp))
    assert retry.sent == [f"reviewer.{BANK_A}"] and retry.already_sent == [f"analyst.{CGA}"]
    assert "3件" in smtp.received[-1].message["Subject"]


def test_an_unreachable_or_refusing_server_never_raises(store, people, smtp, night):
    smtp.behaviour.refuse_connections = True
    run = send_digests(store, _settings(smtp))
    assert run.sent == [] and len(run.failed) == 2 and smtp.received == []
    closed = _settings(smtp, smtp_port=smtp.port, smtp_host="127.0.0.1", smtp_timeout_seconds=2)
    smtp.stop()
    run = send_digests(store, closed)
    assert run.sent == [] and [u for u, _ in run.failed] == [f"reviewer.{BANK_A}", f"analyst.{CGA}"]
    with store.engine.connect() as conn:
        assert conn.execute(select(digest_runs.c.status).where(digest_runs.c.status != "empty")
                            ).scalars().all() == ["failed"] * 4


def test_off_by_default_and_not_before_the_hour(store, people, smtp, night, clock):
    assert NotificationSettings().enabled is False
    assert send_digests(store, NotificationSettings()).note == "notifications.enabled is off: nothing sent"
    assert send_digests(store, _settings(smtp, from_address="")).sent == []
    clock.now = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)  # 06:00 in Japan
    early = send_digests(store, _settings(smtp))
    assert early.sent == [] and "before 07:00" in (early.note or "")
    assert smtp.received == []
    # what would be sent, without sending or recording it
    dry = due_digests(store, _settings(smtp))
    assert [d.username for d in dry.digests] == [f"reviewer.{BANK_A}", f"analyst.{CGA}"]
    with store.engine.connect() as conn:
        assert conn.execute(select(digest_runs)).all() == []


def test_addresses_are_set_by_administrators_or_the_operator(store, people):
    with pytest.raises(Forbidden):
        set_email(store, people.bank_a, people.bank_a.username, "me@example.jp")
    with pytest.raises(InvalidInput):
        set_email(store, people.admin, people.bank_a.username, "not an address")
    with pytest.raises(InvalidInput):
        set_email(store, people.admin, people.bank_a.username, "a@example.jp\r\nBcc: x@evil.example")
    with pytest.raises(InvalidInput):
        operator_set_email(store, "nobody", "a@example.jp")
    assert operator_set_email(store, people.cga.username, "  analyst@cga.example.jp ") == "analyst@cga.example.jp"
    assert emails(store, people.admin) == {people.cga.username: "analyst@cga.example.jp"}
    set_email(store, people.admin, people.cga.username, "")
    assert emails(store, people.admin) == {}
    with pytest.raises(Forbidden):
        emails(store, people.council)
