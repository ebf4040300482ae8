"""New work a user owns: the items of the web app's inbox (受信箱) and of the daily e-mail digest.

An item is not stored: it is read from the queue's own rows, in SQL, in the user's scope (the
same `scope._scope` as the worklist, so no item ever names another institution's case). What
each role must act on:

| role | kind | from |
|---|---|---|
| bank reviewer, association analyst | `case_opened`: a case the nightly flags opened (within the monthly budget) | the case's creation row in `transitions` (actor `system`) |
| 〃 | `snooze_ended`: a snoozed case the nightly job woke (snooze over, or a new critical sign) | `transitions` snoozed → under_review by `system` |
| 〃 | `new_critical_sign`: a night's snapshot of an open case with a critical sign none of its earlier snapshots had | `evidence_snapshots` |
| 〃 | `referral_decided`: the council accepted or declined a referral the user's institution made | `transitions` referred → accepted / declined |
| 〃 | `document_requested`: a case's lead institution asked the user's institution for a document | `document_requests` (still requested) |
| 〃 | `document_overdue`: a document asked of, or by, the user's institution is past its due date | `document_requests` (still requested; when: the day after the due date, 0:00 in Japan) |
| council intake | `referral_received`: an institution referred a case, with consent | `transitions` consent_obtained → referred |
| administrator | `password_pending`: an active account whose password someone else set, not yet changed | `users.must_change_password` (when: its latest password event) |
| 〃 | `account_locked`: logins refused for a while after repeated failures | `account_events` login_throttled |

Case items are kept only while the case is open (a referral only while it awaits the council's
decision): work somebody has finished is not new work.
The queue has no assignment of a case to one person and no withdrawal of a referral, so there
are no items for either. Each item is named by its kind and the id of the row it comes from
(`ref_id`); the read state is per user (`notification_state.read_through` for "mark all as
read", `notification_reads` for single items; schema v9).

Timestamps are those the rows were written with (the transaction's start for a night's rows).
The digest runs after the nightly flags, so a night still being written is not half-counted.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Integer,
    Select,
    String,
    Text,
    cast,
    delete,
    exists,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    type_coerce,
    union_all,
    update,
)

from signals.queue.actors import User, acting_user
from signals.queue.clock import _aware
from signals.queue.lifecycle import OPEN_STATES, NotFound, Role, State
from signals.queue.nightly import SYSTEM
from signals.queue.schema import (
    account_events,
    cases,
    consent_withdrawals,
    document_requests,
    evidence_snapshots,
    notification_reads,
    notification_state,
    transitions,
    users,
)
from signals.queue.scope import _scope, _values
from signals.queue.store import QueueStore


class Kind(StrEnum):
    CASE_OPENED = "case_opened"
    SNOOZE_ENDED = "snooze_ended"
    NEW_CRITICAL_SIGN = "new_critical_sign"
    REFERRAL_DECIDED = "referral_decided"
    DOCUMENT_REQUESTED = "document_requested"
    DOCUMENT_OVERDUE = "document_overdue"
    REFERRAL_RECEIVED = "referral_received"
    REFERRAL_WITHDRAWN = "referral_withdrawn"
    PASSWORD_PENDING = "password_pending"
    ACCOUNT_LOCKED = "account_locked"


# The kinds each role gets, in the order the inbox and the digest count them.
CASE_KINDS = (Kind.CASE_OPENED, Kind.SNOOZE_ENDED, Kind.NEW_CRITICAL_SIGN, Kind.REFERRAL_DECIDED,
              Kind.DOCUMENT_REQUESTED, Kind.DOCUMENT_OVERDUE)
KINDS_OF: dict[Role, tuple[Kind, ...]] = {
    Role.BANK_REVIEWER: CASE_KINDS,
    Role.CGA_ANALYST: CASE_KINDS,
    Role.COUNCIL_INTAKE: (Kind.REFERRAL_RECEIVED, Kind.REFERRAL_WITHDRAWN),
    Role.ADMIN: (Kind.PASSWORD_PENDING, Kind.ACCOUNT_LOCKED),
}
KIND_JA = {
    Kind.CASE_OPENED: "新規案件", Kind.SNOOZE_ENDED: "保留終了", Kind.NEW_CRITICAL_SIGN: "新たな重大予兆",
    Kind.REFERRAL_DECIDED: "協議会の判断", Kind.REFERRAL_RECEIVED: "紹介受付",
    Kind.DOCUMENT_REQUESTED: "資料の依頼", Kind.DOCUMENT_OVERDUE: "資料の期限超過",
    Kind.REFERRAL_WITHDRAWN: "紹介の取下げ",
    Kind.PASSWORD_PENDING: "パスワード変更待ち", Kind.ACCOUNT_LOCKED: "ログイン一時停止",
}
KIND_EN = {
    Kind.CASE_OPENED: "New case", Kind.SNOOZE_ENDED: "Snooze ended", Kind.NEW_CRITICAL_SIGN: "New critical sign",
    Kind.REFERRAL_DECIDED: "Council decision", Kind.REFERRAL_RECEIVED: "Referral received",
    Kind.DOCUMENT_REQUESTED: "Document requested", Kind.DOCUMENT_OVERDUE: "Document overdue",
    Kind.REFERRAL_WITHDRAWN: "Referral withdrawn",
    Kind.PASSWORD_PENDING: "Password change pending", Kind.ACCOUNT_LOCKED: "Logins locked",
}
# The inbox shows the last month of items; older ones are in the worklist and the audit logs.
INBOX_DAYS = 30
INBOX_LIMIT = 200
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_AT = DateTime(timezone=True)


@dataclass(frozen=True)
class Item:
    kind: Kind
    ref_id: int  # the id of the row the item comes from (transition, snapshot, account event, user)
    at: datetime
    case_id: int | None
    business_key: str | None
    business_name: str | None
    subject: str | None  # the account, for an administrator's items
    detail: str | None  # the audit note, the new critical signs, the decision
    read: bool = False

    @property
    def signs(self) -> list[str]:
        """The critical signs of a `new_critical_sign` item's snapshot."""
        try:
            found = json.loads(self.detail or "[]")
        except ValueError:
            return []
        return [str(s) for s in found] if isinstance(found, list) else []


