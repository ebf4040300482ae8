"""Who acts on the queue: the records of users and of the institutions they belong to.

Both the store and the account functions (signals/queue/auth.py) need these records; they
live here, below both, so that neither has to import the other to name a user.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from signals.queue.batches import chunks
from signals.queue.lifecycle import Forbidden, InvalidInput, Role
from signals.queue.schema import institutions, users


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: Role
    institution_id: str | None
    display_name: str
    active: bool = True


@dataclass(frozen=True)
class Institution:
    id: str
    kind: str  # bank | cga | council
    name: str
    # JIS X 0401 home prefecture (1-47): registered for a bank; an association's and a
    # council's follow from the id when not given (yocho/prefectures.py)
    prefecture_code: int | None = None


def _user(row: Any) -> User:
    return User(row.id, row.username, Role(row.role), row.institution_id, row.display_name, bool(row.active))


def institution_kind(institution_id: str) -> str:
    if institution_id.startswith("bank_"):
        return "bank"
    if institution_id.startswith("cga_"):
        return "cga"
    if institution_id == "council" or institution_id.startswith("council"):
        return "council"
    raise InvalidInput(f"unknown institution id {institution_id!r}: expected bank_*, cga_* or council*")


def acting_user(conn: Connection, user: User) -> User:
    """The acting user as the database knows it now: role and institution come from the
    users table, not from the caller's object, and a disabled user may do nothing."""
    row = conn.execute(select(users).where(users.c.id == user.id)).first()
    if row is None or row.username != user.username or not row.active:
        raise Forbidden("user is unknown or disabled")
    return _user(row)


def as_institution(item: str | Institution | tuple[Any, ...]) -> Institution:
    """An Institution from an id, (id, name), (id, name, prefecture code) or an Institution;
    an association's or a council's prefecture follows from its id when not given."""
    from yocho.prefectures import cga_prefecture, council_prefecture

    if isinstance(item, Institution):
        inst = item
    elif isinstance(item, tuple):
        inst = Institution(item[0], institution_kind(item[0]), item[1], item[2] if len(item) > 2 else None)
    else:
        inst = Institution(item, institution_kind(item), item)
    if inst.prefecture_code is None:
        derived = cga_prefecture(inst.id) or council_prefecture(inst.id)
        if derived is not None:
            inst = Institution(inst.id, inst.kind, inst.name, derived)
    return inst


def ensure_institutions(conn: Connection, items: Iterable[str | Institution | tuple[Any, ...]]) -> None:
    """Register institutions (id, or (id, name[, prefecture code]), or Institution); existing
    ones are kept, and given the prefecture when they were registered without one (the
    nightly job registers a bank by id alone)."""
    wanted: dict[str, Institution] = {}
    for item in items:
        inst = as_institution(item)
        wanted[inst.id] = inst
    if not wanted:
        return
    have: dict[str, int | None] = {}
    for chunk in chunks(sorted(wanted)):
        have.update(conn.execute(select(institutions.c.id, institutions.c.prefecture_code)
                                 .where(institutions.c.id.in_(chunk))).tuples().all())
    new = [{"id": i.id, "kind": i.kind, "name": i.name, "prefecture_code": i.prefecture_code}
           for k, i in wanted.items() if k not in have]
    if new:
        conn.execute(insert(institutions), new)
    for key, inst in wanted.items():  # a handful: institutions registered with a prefecture
        if key in have and have[key] is None and inst.prefecture_code is not None:
            conn.execute(update(institutions).where(institutions.c.id == key)
                         .values(prefecture_code=inst.prefecture_code))


def list_institutions(conn: Connection) -> list[Institution]:
    return [Institution(r.id, r.kind, r.name, r.prefecture_code)
            for r in conn.execute(select(institutions).order_by(institutions.c.id))]

