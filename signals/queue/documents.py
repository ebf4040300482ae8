"""Documents the lead institution of a case asks the business's other lenders to send (資料依頼).

Since COVID many small businesses have the guarantee association as their largest creditor,
and then it leads the case (signals/priority.py). The March 2025 package asks associations and
banks to manage warning signs jointly: the lead tells the other lenders of the business that a
case is open by asking them for what it needs -- the latest trial balance, the cash-flow plan,
the repayment schedule, the latest financial statements -- each with a due date.

Rules, all in the data layer:

- only the users of the case's lead institution (`cases.lead_institution_id`) request or
  waive, and only of another institution on the case (`case_institutions`);
- only the asked institution's users mark a request received, with the day and what was sent
  (a file name or a document number: the document travels by the institutions' own channels);
- a request is read in the case's scope (`scope._scope`): an institution not on the case sees
  none of them, a council none at all (the lenders' working papers, not the referral);
- every change is one row in the case audit log (`transitions`, state unchanged, reason code
  `document_requested` / `document_received` / `document_waived`), in the same transaction;
- a request is overdue when it is still requested after its due date (today in Japan);
- requests are made and answered on open cases only: a closed case's audit log stays as it
  was closed.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, and_, case, func, insert, select, update
from sqlalchemy.orm import aliased

from signals.queue.actors import User, acting_user
from signals.queue.clock import _aware
from signals.queue.lifecycle import INSTITUTION_ROLES, OPEN_STATES, Conflict, Forbidden, InvalidInput, NotFound, Role
from signals.queue.schema import OWNER_INSTITUTIONS, case_institutions, cases, document_requests, institutions, transitions, users
from signals.queue.scope import _scope, _values
from signals.queue.store import QueueStore

# The documents a lead asks for most, in the order the form offers them; `other` needs a note.
DOCUMENTS: dict[str, tuple[str, str]] = {
    "trial_balance": ("最新の試算表", "latest trial balance"),
    "cash_flow_plan": ("資金繰り表", "cash-flow plan"),
    "repayment_schedule": ("返済予定表", "repayment schedule"),
    "financial_statements": ("直近決算書", "latest financial statements"),
    "other": ("その他", "other"),
}
STATUSES = ("requested", "received", "waived")
STATUS_JA = {"requested": "依頼中", "received": "受領済", "waived": "取下げ"}
REQUESTED, RECEIVED, WAIVED = "document_requested", "document_received", "document_waived"
MAX_TEXT = 500


@dataclass(frozen=True)
class DocumentRequest:
    id: int
    case_id: int
    business_key: str
    business_name: str | None
    institution_id: str  # asked
    institution_name: str
    document: str
    note: str | None
    due_on: date
    status: str
    requested_by: str  # username
    requesting_institution_id: str
    requesting_institution_name: str
    requested_on: date
    received_on: date | None
    received_ref: str | None
    waived_on: date | None
    waive_reason: str | None
    updated_at: datetime
    overdue: bool  # still requested after its due date (today in Japan)

    @property
    def document_ja(self) -> str:
        return self.note if self.document == "other" and self.note else DOCUMENTS[self.document][0]

    @property
    def document_en(self) -> str:
        return self.note if self.document == "other" and self.note else DOCUMENTS[self.document][1]

    @property
    def open(self) -> bool:
        return self.status == "requested"


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{MAX_TEXT}文字以内で入力してください (at most {MAX_TEXT} characters)")
    return value or None


def _institution_actor(conn: Connection, user: User) -> User:
    actor = acting_user(conn, user)
    if actor.role not in INSTITUTION_ROLES or not actor.institution_id:
        raise Forbidden("資料の依頼と受領は金融機関・保証協会の担当者が行います "
                        "(only bank reviewers and association analysts request or send documents)")
    return actor


def _open_case(conn: Connection, actor: User, case_id: int, *, lock: bool = False):  # type: ignore[no-untyped-def]
    statement = select(cases).where(cases.c.id == case_id, _scope(actor))
    if lock and conn.dialect.name == "postgresql":
        statement = statement.with_for_update()
    row = conn.execute(statement).first()
    if row is None:
        raise NotFound(f"case {case_id} not found")
    if row.state not in _values(OPEN_STATES) or row.owner != OWNER_INSTITUTIONS:
        raise InvalidInput("終了した案件には資料を依頼できません (the case is closed)")
    return row


def _audit(conn: Connection, actor: User, row, note: str, code: str, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """One row of the case audit log; the state is the case's own, unchanged."""
    conn.execute(insert(transitions).values(
        case_id=row.id, at=now, actor_user_id=actor.id, actor=actor.username, actor_role=actor.role.value,
        from_state=row.state, to_state=row.state, note=note, reason_code=code))