def _columns(kind: Kind, ref: Any, at: Any, *, case: bool = True, subject: Any = None,
             detail: Any = None) -> list[Any]:
    """The columns every kind's SELECT has, typed the same on both backends (a UNION needs it)."""
    return [
        cast(literal(kind.value), String(32)).label("kind"), cast(ref, Integer).label("ref_id"),
        type_coerce(at, _AT).label("at"),
        (cases.c.id if case else cast(null(), Integer)).label("case_id"),
        (cases.c.business_key if case else cast(null(), String(128))).label("business_key"),
        (cases.c.business_name if case else cast(null(), Text)).label("business_name"),
        (cast(subject, String(128)) if subject is not None else cast(null(), String(128))).label("subject"),
        (cast(detail, Text) if detail is not None else cast(null(), Text)).label("detail"),
    ]


def _open_case(actor: User) -> list[ColumnElement[bool]]:
    return [_scope(actor), cases.c.state.in_(_values(OPEN_STATES))]


def _new_sign_condition(conn: Connection) -> ColumnElement[bool]:
    """A snapshot with a critical sign that none of the case's earlier snapshots had, in the
    backend's own JSON functions (the lists are JSON arrays of sign ids)."""
    if conn.dialect.name == "postgresql":
        def elements(column: str, alias: str) -> str:
            return f"json_array_elements_text({column}::json) AS {alias}(value)"
    else:
        def elements(column: str, alias: str) -> str:
            return f"json_each({column}) AS {alias}"
    return text(
        f"EXISTS (SELECT 1 FROM {elements('evidence_snapshots.critical_signs', 'n')} "
        f"WHERE NOT EXISTS (SELECT 1 FROM evidence_snapshots AS p, {elements('p.critical_signs', 'o')} "
        "WHERE p.case_id = evidence_snapshots.case_id AND p.as_of < evidence_snapshots.as_of "
        "AND o.value = n.value))")


def _overdue_at(conn: Connection) -> Any:
    """When a request became overdue: the day after its due date, 0:00 in Japan (15:00 UTC of
    the due date), in the backend's own date arithmetic."""
    if conn.dialect.name == "postgresql":
        return type_coerce(text("((document_requests.due_on + interval '15 hours') AT TIME ZONE 'UTC')"), _AT)
    return type_coerce(func.datetime(document_requests.c.due_on, "+15 hours"), _AT)


