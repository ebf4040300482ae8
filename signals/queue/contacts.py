"""Users' e-mail addresses, where the daily digest of their new work goes (signals/queue/digest.py).

An address is set by an administrator (the admin page) or by the operator (`yocho users
create --email`, `yocho users set-email`), never by the user alone: the digest sends case
names to it, so who receives them is the administrators' decision like the account itself.
An empty address clears it (no digest).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection, select, update

from signals.queue.actors import User, _user, acting_user
from signals.queue.lifecycle import Forbidden, InvalidInput, Role
from signals.queue.schema import users
from signals.queue.store import QueueStore

MAX_EMAIL_LENGTH = 254  # RFC 5321's limit of a forward path
# One @, a domain with a dot, no spaces or angle brackets (which would let an address carry
# another header or recipient into the message).
_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def clean_email(email: str | None) -> str | None:
    """The address as stored (trimmed; None for an empty one), or InvalidInput."""
    email = (email or "").strip()
    if not email:
        return None
    if len(email) > MAX_EMAIL_LENGTH or not _EMAIL.match(email):
        raise InvalidInput(f"not an e-mail address: {email[:80]!r}")
    return email


def _set(conn: Connection, username: str, email: str | None) -> None:
    changed = conn.execute(update(users).where(users.c.username == username.strip()).values(email=email)).rowcount
    if not changed:
        raise InvalidInput(f"unknown user {username.strip()!r}")


def set_email(store: QueueStore, admin: User, username: str, email: str | None) -> str | None:
    """An administrator sets (or, with an empty one, clears) a user's address; returns it."""
    address = clean_email(email)
    with store._write() as conn:
        if acting_user(conn, admin).role is not Role.ADMIN:
            raise Forbidden("only an administrator sets e-mail addresses")
        _set(conn, username, address)
    return address


def operator_set_email(store: QueueStore, username: str, email: str | None) -> str | None:
    """The operator's `yocho users set-email`: the same, from the server's shell."""
    address = clean_email(email)
    with store._write() as conn:
        _set(conn, username, address)
    return address


def emails(store: QueueStore, admin: User) -> dict[str, str]:
    """Username -> address of every user who has one (administrators only)."""
    with store._read() as conn:
        if acting_user(conn, admin).role is not Role.ADMIN:
            raise Forbidden("only an administrator reads e-mail addresses")
        return dict(conn.execute(select(users.c.username, users.c.email).where(users.c.email.is_not(None))).tuples().all())


@dataclass(frozen=True)
class Recipient:
    user: User
    email: str


def recipients(store: QueueStore) -> list[Recipient]:
    """Active users with an address, by id: whom the digest may write to (the operator's job)."""
    with store._read() as conn:
        return [Recipient(_user(r), r.email) for r in conn.execute(
            select(users).where(users.c.active.is_(True), users.c.email.is_not(None)).order_by(users.c.id))]