def _name(conn: Connection, institution_id: str) -> str:
    return conn.execute(select(institutions.c.name).where(institutions.c.id == institution_id)).scalar_one_or_none() \
        or institution_id


def request_documents(store: QueueStore, user: User, case_id: int, institution_id: str,
                      documents: Sequence[str], due_on: date, note: str | None = None) -> list[int]:
    """The lead institution asks `institution_id` (another institution on the case) for
    `documents` by `due_on`; one request per document. Returns their ids."""
    documents = list(dict.fromkeys(documents))
    if not documents:
        raise InvalidInput("依頼する資料を選んでください (choose at least one document)")
    unknown = [d for d in documents if d not in DOCUMENTS]
    if unknown:
        raise InvalidInput(f"不明な資料です: {', '.join(unknown)} (unknown document)")
    note = _clean(note)
    if "other" in documents and not note:
        raise InvalidInput("「その他」の資料は内容を記入してください (describe the other document)")
    today, now = store.today(), store.now()
    if due_on < today:
        raise InvalidInput("期限が過去の日付です (the due date is in the past)")
    with store._write() as conn:
        actor = _institution_actor(conn, user)
        row = _open_case(conn, actor, case_id, lock=True)
        if row.lead_institution_id != actor.institution_id:
            raise Forbidden("資料を依頼できるのは主担当の機関だけです (only the lead institution requests documents)")
        if institution_id == actor.institution_id or conn.execute(select(case_institutions.c.institution_id).where(
                case_institutions.c.case_id == case_id,
                case_institutions.c.institution_id == institution_id)).first() is None:
            raise InvalidInput("依頼先はこの案件の他の取引金融機関から選んでください "
                               "(ask another institution of this case)")
        asked = _name(conn, institution_id)
        ids = []
        for document in documents:  # a handful, chosen on a form
            ids.append(conn.execute(insert(document_requests).values(
                case_id=case_id, institution_id=institution_id, document=document,
                note=note, due_on=due_on, status="requested",
                requested_by=actor.id, requesting_institution_id=actor.institution_id, requested_on=today,
                requested_at=now, updated_at=now).returning(document_requests.c.id)).scalar_one())
            label = note if document == "other" else DOCUMENTS[document][0]
            _audit(conn, actor, row, f"資料依頼 #{ids[-1]}: {asked}へ{label}（期限 {due_on.isoformat()}）"
                   + (f": {note}" if note and document != "other" else ""), REQUESTED, now)
        return ids


def _request_row(conn: Connection, actor: User, request_id: int):  # type: ignore[no-untyped-def]
    found = conn.execute(select(document_requests).join(cases, cases.c.id == document_requests.c.case_id)
                         .where(document_requests.c.id == request_id, _scope(actor))).first()
    if found is None:
        raise NotFound(f"document request {request_id} not found")
    return found


def mark_received(store: QueueStore, user: User, request_id: int, received_on: date, reference: str) -> None:
    """The asked institution sent the document on `received_on`; `reference`: the file name or
    document number of what it sent."""
    reference = _clean(reference)
    if not reference:
        raise InvalidInput("送付した資料のファイル名か文書番号を入力してください (the file name or document number)")
    today, now = store.today(), store.now()
    if received_on > today:
        raise InvalidInput("受領日が未来の日付です (the date is in the future)")
    with store._write() as conn:
        actor = _institution_actor(conn, user)
        found = _request_row(conn, actor, request_id)
        if found.institution_id != actor.institution_id:
            raise Forbidden("受領を記録できるのは依頼された機関だけです (only the institution asked marks it received)")
        if received_on < found.requested_on:
            raise InvalidInput("受領日が依頼日より前です (the date is before the request)")
        row = _open_case(conn, actor, found.case_id, lock=True)
        changed = conn.execute(update(document_requests).where(
            document_requests.c.id == request_id, document_requests.c.status == "requested").values(
            status="received", received_on=received_on, received_ref=reference, received_by=actor.id, updated_at=now))
        if changed.rowcount != 1:
            raise Conflict(f"この依頼は既に{STATUS_JA[found.status]}です (the request is already {found.status})")
        label = found.note if found.document == "other" else DOCUMENTS[found.document][0]
        _audit(conn, actor, row, f"資料受領 #{request_id}: {label}（{received_on.isoformat()}、{reference}）",
               RECEIVED, now)


