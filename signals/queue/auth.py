"""Users of the queue: logins, accounts (admin only) and demo users.

Passwords are hashed with scrypt (signals/queue/passwords.py, re-exported here); the
parameters are stored in the hash itself, so they can be raised later: `authenticate`
rehashes a password stored with weaker parameters on the next successful login.

No hash runs inside a database transaction or with a pooled connection checked out: a hash
takes a core for a tenth of a second or more, and on SQLite a write transaction holds the one
write lock. `authenticate` costs exactly one hash whether the username exists or not.

Also here: server-side web sessions (`open_session`, `session_user`, `session_account`,
`revoke_session`; the table keeps only a token's SHA-256) and the append-only account audit log
(`account_events`: logins, logouts, users created or disabled, role and password changes;
`list_account_events` for administrators).

A password somebody else chose for a user — an administrator creating the account or resetting
its password (`create_user`, `admin_reset_password`), the operator doing either with
`yocho users` — is one-time: `users.must_change_password` is set, the web app lets the user do
nothing but choose their own (`session_account` tells it on every request), and only the
user's own `change_password` clears it. The demo's users and the first administrator of
`bootstrap_admin` are exempt (their passwords are the demo's, or their own).

The operator who runs the server manages accounts from its shell too (`yocho users`,
yocho/cli_users.py): `operator_create_user`, `operator_disable_user`,
`operator_reset_password` and `list_accounts` apply the same checks as an administrator's, in
the same transactions, and the audit log names the actor `operator:<OS user>`.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from signals.queue.actors import (
    Institution,
    User,
    _user,
    as_institution,
    ensure_institutions,
    institution_kind,
    list_institutions,
)
from signals.queue.clock import _aware
from signals.queue.councils import council_institution
from signals.queue.lifecycle import Conflict, Forbidden, InvalidInput, Role
from signals.queue.passwords import DEFAULT_SCRYPT as DEFAULT_SCRYPT
from signals.queue.passwords import ScryptParams as ScryptParams
from signals.queue.passwords import (
    _dummy_hash,
    hash_password,
    needs_rehash,
    verify_password,
)
from signals.queue.schema import ACCOUNT_EVENTS, account_events, institutions, sessions, users
from signals.queue.store import QueueStore
from yocho.prefectures import council_id

MIN_PASSWORD_LENGTH = 10
# The login form reads at most this many characters of a password (webapp/routes_auth.py):
# a longer one could be stored but never typed in to log in.
MAX_PASSWORD_LENGTH = 1024
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
_ROLE_KIND = {Role.BANK_REVIEWER: "bank", Role.CGA_ANALYST: "cga", Role.COUNCIL_INTAKE: "council"}


def authenticate(store: QueueStore, username: str, password: str, *, address: str | None = None) -> User | None:
    """The active user with this username and password, or None. Every call leaves one
    `account_events` row (login_succeeded, or login_failed saying why: unknown user, wrong
    password, disabled), with the client `address` if given.

    Exactly one scrypt per call, known user or not (an unknown one is checked against a
    dummy hash of the store's cost), so timing does not reveal which usernames exist. The
    hash runs outside any database transaction: the user row is read in a short read
    transaction, the password checked with no connection held, and then one short write
    transaction records the outcome and, for a hash stored below the store's cost, rewrites
    it (only if nobody changed it meanwhile)."""
    username = (username or "").strip()
    with store._read() as conn:
        row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        verify_password(password, _dummy_hash(store.password_params))
        ok, why = False, "unknown user"
    elif not verify_password(password, row.password_hash):
        ok, why = False, "wrong password"
    elif not row.active:
        ok, why = False, "disabled user"
    else:
        ok, why = True, None
    rehashed = (hash_password(password, store.password_params)
                if ok and needs_rehash(row.password_hash, store.password_params) else None)
    with store._write() as conn:
        if rehashed is not None:
            conn.execute(update(users).where(users.c.id == row.id, users.c.password_hash == row.password_hash)
                         .values(password_hash=rehashed))
        _audit(store, conn, "login_succeeded" if ok else "login_failed", actor=username[:128],
               actor_user_id=row.id if row is not None else None,
               actor_role=row.role if row is not None else None,
               subject=username[:128], subject_user_id=row.id if row is not None else None,
               address=address, detail=why)
    return _user(row) if ok else None


def load_user(store: QueueStore, user_id: int) -> User | None:
    """The active user with this id (for a web session), or None."""
    with store._read() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id, users.c.active.is_(True))).first()
        return _user(row) if row is not None else None


# ---------------------------------------------------------------------------- account audit log

@dataclass(frozen=True)
class AccountEvent:
    id: int
    at: datetime
    event: str  # one of schema.ACCOUNT_EVENTS
    actor: str
    actor_role: str | None
    subject: str | None
    address: str | None
    detail: str | None


def _audit(store: QueueStore, conn: Connection, event: str, *, actor: str, actor_user_id: int | None = None,
           actor_role: str | None = None, subject: str | None = None, subject_user_id: int | None = None,
           address: str | None = None, detail: str | None = None) -> None:
    if event not in ACCOUNT_EVENTS:
        raise InvalidInput(f"unknown account event {event!r}")
    conn.execute(insert(account_events).values(
        at=store.now(), event=event, actor=(actor or "?")[:128], actor_user_id=actor_user_id, actor_role=actor_role,
        subject=subject[:128] if subject else None, subject_user_id=subject_user_id,
        address=address[:64] if address else None, detail=detail[:500] if detail else None))


def record_account_event(store: QueueStore, event: str, *, actor: User | None = None, actor_name: str | None = None,
                         subject: str | None = None, address: str | None = None, detail: str | None = None) -> None:
    """Append one row to the account audit log in a transaction of its own (the web app's
    logout and throttled logins; the store's own account changes record theirs in the same
    transaction as the change)."""
    with store._write() as conn:
        _audit(store, conn, event, actor=actor.username if actor else (actor_name or "anonymous"),
               actor_user_id=actor.id if actor else None, actor_role=actor.role.value if actor else None,
               subject=subject, address=address, detail=detail)


def list_account_events(store: QueueStore, admin: User, *, limit: int = 200, before_id: int | None = None,
                        ) -> list[AccountEvent]:
    """The account audit log, newest first (admin only); `before_id` pages back."""
    with store._read() as conn:
        _require_admin(store, conn, admin)
        query = select(account_events).order_by(account_events.c.id.desc()).limit(max(1, min(limit, 1000)))
        if before_id is not None:
            query = query.where(account_events.c.id < before_id)
        return [AccountEvent(r.id, _aware(r.at), r.event, r.actor, r.actor_role, r.subject, r.address, r.detail)
                for r in conn.execute(query)]


# ---------------------------------------------------------------------------- web sessions

SESSION_PURGE_AFTER = timedelta(days=7)  # expired or revoked session rows are deleted after this


def _session_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def open_session(store: QueueStore, user: User, lifetime_seconds: int) -> str:
    """A new server-side session for a user who has just logged in: returns the random token
    the cookie carries (only its SHA-256 is stored). Rows ended more than a week ago are
    deleted on the way."""
    token = secrets.token_urlsafe(32)
    now = store.now()
    with store._write() as conn:
        store._actor(conn, user)
        conn.execute(insert(sessions).values(id=_session_id(token), user_id=user.id, created_at=now,
                                             expires_at=now + timedelta(seconds=lifetime_seconds)))
        conn.execute(delete(sessions).where(sessions.c.expires_at < now - SESSION_PURGE_AFTER))
        conn.execute(delete(sessions).where(sessions.c.revoked_at < now - SESSION_PURGE_AFTER))
    return token


@dataclass(frozen=True)
class SessionAccount:
    """The user of a live session, and whether they must choose a new password first."""
    user: User
    must_change_password: bool


def session_account(store: QueueStore, token: str) -> SessionAccount | None:
    """The active user of a session that is neither revoked nor expired, with their
    must-change-password flag, or None. One read: the web app calls it on every request, so
    logout, disabling and a password reset act at once."""
    if not isinstance(token, str) or not token or len(token) > 256:
        return None
    with store._read() as conn:
        row = conn.execute(select(users).join(sessions, sessions.c.user_id == users.c.id).where(
            sessions.c.id == _session_id(token), sessions.c.revoked_at.is_(None),
            sessions.c.expires_at > store.now(), users.c.active.is_(True))).first()
    return SessionAccount(_user(row), bool(row.must_change_password)) if row is not None else None


def session_user(store: QueueStore, token: str) -> User | None:
    """The active user of a live session, or None (`session_account` without the flag)."""
    account = session_account(store, token)
    return account.user if account is not None else None


def revoke_session(store: QueueStore, token: str, reason: str = "logout") -> bool:
    """End one session (logout): a copy of its cookie no longer logs anybody in."""
    if not isinstance(token, str) or not token:
        return False
    with store._write() as conn:
        return conn.execute(update(sessions).where(sessions.c.id == _session_id(token), sessions.c.revoked_at.is_(None))
                            .values(revoked_at=store.now(), revoked_reason=reason[:32])).rowcount > 0


def _revoke_user_sessions(store: QueueStore, conn: Connection, user_id: int, reason: str, *,
                          keep: str | None = None) -> int:
    """End every live session of the user, except the one whose token is `keep`."""
    query = update(sessions).where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
    if keep:
        query = query.where(sessions.c.id != _session_id(keep))
    return conn.execute(query.values(revoked_at=store.now(), revoked_reason=reason)).rowcount


def _require_admin(store: QueueStore, conn: Connection, admin: User) -> User:
    actor = store._actor(conn, admin)
    if actor.role is not Role.ADMIN:
        raise Forbidden("only an administrator manages users")
    return actor


def _check_new_user(username: str, password: str, role: Role, institution_id: str | None) -> None:
    _check_username(username)
    _check_password(password)
    _check_role_institution(role, institution_id)


def _check_username(username: str) -> None:
    if not _USERNAME.match(username):
        raise InvalidInput("username: letters, digits and . _ @ - only, up to 128 characters")


def password_problem(password: str) -> str | None:
    """What the password policy finds wrong with a new password: `too_short` (fewer than
    MIN_PASSWORD_LENGTH characters), `too_long` (more than MAX_PASSWORD_LENGTH), or None. The
    web app words each in the page's language; the store's functions refuse the same."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "too_short"
    if len(password) > MAX_PASSWORD_LENGTH:
        return "too_long"
    return None


def _check_password(password: str) -> None:
    problem = password_problem(password)
    if problem == "too_short":
        raise InvalidInput(f"password must be at least {MIN_PASSWORD_LENGTH} characters")
    if problem == "too_long":
        raise InvalidInput(f"password must be at most {MAX_PASSWORD_LENGTH} characters")


def _check_role_institution(role: Role, institution_id: str | None) -> None:
    wanted_kind = _ROLE_KIND.get(role)
    if wanted_kind is None and institution_id is not None:
        raise InvalidInput("an administrator belongs to no institution")
    if wanted_kind is not None:
        if not institution_id:
            raise InvalidInput(f"role {role.value} needs an institution")
        if institution_kind(institution_id) != wanted_kind:
            raise InvalidInput(f"role {role.value} belongs to a {wanted_kind}, not {institution_id}")


def _insert_user(store: QueueStore, conn: Connection, username: str, password_hash: str, role: Role,
                 institution_id: str | None, display_name: str, *, must_change_password: bool) -> User:
    if institution_id is not None and conn.execute(
            select(institutions.c.id).where(institutions.c.id == institution_id)).first() is None:
        raise InvalidInput(f"unknown institution {institution_id}")
    try:
        with conn.begin_nested():
            user_id = conn.execute(insert(users).values(
                username=username, password_hash=password_hash,
                role=role.value, institution_id=institution_id, display_name=display_name,
                active=True, created_at=store.now(), must_change_password=must_change_password,
            ).returning(users.c.id)).scalar_one()
    except IntegrityError:
        raise Conflict(f"username {username} is taken") from None
    return User(user_id, username, role, institution_id, display_name, True)


def create_user(
    store: QueueStore,
    admin: User,
    *,
    username: str,
    password: str,
    role: Role | str,
    institution_id: str | None = None,
    display_name: str | None = None,
    must_change_password: bool = True,
) -> User:
    """Create an account (admin only). Reviewers belong to a bank, analysts to a CGA, intake
    to a council; administrators to no institution. The administrator chose the password, so
    the user must change it at their first login (`must_change_password=False` only for the
    demo's users, whose passwords are public anyway)."""
    role = Role(role)
    username = username.strip()
    _check_new_user(username, password, role, institution_id)
    password_hash = hash_password(password, store.password_params)  # before the transaction: no lock held
    with store._write() as conn:
        actor = _require_admin(store, conn, admin)
        return _create_in(store, conn, _by_admin(actor), username, password_hash, role, institution_id,
                          display_name or username, must_change_password=must_change_password)


def _by_admin(actor: User) -> dict[str, Any]:
    """Who acted, as the audit log records it: an administrator of the web app ..."""
    return {"actor": actor.username, "actor_user_id": actor.id, "actor_role": actor.role.value}


def _by_operator(operator: str) -> dict[str, Any]:
    """... or the operator at the server's shell (no user row: `yocho users`)."""
    return {"actor": f"operator:{operator or '?'}"}


def _create_in(store: QueueStore, conn: Connection, by: dict[str, Any], username: str, password_hash: str,
               role: Role, institution_id: str | None, display_name: str, *, must_change_password: bool) -> User:
    created = _insert_user(store, conn, username, password_hash, role, institution_id, display_name,
                           must_change_password=must_change_password)
    _audit(store, conn, "user_created", **by, subject=created.username, subject_user_id=created.id,
           detail=f"{role.value}" + (f" ({institution_id})" if institution_id else ""))
    return created


def bootstrap_admin(store: QueueStore, username: str, password: str, display_name: str = "管理者") -> User:
    """The first administrator of an empty store; refused once an active admin exists."""
    username = username.strip()
    _check_new_user(username, password, Role.ADMIN, None)
    password_hash = hash_password(password, store.password_params)  # before the transaction: no lock held
    with store._write() as conn:
        admins = conn.execute(select(func.count()).select_from(users).where(
            users.c.role == Role.ADMIN.value, users.c.active.is_(True))).scalar_one()
        if admins:
            raise Forbidden("an administrator exists already; ask them to create accounts")
        created = _insert_user(store, conn, username, password_hash, Role.ADMIN, None, display_name,
                               must_change_password=False)
        _audit(store, conn, "user_created", actor="bootstrap", subject=created.username, subject_user_id=created.id,
               detail="admin (the first administrator)")
        return created


def disable_user(store: QueueStore, admin: User, username: str) -> User:
    """Disable an account (admin only); it can no longer log in or act, and every session of
    it is revoked in the same transaction. Its audit rows stay.
    The last active administrator cannot be disabled."""
    with store._write() as conn:
        actor = _require_admin(store, conn, admin)
        return _disable_in(store, conn, _by_admin(actor), username)[0]


def _disable_in(store: QueueStore, conn: Connection, by: dict[str, Any], username: str) -> tuple[User, int]:
    """The user disabled and how many of their sessions were revoked."""
    row = conn.execute(select(users).where(users.c.username == username)).first()
    if row is None:
        raise InvalidInput(f"no user {username}")
    if row.role == Role.ADMIN.value and row.active:
        others = conn.execute(select(func.count()).select_from(users).where(
            users.c.role == Role.ADMIN.value, users.c.active.is_(True), users.c.id != row.id)).scalar_one()
        if not others:
            raise Forbidden("the last active administrator cannot be disabled")
    conn.execute(update(users).where(users.c.id == row.id).values(active=False, disabled_at=store.now()))
    revoked = _revoke_user_sessions(store, conn, row.id, "disabled")
    _audit(store, conn, "user_disabled", **by, subject=row.username, subject_user_id=row.id,
           detail=f"{revoked} session(s) revoked")
    return User(row.id, row.username, Role(row.role), row.institution_id, row.display_name, False), revoked


def change_role(store: QueueStore, admin: User, username: str, role: Role | str,
                institution_id: str | None = None) -> User:
    """Give an account another role and institution (admin only), with the same rules as
    creating one. The new role applies from the user's next request (the store reads role and
    institution from the users table at every call). The last active administrator keeps the
    role. Recorded as `role_changed` (before → after)."""
    role = Role(role)
    institution_id = institution_id or None
    _check_role_institution(role, institution_id)
    with store._write() as conn:
        actor = _require_admin(store, conn, admin)
        row = conn.execute(select(users).where(users.c.username == username)).first()
        if row is None:
            raise InvalidInput(f"no user {username}")
        if institution_id is not None and conn.execute(
                select(institutions.c.id).where(institutions.c.id == institution_id)).first() is None:
            raise InvalidInput(f"unknown institution {institution_id}")
        if row.role == Role.ADMIN.value and role is not Role.ADMIN and row.active:
            others = conn.execute(select(func.count()).select_from(users).where(
                users.c.role == Role.ADMIN.value, users.c.active.is_(True), users.c.id != row.id)).scalar_one()
            if not others:
                raise Forbidden("the last active administrator keeps the role")
        if (row.role, row.institution_id) == (role.value, institution_id):
            return _user(row)
        conn.execute(update(users).where(users.c.id == row.id).values(role=role.value, institution_id=institution_id))
        before = row.role + (f" ({row.institution_id})" if row.institution_id else "")
        after = role.value + (f" ({institution_id})" if institution_id else "")
        _audit(store, conn, "role_changed", actor=actor.username, actor_user_id=actor.id, actor_role=actor.role.value,
               subject=row.username, subject_user_id=row.id, detail=f"{before} → {after}")
        return User(row.id, row.username, role, institution_id, row.display_name, bool(row.active))


def change_password(store: QueueStore, user: User, old_password: str, new_password: str, *,
                    keep_session: str | None = None) -> int:
    """A user changes their own password: the current one is checked, the new one must meet
    the policy (`password_problem`) and differ from it. Clears `must_change_password`; ends
    every other session of the user (all of them unless `keep_session` names the token of the
    one they changed it from, which stays open) and records `password_changed`. Returns the
    number of sessions ended. Both hashes run outside any transaction; the update applies only
    if the stored hash is still the one checked."""
    _check_password(new_password)
    if new_password == old_password:
        raise InvalidInput("the new password is the current one")
    with store._read() as conn:
        actor = store._actor(conn, user)
        stored = conn.execute(select(users.c.password_hash).where(users.c.id == actor.id)).scalar_one()
    if not verify_password(old_password, stored):
        raise Forbidden("the current password is wrong")
    new_hash = hash_password(new_password, store.password_params)
    with store._write() as conn:
        store._actor(conn, user)
        changed = conn.execute(update(users).where(users.c.id == actor.id, users.c.password_hash == stored)
                               .values(password_hash=new_hash, must_change_password=False)).rowcount
        if changed:
            revoked = _revoke_user_sessions(store, conn, actor.id, "password_changed", keep=keep_session)
            kept = "; this session kept" if keep_session else ""
            _audit(store, conn, "password_changed", actor=actor.username, actor_user_id=actor.id,
                   actor_role=actor.role.value, subject=actor.username, subject_user_id=actor.id,
                   detail=f"changed by the user; {revoked} other session(s) revoked{kept}")
    if not changed:
        raise Conflict("the password was changed meanwhile; try again")
    return revoked


def admin_reset_password(store: QueueStore, admin: User, username: str, new_password: str) -> int:
    """An administrator gives another account a new password (one the user forgot): every
    session of it ends, and the user must choose their own at the next login. Returns the
    number of sessions revoked. An administrator changes their own with `change_password`."""
    username = username.strip()
    _check_password(new_password)
    new_hash = hash_password(new_password, store.password_params)  # before the transaction: no lock held
    with store._write() as conn:
        actor = _require_admin(store, conn, admin)
        return _reset_in(store, conn, _by_admin(actor), username, new_hash, "reset by an administrator",
                         refuse_id=actor.id)


def _reset_in(store: QueueStore, conn: Connection, by: dict[str, Any], username: str, new_hash: str,
              how: str, *, refuse_id: int | None = None) -> int:
    row = conn.execute(select(users.c.id, users.c.username).where(users.c.username == username)).first()
    if row is None:
        raise InvalidInput(f"no user {username}")
    if row.id == refuse_id:
        raise Forbidden("change your own password on the password page")
    conn.execute(update(users).where(users.c.id == row.id).values(password_hash=new_hash, must_change_password=True))
    revoked = _revoke_user_sessions(store, conn, row.id, "password_reset")
    _audit(store, conn, "password_changed", **by, subject=row.username, subject_user_id=row.id,
           detail=f"{how}; {revoked} session(s) revoked; must change it at the next login")
    return revoked


def pending_password_changes(store: QueueStore, admin: User) -> frozenset[str]:
    """Usernames that must change their password at the next login (admin only)."""
    with store._read() as conn:
        _require_admin(store, conn, admin)
        return frozenset(conn.execute(select(users.c.username).where(users.c.must_change_password.is_(True)))
                         .scalars())


def list_users(store: QueueStore, admin: User) -> list[User]:
    with store._read() as conn:
        _require_admin(store, conn, admin)
        return [_user(r) for r in conn.execute(select(users).order_by(users.c.username))]


# ---------------------------------------------------------------------------- the operator's accounts

# Whoever can run `yocho users` on the server can open the queue's database anyway, so these
# take no administrator: they take the operator's OS user name for the audit log, and keep
# every other rule (username, password length, role and institution, the last active
# administrator, sessions revoked in the same transaction).

@dataclass(frozen=True)
class Account:
    """A user as the operator's list shows them (never the password hash)."""
    user: User
    created_at: datetime
    disabled_at: datetime | None
    last_login: datetime | None  # the latest login_succeeded in the audit log
    open_sessions: int  # neither revoked nor expired
    must_change_password: bool = False  # a password someone else set, not yet changed by its user


def check_new_account(store: QueueStore, username: str, role: Role | str, institution_id: str | None, *,
                      registering: bool = False) -> None:
    """The checks `operator_create_user` makes that need no password, for the operator's
    command to run before it asks for one: username, role and institution, the institution
    known to the queue (unless `registering` it), the username free."""
    role = Role(role)
    username = username.strip()
    institution_id = institution_id or None
    _check_username(username)
    _check_role_institution(role, institution_id)
    with store._read() as conn:
        if conn.execute(select(users.c.id).where(users.c.username == username)).first() is not None:
            raise Conflict(f"username {username} is taken")
        if institution_id is None or registering:
            return
        known = [i.id for i in list_institutions(conn)]
    if institution_id not in known:
        raise InvalidInput(f"unknown institution {institution_id}; the queue knows "
                           + (", ".join(known) if known else "no institution yet"))


def operator_create_user(store: QueueStore, operator: str, *, username: str, password: str, role: Role | str,
                         institution_id: str | None = None, display_name: str | None = None,
                         register_institution: Institution | None = None) -> User:
    """Create an account of any role, also the first administrator of an empty store. The
    operator typed the password, so its user must change it at their first login.
    `register_institution`: the institution `institution_id` names, registered in the same
    transaction if the queue does not know it yet (before the first nightly run brings it)."""
    role = Role(role)
    username = username.strip()
    institution_id = institution_id or None
    _check_new_user(username, password, role, institution_id)
    password_hash = hash_password(password, store.password_params)  # before the transaction: no lock held
    with store._write() as conn:
        if register_institution is not None:
            if register_institution.id != institution_id:
                raise InvalidInput(f"institution to register {register_institution.id} is not {institution_id}")
            ensure_institutions(conn, [register_institution])
        return _create_in(store, conn, _by_operator(operator), username, password_hash, role, institution_id,
                          display_name or username, must_change_password=True)


def operator_disable_user(store: QueueStore, operator: str, username: str) -> tuple[User, int]:
    """Disable an account and revoke its sessions (the rules of `disable_user`); returns the
    user and the number of sessions revoked."""
    with store._write() as conn:
        return _disable_in(store, conn, _by_operator(operator), username.strip())


def operator_reset_password(store: QueueStore, operator: str, username: str, new_password: str) -> int:
    """Give an account a new password (one the user forgot); every session of it ends, and the
    user must choose their own at the next login. Returns the number of sessions revoked. A
    disabled account stays disabled."""
    username = username.strip()
    _check_password(new_password)
    new_hash = hash_password(new_password, store.password_params)  # before the transaction: no lock held
    with store._write() as conn:
        return _reset_in(store, conn, _by_operator(operator), username, new_hash, "reset by the operator")


def list_accounts(store: QueueStore) -> list[Account]:
    """Every account with its last login and open sessions, by username: one query."""
    now = store.now()
    last_login = (select(account_events.c.subject_user_id.label("user_id"), func.max(account_events.c.at).label("at"))
                  .where(account_events.c.event == "login_succeeded", account_events.c.subject_user_id.is_not(None))
                  .group_by(account_events.c.subject_user_id).subquery())
    open_sessions = (select(sessions.c.user_id, func.count().label("n"))
                     .where(sessions.c.revoked_at.is_(None), sessions.c.expires_at > now)
                     .group_by(sessions.c.user_id).subquery())
    query = (select(users, last_login.c.at.label("last_login"), open_sessions.c.n.label("open_sessions"))
             .outerjoin(last_login, last_login.c.user_id == users.c.id)
             .outerjoin(open_sessions, open_sessions.c.user_id == users.c.id)
             .order_by(users.c.username))
    with store._read() as conn:
        return [Account(_user(r), _aware(r.created_at), _aware(r.disabled_at) if r.disabled_at else None,
                        _aware(r.last_login) if r.last_login else None, r.open_sessions or 0,
                        bool(r.must_change_password))
                for r in conn.execute(query)]


# ---------------------------------------------------------------------------- demo users

# The one national council of schema versions before 9; a queue upgraded from one keeps the
# referrals made to it there (schema._v9_councils_and_consent).
COUNCIL_ID = "council"
COUNCIL_NAME = "中小企業活性化協議会"


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: Role
    institution_id: str | None
    display_name: str


def demo_password(username: str) -> str:
    """Demo passwords are public by design: `demo-<username>`. Never use them in production."""
    return f"demo-{username}"


def council_username(code: int) -> str:
    """The demo's intake user of a prefecture's council: intake.council_13."""
    return f"intake.{council_id(code)}"


def seed_demo_users(store: QueueStore, institutions_: Iterable[str | Institution | tuple[Any, ...]],
                    councils: Iterable[int] = ()) -> list[DemoUser]:
    """One reviewer per bank (`reviewer.<bank id>`), one analyst per CGA (`analyst.<cga id>`),
    the council of every prefecture the institutions are in (each bank's registered
    prefecture, each association's; plus `councils`, prefecture codes) with one intake user
    each (`intake.council_<NN>`), and one administrator (`admin`), each with the password
    `demo-<username>`. Idempotent: users that exist are left as they are."""
    items = [as_institution(i) for i in institutions_]
    items = [i for i in items if i.kind != "council"]
    codes = sorted({i.prefecture_code for i in items if i.prefecture_code is not None} | set(councils))
    council_insts = [council_institution(code) for code in codes]
    store.ensure_institutions([*items, *council_insts])
    wanted: list[DemoUser] = [DemoUser("admin", demo_password("admin"), Role.ADMIN, None, "管理者（デモ）")]
    for inst in sorted(items, key=lambda i: i.id):
        if inst.kind == "bank":
            name = f"reviewer.{inst.id}"
            wanted.append(DemoUser(name, demo_password(name), Role.BANK_REVIEWER, inst.id, f"{inst.name} 審査担当"))
        elif inst.kind == "cga":
            name = f"analyst.{inst.id}"
            wanted.append(DemoUser(name, demo_password(name), Role.CGA_ANALYST, inst.id, f"{inst.name} 分析担当"))
    for council in council_insts:
        name = f"intake.{council.id}"
        wanted.append(DemoUser(name, demo_password(name), Role.COUNCIL_INTAKE, council.id, f"{council.name} 受付担当"))
    with store._read() as conn:
        existing = set(conn.execute(select(users.c.username)).scalars())
        has_admin = conn.execute(select(func.count()).select_from(users).where(
            users.c.role == Role.ADMIN.value, users.c.active.is_(True))).scalar_one() > 0
    admin_demo = wanted[0]
    if "admin" not in existing and not has_admin:
        bootstrap_admin(store, admin_demo.username, admin_demo.password, admin_demo.display_name)
    elif "admin" not in existing:
        raise Forbidden("the store has another administrator; seed demo users only into a demo store")
    admin = authenticate(store, admin_demo.username, admin_demo.password)
    if admin is None:
        raise Forbidden("the demo admin's password was changed; seed demo users only into a demo store")
    for demo in wanted[1:]:
        if demo.username not in existing:
            create_user(store, admin, username=demo.username, password=demo.password, role=demo.role,
                        institution_id=demo.institution_id, display_name=demo.display_name,
                        must_change_password=False)
    return wanted
