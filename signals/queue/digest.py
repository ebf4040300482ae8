"""The daily e-mail digest: each user with an address gets, once a day, the counts and a list of
the new work they own (signals/queue/notifications.py) that they have not read in the inbox.

`build_digest` is a plain function of the items (Japanese subject and body with an English
part, links to the web app at `notifications.base_url`); `send_digests` sends a day's digests
with smtplib over one connection, and records every attempt in `digest_runs`:

- a user's digest covers what came after the `through` of their latest sent one, or of the
  latest run that found nothing new for them (`empty`; the first covers the day before), so a
  failed attempt loses nothing: the next run sends it;
- a user who already has a sent digest for the day (in Japan) gets nothing more that day, so
  running it twice sends nothing twice;
- a refusal or an unreachable server is recorded with its error and the run carries on: it
  never raises for a send, so it never stops the night.

Off by default (`notifications.enabled`); before `notifications.send_hour` (Asia/Tokyo) a run
sends nothing. The SMTP password is read from the environment variable the settings name.
"""
from __future__ import annotations

import logging
import os
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from sqlalchemy import func, insert, select

from signals.queue.clock import TOKYO, _aware
from signals.queue.contacts import Recipient, recipients
from signals.queue.notifications import KIND_EN, KIND_JA, Item, counts, item_rows, link_of
from signals.queue.schema import digest_runs
from signals.queue.store import QueueStore

log = logging.getLogger(__name__)

FIRST_DIGEST_DAYS = 1  # a user's first digest covers the day before it


@dataclass(frozen=True)
class Digest:
    """One user's digest for a day: the message and what it covers."""
    recipient: Recipient
    day: date
    since: datetime
    through: datetime
    items: tuple[Item, ...]
    subject: str
    body: str

    @property
    def username(self) -> str:
        return self.recipient.user.username

    def message(self, sender: str) -> EmailMessage:
        msg = EmailMessage()
        msg["Subject"] = self.subject
        msg["From"] = sender
        msg["To"] = formataddr((self.recipient.user.display_name, self.recipient.email))
        msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
        msg.set_content(self.body, charset="utf-8")
        return msg


@dataclass
class DigestRun:
    """What a run did: digests sent and failed (username, error), users with nothing new,
    users who already had the day's digest; `note` when the run sent nothing on purpose."""
    day: date
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    nothing_new: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    note: str | None = None
    digests: list[Digest] = field(default_factory=list)
    empty: list[Digest] = field(default_factory=list)  # the users with nothing new, for the record


def _when(moment: datetime) -> str:
    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M")


def _label(item: Item) -> tuple[str, str]:
    """What an item is about, in Japanese and in English."""
    if item.case_id is not None:
        name = item.business_name or item.business_key or ""
        what = f"{name} ({item.business_key})" if item.business_name else name
        signs = ", ".join(item.signs) if item.signs else ""
        return (f"{what}{'：' + signs if signs else ''}", f"{what}{': ' + signs if signs else ''}")
    return item.subject or "", item.subject or ""


def build_digest(recipient: Recipient, found: list[Item], *, day: date, since: datetime, through: datetime,
                 base_url: str, max_items: int) -> Digest:
    """A user's digest of `found` (newest first): counts per kind and the first `max_items`
    items with their links, in Japanese, then in English."""
    tally = counts(found)
    n = len(found)
    shown = found[:max_items]
    base = base_url.rstrip("/")
    new_items = f"{n} new item{'s' if n != 1 else ''}"
    subject = f"【予兆】新しい作業 {n}件（{day.isoformat()}） / Yocho: {new_items}"
    ja = [f"{recipient.user.display_name} 様", "",
          f"{_when(since)} 以降、あなたの担当範囲で新しい作業が {n} 件あります（日本時間）。", ""]
    ja += [f"  {KIND_JA[k]}: {c}件" for k, c in tally.items()]
    ja.append("")
    for item in shown:
        label, _ = _label(item)
        ja += [f"- [{KIND_JA[item.kind]}] {label}（{_when(item.at)}）", f"  {base}{link_of(item)}"]
    if n > len(shown):
        ja.append(f"ほか {n - len(shown)} 件は受信箱でご覧ください。")
    ja += ["", f"受信箱: {base}/inbox", "",
           "このメールは予兆（早期警戒レビュー）から1日1回自動送信されています。受信箱で既読にした作業は次回から載りません。"]
    en = ["", "---- English ----", "",
          f"{new_items} in your scope since {_when(since)} (Japan time).", ""]
    en += [f"  {KIND_EN[k]}: {c}" for k, c in tally.items()]
    en.append("")
    for item in shown:
        _, label = _label(item)
        en += [f"- [{KIND_EN[item.kind]}] {label} ({_when(item.at)})", f"  {base}{link_of(item)}"]
    if n > len(shown):
        en.append(f"{n - len(shown)} more in your inbox.")
    en += ["", f"Inbox: {base}/inbox", "",
           "Sent once a day by Yocho (early-warning review). Items you mark read in the inbox are left out."]
    return Digest(recipient, day, since, through, tuple(found), subject, "\n".join(ja + en) + "\n")


