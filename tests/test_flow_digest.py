"""The `digest` flow (flows/digest.py) run by Prefect against a temporary test server: it sends
the day's digests to a real SMTP server on this machine, reports them in its artifact, and a
refusing server fails no run."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from prefect.testing.utilities import prefect_test_harness

from signals.queue import QueueStore, seed_demo_users
from signals.queue.contacts import operator_set_email
from tests.signals.queue.conftest import AS_OF, BANK_A, BANK_B, FAST_SCRYPT, flag_row, flags_frame
from tests.smtp_server import SmtpServer
from yocho.settings import NotificationSettings, QueueSettings, Settings


@pytest.mark.slow  # a Prefect test server: 20-60 s on this machine
def test_the_flow_sends_reports_and_never_fails_on_mail(tmp_path: Path) -> None:
    from flows.digest import digest_flow

    url = f"sqlite:///{tmp_path / 'queue.sqlite'}"
    with QueueStore(url, password_params=FAST_SCRYPT, clock=lambda: datetime.now(UTC)) as store:
        seed_demo_users(store, [(BANK_A, "北陸第一銀行"), (BANK_B, "みずなみ銀行")])
        store.apply_flags(flags_frame(flag_row("7000010000001"), flag_row("7000020000002",
                                                                          institutions=[(BANK_B, "B-2")])), AS_OF, 6)
        operator_set_email(store, f"reviewer.{BANK_A}", "a@bank-a.example.jp")
        operator_set_email(store, f"reviewer.{BANK_B}", "b@bank-b.example.jp")
    smtp = SmtpServer().start()
    try:
        def settings() -> Settings:
            return Settings(data_dir=tmp_path, queue=QueueSettings(url=url), notifications=NotificationSettings(
                enabled=True, smtp_host=smtp.host, smtp_port=smtp.port, smtp_security="none",
                from_address="yocho@example.jp", send_hour=0))

        smtp.behaviour.refuse_recipients.add("b@bank-b.example.jp")
        with prefect_test_harness(server_startup_timeout=120):
            first = digest_flow(settings())
            assert first["sent"] == [f"reviewer.{BANK_A}"]
            assert [f["user"] for f in first["failed"]] == [f"reviewer.{BANK_B}"]
            smtp.behaviour.refuse_recipients.clear()
            second = digest_flow(settings())  # the refused one is retried; the sent one not again
            assert second["sent"] == [f"reviewer.{BANK_B}"] and second["already_sent"] == 1
        assert sorted(r for m in smtp.received for r in m.recipients) == ["a@bank-a.example.jp", "b@bank-b.example.jp"]
        assert "7000020000002" not in next(m.body for m in smtp.received if m.recipients == ["a@bank-a.example.jp"])
    finally:
        smtp.stop()


def test_the_artifact_names_the_failed_and_the_note() -> None:
    from flows.digest import digest_markdown

    text = digest_markdown({"day": "2026-11-25", "sent": ["a"], "failed": [{"user": "b", "error": "550 | no"}],
                            "nothing_new": 2, "already_sent": 0, "note": None})
    assert "1 sent, 1 failed, 2 with nothing new" in text and "| b | 550 / no |" in text