def waive(store: QueueStore, user: User, request_id: int, reason: str | None = None) -> None:
    """The lead no longer needs a requested document."""
    reason = _clean(reason)
    today, now = store.today(), store.now()
    with store._write() as conn:
        actor = _institution_actor(conn, user)
        found = _request_row(conn, actor, request_id)
        row = _open_case(conn, actor, found.case_id, lock=True)
        if row.lead_institution_id != actor.institution_id:
            raise Forbidden("依頼を取り下げられるのは主担当の機関だけです (only the lead institution waives a request)")
        changed = conn.execute(update(document_requests).where(
            document_requests.c.id == request_id, document_requests.c.status == "requested").values(
            status="waived", waived_on=today, waived_by=actor.id, waive_reason=reason, updated_at=now))
        if changed.rowcount != 1:
            raise Conflict(f"この依頼は既に{STATUS_JA[found.status]}です (the request is already {found.status})")
        label = found.note if found.document == "other" else DOCUMENTS[found.document][0]
        _audit(conn, actor, row, f"資料依頼の取下げ #{request_id}: {label}" + (f": {reason}" if reason else ""),
               WAIVED, now)


def _select(today: date):  # type: ignore[no-untyped-def]
    d = document_requests
    asked, asking = aliased(institutions), aliased(institutions)
    overdue = case((and_(d.c.status == "requested", d.c.due_on < today), True), else_=False)
    return (select(d, cases.c.business_key, cases.c.business_name, asked.c.name.label("asked_name"),
                   asking.c.name.label("asking_name"), users.c.username.label("requester"),
                   overdue.label("overdue"))
            .select_from(d.join(cases, cases.c.id == d.c.case_id)
                         .join(asked, asked.c.id == d.c.institution_id)
                         .join(asking, asking.c.id == d.c.requesting_institution_id)
                         .join(users, users.c.id == d.c.requested_by)))


def _record(r) -> DocumentRequest:  # type: ignore[no-untyped-def]
    return DocumentRequest(
        r.id, r.case_id, r.business_key, r.business_name, r.institution_id, r.asked_name, r.document, r.note,
        r.due_on, r.status, r.requester, r.requesting_institution_id, r.asking_name, r.requested_on,
        r.received_on, r.received_ref, r.waived_on, r.waive_reason, _aware(r.updated_at), bool(r.overdue))


def case_requests(store: QueueStore, user: User, case_id: int) -> list[DocumentRequest]:
    """The requests of one case the user may see (NotFound outside its scope): every one of
    the case for its institutions and an administrator, none for a council's intake."""
    today = store.today()
    with store._read() as conn:
        actor = acting_user(conn, user)
        if conn.execute(select(cases.c.id).where(cases.c.id == case_id, _scope(actor))).first() is None:
            raise NotFound(f"case {case_id} not found")
        if actor.role is Role.COUNCIL_INTAKE:
            return []
        return [_record(r) for r in conn.execute(
            _select(today).where(document_requests.c.case_id == case_id).order_by(
                document_requests.c.requested_at, document_requests.c.id))]


def requested_of_me(store: QueueStore, user: User, *, open_only: bool = True,
                    limit: int = 200) -> list[DocumentRequest]:
    """The requests made of the user's institution (依頼された資料), on cases in its scope,
    earliest due first; by default only those still to send."""
    today = store.today()
    with store._read() as conn:
        actor = acting_user(conn, user)
        if actor.role not in INSTITUTION_ROLES or not actor.institution_id:
            return []
        statement = _select(today).where(document_requests.c.institution_id == actor.institution_id, _scope(actor))
        if open_only:
            statement = statement.where(document_requests.c.status == "requested",
                                        cases.c.state.in_(_values(OPEN_STATES)))
        return [_record(r) for r in conn.execute(
            statement.order_by(document_requests.c.due_on, document_requests.c.id).limit(limit))]


def open_count(store: QueueStore, user: User) -> tuple[int, int]:
    """(open, overdue) requests made of the user's institution on open cases in its scope, in
    one counting query: the header's count on every page (the list stops at its limit)."""
    today = store.today()
    with store._read() as conn:
        actor = acting_user(conn, user)
        if actor.role not in INSTITUTION_ROLES or not actor.institution_id:
            return 0, 0
        d = document_requests
        found = conn.execute(
            select(func.count(), func.coalesce(func.sum(case((d.c.due_on < today, 1), else_=0)), 0))
            .select_from(d.join(cases, cases.c.id == d.c.case_id))
            .where(d.c.institution_id == actor.institution_id, d.c.status == "requested",
                   cases.c.state.in_(_values(OPEN_STATES)), _scope(actor))).one()
        return int(found[0]), int(found[1])


__all__ = ["DOCUMENTS", "STATUSES", "STATUS_JA", "DocumentRequest", "case_requests", "mark_received",
           "open_count", "request_documents", "requested_of_me", "waive"]