def due_digests(store: QueueStore, notifications: Any, *, now: datetime | None = None) -> DigestRun:
    """The digests a run would send now (nothing is sent or recorded): one per active user with
    an address, no sent digest today and unread items since their last digest."""
    now = _aware(now or store.now())
    day = now.astimezone(TOKYO).date()
    run = DigestRun(day)
    for recipient in recipients(store):
        user = recipient.user
        with store._read() as conn:
            sent_today = conn.execute(select(func.count()).select_from(digest_runs).where(
                digest_runs.c.user_id == user.id, digest_runs.c.day == day,
                digest_runs.c.status == "sent")).scalar_one()
            if sent_today:
                run.already_sent.append(user.username)
                continue
            last = conn.execute(select(func.max(digest_runs.c.through)).where(
                digest_runs.c.user_id == user.id, digest_runs.c.status.in_(["sent", "empty"]))).scalar_one_or_none()
            since = _aware(last) if last is not None else now - timedelta(days=FIRST_DIGEST_DAYS)
            found = [i for i in item_rows(conn, user, since, unread_only=True, now=now) if i.at <= now]
        if not found:
            run.nothing_new.append(user.username)
            run.empty.append(Digest(recipient, day, since, now, (), "", ""))
            continue
        run.digests.append(build_digest(recipient, found, day=day, since=since, through=now,
                                        base_url=notifications.base_url, max_items=notifications.max_items))
    return run


def _connect(notifications: Any) -> smtplib.SMTP:
    host, port, timeout = notifications.smtp_host, notifications.smtp_port, notifications.smtp_timeout_seconds
    if notifications.smtp_security == "ssl":
        server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, port, timeout=timeout)
        if notifications.smtp_security == "starttls":
            server.starttls(context=ssl.create_default_context())
    if notifications.smtp_username:
        password = os.environ.get(notifications.smtp_password_env)
        if not password:
            server.close()
            raise smtplib.SMTPException(f"smtp_username is set but ${notifications.smtp_password_env} is empty")
        server.login(notifications.smtp_username, password)
    return server


def _record(store: QueueStore, digest: Digest, status: str, error: str | None) -> None:
    with store._write() as conn:
        conn.execute(insert(digest_runs).values(
            user_id=digest.recipient.user.id, day=digest.day, since=digest.since, through=digest.through,
            item_count=len(digest.items), status=status, at=store.now(), address=digest.recipient.email,
            error=(error or None) and error[:2000]))


def send_digests(store: QueueStore, notifications: Any, *, now: datetime | None = None) -> DigestRun:
    """Send the day's due digests (see `due_digests`) and record each attempt. Never raises for
    an SMTP or network failure: it is recorded, logged and retried by the next run."""
    now = _aware(now or store.now())
    if not notifications.enabled:
        return DigestRun(now.astimezone(TOKYO).date(), note="notifications.enabled is off: nothing sent")
    if not notifications.from_address:
        return DigestRun(now.astimezone(TOKYO).date(), note="notifications.from_address is empty: nothing sent")
    local = now.astimezone(TOKYO)
    if local.hour < notifications.send_hour:
        return DigestRun(local.date(), note=f"before {notifications.send_hour:02d}:00 in Japan: nothing sent yet")
    run = due_digests(store, notifications, now=now)
    server: smtplib.SMTP | None = None
    try:
        for digest in run.digests:
            try:
                if server is None:
                    server = _connect(notifications)
                server.send_message(digest.message(notifications.from_address), to_addrs=[digest.recipient.email])
            except (smtplib.SMTPException, OSError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.warning("digest for %s not sent: %s", digest.username, error)
                run.failed.append((digest.username, error))
                _record(store, digest, "failed", error)
                if server is not None and not isinstance(exc, smtplib.SMTPRecipientsRefused):
                    _quit(server)  # a broken connection: the next digest opens a new one
                    server = None
                continue
            run.sent.append(digest.username)
            _record(store, digest, "sent", None)
    finally:
        if server is not None:
            _quit(server)
    for digest in run.empty:  # the next digest starts from here, not from a day before
        _record(store, digest, "empty", None)
    return run


def _quit(server: smtplib.SMTP) -> None:
    try:
        server.quit()
    except (smtplib.SMTPException, OSError):
        server.close()