def _selects(conn: Connection, actor: User, since: datetime, now: datetime) -> list[Select[Any]]:
    """One SELECT per kind the actor's role gets, each in the actor's scope, after `since`."""
    kinds = KINDS_OF.get(actor.role, ())
    found: list[Select[Any]] = []
    t = transitions
    # The rows after `since` first, by their time's index: without it a planner without
    # statistics (SQLite) walks every open case of the scope for the few rows of the window.
    recent = t.c.id.in_(select(t.c.id).where(t.c.at > since))
    by_system = [recent, t.c.actor_user_id.is_(None), t.c.actor == SYSTEM]
    if Kind.CASE_OPENED in kinds:
        found.append(select(*_columns(Kind.CASE_OPENED, t.c.id, t.c.at, detail=t.c.note))
                     .select_from(t.join(cases, cases.c.id == t.c.case_id))
                     .where(t.c.from_state.is_(None), *by_system, *_open_case(actor)))
    if Kind.SNOOZE_ENDED in kinds:
        found.append(select(*_columns(Kind.SNOOZE_ENDED, t.c.id, t.c.at, detail=t.c.note))
                     .select_from(t.join(cases, cases.c.id == t.c.case_id))
                     .where(t.c.from_state == State.SNOOZED.value,
                            t.c.to_state == State.UNDER_REVIEW.value, *by_system, *_open_case(actor)))
    if Kind.NEW_CRITICAL_SIGN in kinds:
        s = evidence_snapshots
        found.append(select(*_columns(Kind.NEW_CRITICAL_SIGN, s.c.id, s.c.taken_at, detail=s.c.critical_signs))
                     .select_from(s.join(cases, cases.c.id == s.c.case_id))
                     .where(s.c.id.in_(select(s.c.id).where(s.c.taken_at > since)), s.c.kind == "update",
                            *_open_case(actor),
                            _new_sign_condition(conn)))
    if Kind.REFERRAL_DECIDED in kinds and actor.institution_id:
        found.append(select(*_columns(Kind.REFERRAL_DECIDED, t.c.id, t.c.at, detail=t.c.to_state))
                     .select_from(t.join(cases, cases.c.id == t.c.case_id))
                     .where(recent, t.c.from_state == State.REFERRED.value,
                            t.c.to_state.in_([State.ACCEPTED.value, State.DECLINED.value]),
                            cases.c.referring_institution_id == actor.institution_id, _scope(actor)))
    if Kind.DOCUMENT_REQUESTED in kinds and actor.institution_id:
        d = document_requests
        found.append(select(*_columns(Kind.DOCUMENT_REQUESTED, d.c.id, d.c.requested_at, detail=d.c.document))
                     .select_from(d.join(cases, cases.c.id == d.c.case_id))
                     .where(d.c.institution_id == actor.institution_id, d.c.status == "requested",
                            d.c.requested_at > since, *_open_case(actor)))
    if Kind.DOCUMENT_OVERDUE in kinds and actor.institution_id:
        d = document_requests
        due = _overdue_at(conn)
        found.append(select(*_columns(Kind.DOCUMENT_OVERDUE, d.c.id, due, detail=d.c.document))
                     .select_from(d.join(cases, cases.c.id == d.c.case_id))
                     .where(or_(d.c.institution_id == actor.institution_id,
                                d.c.requesting_institution_id == actor.institution_id),
                            d.c.status == "requested", due > since, due <= now, *_open_case(actor)))
    if Kind.REFERRAL_RECEIVED in kinds:
        found.append(select(*_columns(Kind.REFERRAL_RECEIVED, t.c.id, t.c.at, detail=cases.c.referring_institution_id))
                     .select_from(t.join(cases, cases.c.id == t.c.case_id))
                     .where(recent, t.c.from_state == State.CONSENT_OBTAINED.value,
                            t.c.to_state == State.REFERRED.value, cases.c.state == State.REFERRED.value,
                            _scope(actor)))
    if Kind.REFERRAL_WITHDRAWN in kinds and actor.institution_id:
        # The case itself is hidden from the council once consent is withdrawn: the item
        # names only the case number, as the council's withdrawn list does.
        w = consent_withdrawals
        found.append(select(*_columns(Kind.REFERRAL_WITHDRAWN, w.c.id, w.c.at, case=False,
                                      subject=literal("#") + cast(w.c.case_id, String(16))))
                     .where(w.c.council_id == actor.institution_id, w.c.at > since))
    if Kind.PASSWORD_PENDING in kinds:
        e = account_events
        latest = (select(func.max(e.c.at)).where(e.c.subject_user_id == users.c.id,
                                                 e.c.event.in_(["user_created", "password_changed"]))
                  .scalar_subquery())
        at = func.coalesce(latest, users.c.created_at, type_=_AT)
        found.append(select(*_columns(Kind.PASSWORD_PENDING, users.c.id, at, case=False, subject=users.c.username))
                     .where(users.c.must_change_password.is_(True), users.c.active.is_(True), at > since))
    if Kind.ACCOUNT_LOCKED in kinds:
        e = account_events
        found.append(select(*_columns(Kind.ACCOUNT_LOCKED, e.c.id, e.c.at, case=False,
                                      subject=func.coalesce(e.c.subject, e.c.actor),
                                      detail=e.c.detail))
                     .where(e.c.event == "login_throttled", e.c.at > since))
    return found


def _read_through(conn: Connection, actor: User) -> datetime:
    found = conn.execute(select(notification_state.c.read_through)
                         .where(notification_state.c.user_id == actor.id)).scalar_one_or_none()
    return _aware(found) if found is not None else _EPOCH


