"""Who acts on the queue: the records of users and of the institutions they belong to.

Both the store and the account functions (signals/queue/auth.py) need these records; they
live here, below both, so that neither has to import the other to name a user.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select

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


def ensure_institutions(conn: Connection, items: Iterable[str | Institution | tuple[str, str]]) -> None:
    """Register institutions (id, or (id, name), or Institution); existing ones are kept."""
    wanted: dict[str, Institution] = {}
    for item in items:
        if isinstance(item, Institution):
            inst = item
        elif isinstance(item, tuple):
            inst = Institution(item[0], institution_kind(item[0]), item[1])
        else:
            inst = Institution(item, institution_kind(item), item)
        wanted[inst.id] = inst
    if not wanted:
        return
    have: set[str] = set()
    for chunk in chunks(sorted(wanted)):
        have.update(conn.execute(select(institutions.c.id).where(institutions.c.id.in_(chunk))).scalars())
    new = [{"id": i.id, "kind": i.kind, "name": i.name} for k, i in wanted.items() if k not in have]
    if new:
        conn.execute(insert(institutions), new)


def list_institutions(conn: Connection) -> list[Institution]:
    return [Institution(r.id, r.kind, r.name)
            for r in conn.execute(select(institutions).order_by(institutions.c.id))]

