"""`yocho digest` through the real command on a temporary SQLite queue with a night of flags:
--dry-run prints the digests and sends nothing; a real run sends them to a real SMTP server on
this machine (tests/smtp_server.py) when e-mail is on, and nothing when it is off (the default)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from signals.queue import QueueStore, seed_demo_users
from signals.queue.contacts import operator_set_email
from tests.signals.queue.conftest import AS_OF, BANK_A, BANK_B, FAST_SCRYPT, flag_row, flags_frame
from tests.smtp_server import SmtpServer
from yocho.cli import app


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("YOCHO_QUEUE__URL", "YOCHO_DATA_DIR", "YOCHO_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "data"
    folder.mkdir()
    # the night before now: the digest's first run covers the day before it
    with QueueStore(f"sqlite:///{folder / 'queue.sqlite'}", password_params=FAST_SCRYPT,
                    clock=lambda: datetime.now(UTC).replace(microsecond=0)) as store:
        seed_demo_users(store, [(BANK_A, "北陸第一銀行"), (BANK_B, "みずなみ銀行")])
        store.apply_flags(flags_frame(flag_row("7000010000001"), flag_row("7000010000002"),
                                      flag_row("7000020000003", institutions=[(BANK_B, "B-3")])), AS_OF, 6)
        operator_set_email(store, f"reviewer.{BANK_A}", "a@bank-a.example.jp")
    return folder


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


def yocho(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, ["digest", *args], env=env)


def test_dry_run_prints_and_sends_nothing_then_a_real_run_sends_once(data_dir: Path, smtp: SmtpServer) -> None:
    on = {"YOCHO_NOTIFICATIONS__ENABLED": "true", "YOCHO_NOTIFICATIONS__SMTP_HOST": smtp.host,
          "YOCHO_NOTIFICATIONS__SMTP_PORT": str(smtp.port), "YOCHO_NOTIFICATIONS__SMTP_SECURITY": "none",
          "YOCHO_NOTIFICATIONS__FROM_ADDRESS": "yocho@example.jp", "YOCHO_NOTIFICATIONS__SEND_HOUR": "0",
          "YOCHO_NOTIFICATIONS__BASE_URL": "https://review.example.jp"}
    dry = yocho("--dry-run", "--data-dir", str(data_dir))
    assert dry.exit_code == 0, dry.output
    assert "To: a@bank-a.example.jp" in dry.stdout and "新しい作業 2件" in dry.stdout
    assert "e-mail is off" in dry.output and "7000020000003" not in dry.stdout
    off = yocho("--data-dir", str(data_dir))
    assert off.exit_code == 0 and "notifications.enabled is off" in off.output and smtp.received == []
    sent = yocho("--data-dir", str(data_dir), env=on)
    assert sent.exit_code == 0, sent.output
    assert [m.recipients for m in smtp.received] == [["a@bank-a.example.jp"]]
    assert "https://review.example.jp/cases/" in smtp.received[0].body
    again = yocho("--data-dir", str(data_dir), env=on)
    assert again.exit_code == 0 and "1 already sent today" in again.output and len(smtp.received) == 1


def test_a_refusing_server_is_reported_with_status_1(data_dir: Path, smtp: SmtpServer) -> None:
    smtp.behaviour.refuse_connections = True
    failed = yocho("--data-dir", str(data_dir), env={
        "YOCHO_NOTIFICATIONS__ENABLED": "true", "YOCHO_NOTIFICATIONS__SMTP_HOST": smtp.host,
        "YOCHO_NOTIFICATIONS__SMTP_PORT": str(smtp.port), "YOCHO_NOTIFICATIONS__SMTP_SECURITY": "none",
        "YOCHO_NOTIFICATIONS__FROM_ADDRESS": "yocho@example.jp", "YOCHO_NOTIFICATIONS__SEND_HOUR": "0"})
    assert failed.exit_code == 1 and "not sent" in failed.output and "retried at the next run" in failed.output


def test_the_demo_reports_each_users_inbox_and_leaves_email_off(data_dir: Path, capsys: pytest.CaptureFixture) -> None:
    from yocho import cli
    from yocho.settings import Settings

    settings = Settings(data_dir=data_dir)
    assert settings.notifications.enabled is False  # the demo's settings: e-mail off
    cli._demo_inbox(settings)
    said = " ".join(capsys.readouterr().out.split())
    assert f"reviewer.{BANK_A} 2" in said and f"reviewer.{BANK_B} 1" in said and "admin" not in said
    assert "e-mail digests are off in the demo" in said