def _query(conn: Connection, actor: User, since: datetime,
           now: datetime | None = None) -> tuple[Any, ColumnElement[bool]]:
    """The actor's items after `since` as one subquery, and the condition "read" on it."""
    selects = _selects(conn, actor, since.astimezone(UTC), (now or datetime.now(UTC)).astimezone(UTC))
    if not selects:
        return None, literal(True)
    items = union_all(*selects).subquery("items")
    marked = exists().where(notification_reads.c.user_id == actor.id, notification_reads.c.kind == items.c.kind,
                            notification_reads.c.ref_id == items.c.ref_id)
    read = or_(items.c.at <= _read_through(conn, actor), marked)
    return items, read


def item_rows(conn: Connection, actor: User, since: datetime, *, unread_only: bool = False,
              limit: int | None = None, now: datetime | None = None) -> list[Item]:
    """The actor's items after `since`, newest first (on an open connection; see `items`)."""
    items, read = _query(conn, actor, since, now)
    if items is None:
        return []
    statement = select(items, read.label("read")).order_by(items.c.at.desc(), items.c.kind, items.c.ref_id.desc())
    if unread_only:
        statement = statement.where(~read)
    if limit is not None:
        statement = statement.limit(limit)
    return [Item(Kind(r.kind), r.ref_id, _aware(r.at), r.case_id, r.business_key, r.business_name, r.subject,
                 r.detail, bool(r.read)) for r in conn.execute(statement)]


def items(store: QueueStore, user: User, *, since: datetime | None = None, unread_only: bool = False,
          limit: int | None = INBOX_LIMIT) -> list[Item]:
    """The user's items after `since` (default: the inbox's last INBOX_DAYS days), newest first,
    each saying whether the user has read it."""
    since = since or store.now() - timedelta(days=INBOX_DAYS)
    with store._read() as conn:
        return item_rows(conn, acting_user(conn, user), since, unread_only=unread_only, limit=limit,
                         now=store.now())


def unread_count(store: QueueStore, user: User) -> int:
    """Unread items of the inbox's window: the number beside the header's inbox link."""
    since = store.now() - timedelta(days=INBOX_DAYS)
    with store._read() as conn:
        actor = acting_user(conn, user)
        found, read = _query(conn, actor, since, store.now())
        if found is None:
            return 0
        return conn.execute(select(func.count()).select_from(found).where(~read)).scalar_one()


def counts(found: list[Item]) -> dict[Kind, int]:
    """Items per kind, in the kinds' order, kinds without items left out."""
    tally: dict[Kind, int] = {}
    for kind in Kind:
        n = sum(1 for i in found if i.kind is kind)
        if n:
            tally[kind] = n
    return tally


def mark_read(store: QueueStore, user: User, kind: Kind | str, ref_id: int) -> None:
    """Mark one of the user's items read; NotFound for an item that is not the user's (another
    institution's case, a kind of another role), exactly like one that does not exist."""
    try:
        kind = Kind(kind)
    except ValueError:
        raise NotFound(f"no item {kind}:{ref_id}") from None
    now = store.now()
    with store._write() as conn:
        actor = acting_user(conn, user)
        found, _ = _query(conn, actor, now - timedelta(days=INBOX_DAYS), now)
        if found is None or conn.execute(select(found.c.ref_id).where(
                found.c.kind == kind.value, found.c.ref_id == ref_id)).first() is None:
            raise NotFound(f"no item {kind.value}:{ref_id}")
        already = conn.execute(select(notification_reads.c.ref_id).where(
            notification_reads.c.user_id == actor.id, notification_reads.c.kind == kind.value,
            notification_reads.c.ref_id == ref_id)).first()
        if already is None:
            conn.execute(insert(notification_reads).values(user_id=actor.id, kind=kind.value, ref_id=ref_id,
                                                           read_at=now))


def mark_all_read(store: QueueStore, user: User) -> None:
    """Everything up to now is read. The single marks are no longer needed: every item they
    name is older than now."""
    now = store.now()
    with store._write() as conn:
        actor = acting_user(conn, user)
        changed = conn.execute(update(notification_state).where(notification_state.c.user_id == actor.id)
                               .values(read_through=now)).rowcount
        if not changed:
            conn.execute(insert(notification_state).values(user_id=actor.id, read_through=now))
        conn.execute(delete(notification_reads).where(notification_reads.c.user_id == actor.id,
                                                      notification_reads.c.read_at <= now))


def link_of(item: Item) -> str:
    """The app path an item leads to."""
    if item.case_id is not None:
        return f"/cases/{item.case_id}"
    if item.kind is Kind.REFERRAL_WITHDRAWN:
        return "/council"  # the withdrawn referrals are listed there
    return "/admin/users" if item.kind is Kind.PASSWORD_PENDING else "/admin/audit"


__all__ = ["INBOX_DAYS", "Item", "KINDS_OF", "KIND_EN", "KIND_JA", "Kind", "counts", "item_rows",
           "items", "link_of", "mark_all_read", "mark_read", "unread_count"]
