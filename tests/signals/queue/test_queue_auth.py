"""Password hashing, accounts and demo users."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from signals.queue import (
    DEFAULT_SCRYPT,
    Conflict,
    Forbidden,
    InvalidInput,
    Role,
    ScryptParams,
    authenticate,
    bootstrap_admin,
    change_password,
    create_user,
    disable_user,
    hash_password,
    list_users,
    load_user,
    seed_demo_users,
    verify_password,
)
from signals.queue.schema import users


def test_hashes_are_salted_scrypt_with_the_documented_default_cost():
    first, second = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert first != second  # a fresh salt each time
    scheme, n, r, p, salt, key = first.split("$")
    assert (scheme, int(n), int(r), int(p)) == ("scrypt", 2 ** 14, 8, 5) == ("scrypt", DEFAULT_SCRYPT.n,
                                                                            DEFAULT_SCRYPT.r, DEFAULT_SCRYPT.p)
    assert salt != second.split("$")[4]
    assert verify_password("correct horse battery", first) and verify_password("correct horse battery", second)
    assert not verify_password("correct horse batterY", first)
    assert not verify_password("correct horse battery", "md5$whatever")
    assert not verify_password("", first)


def test_authenticate(store, people):
    user = authenticate(store, "reviewer.bank_0116", "demo-reviewer.bank_0116")
    assert user == people.bank_a
    assert (user.role, user.institution_id) == (Role.BANK_REVIEWER, "bank_0116")
    assert authenticate(store, "reviewer.bank_0116", "demo-reviewer.bank_0005") is None
    assert authenticate(store, "nobody", "demo-reviewer.bank_0116") is None
    with store.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.username == "reviewer.bank_0116")).scalar_one()
    assert "demo-reviewer" not in stored and stored.startswith("scrypt$")
    assert load_user(store, user.id) == user


def test_seeded_demo_users_one_per_institution_and_idempotent(store, people):
    demo = {d.username: d for d in people.demo}
    # one council per prefecture the institutions are in (東京都 and 大阪府), one intake user each
    assert set(demo) == {"admin", "reviewer.bank_0116", "reviewer.bank_0005", "analyst.cga_13", "analyst.cga_27",
                         "intake.council_13", "intake.council_27"}
    assert demo["intake.council_13"].password == "demo-intake.council_13"
    assert demo["intake.council_13"].institution_id == "council_13"
    names = {i.id: (i.name, i.prefecture_code) for i in store.list_institutions(people.admin)}
    assert names["council_13"] == ("東京都中小企業活性化協議会", 13)
    assert names["council_27"] == ("大阪府中小企業活性化協議会", 27)
    assert names["bank_0005"] == ("みずなみ銀行", 27) and names["cga_13"][1] == 13
    for d in demo.values():
        user = authenticate(store, d.username, d.password)
        assert user is not None and (user.role, user.institution_id) == (d.role, d.institution_id)
    again = seed_demo_users(store, ["bank_0116", "bank_0005", "cga_13", "cga_27"])
    assert {d.username for d in again} == set(demo)
    assert len(list_users(store, people.admin)) == 7


def test_only_an_admin_manages_users(store, people):
    with pytest.raises(Forbidden):
        create_user(store, people.bank_a, username="mallory", password="long enough pw", role="admin")
    with pytest.raises(Forbidden):
        disable_user(store, people.council, "reviewer.bank_0116")
    with pytest.raises(Forbidden):
        list_users(store, people.cga)
    user = create_user(store, people.admin, username="tanaka", password="a long password", role="bank_reviewer",
                       institution_id="bank_0005", display_name="田中")
    assert authenticate(store, "tanaka", "a long password") == user
    with pytest.raises(Conflict):
        create_user(store, people.admin, username="tanaka", password="a long password", role="bank_reviewer",
                    institution_id="bank_0005")
    disabled = disable_user(store, people.admin, "tanaka")
    assert not disabled.active
    assert authenticate(store, "tanaka", "a long password") is None
    assert load_user(store, user.id) is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(username="x1", password="short", role="admin"), "at least"),
    (dict(username="bad name", password="a long password", role="admin"), "username"),
    (dict(username="r1", password="a long password", role="bank_reviewer", institution_id="cga_13"), "bank"),
    (dict(username="r2", password="a long password", role="cga_analyst"), "needs an institution"),
    (dict(username="r3", password="a long password", role="admin", institution_id="bank_0116"), "no institution"),
    (dict(username="r4", password="a long password", role="bank_reviewer", institution_id="bank_9999"), "unknown"),
])
def test_accounts_are_checked(store, people, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        create_user(store, people.admin, **kwargs)


def test_the_last_admin_stays_and_bootstrap_is_for_an_empty_store(store, people):
    with pytest.raises(Forbidden, match="last active administrator"):
        disable_user(store, people.admin, "admin")
    with pytest.raises(Forbidden, match="exists already"):
        bootstrap_admin(store, "root", "a long password")


def test_change_password_and_rehash_with_stronger_parameters(store, people):
    change_password(store, people.cga, "demo-analyst.cga_13", "a brand new secret")
    assert authenticate(store, "analyst.cga_13", "demo-analyst.cga_13") is None
    with pytest.raises(Forbidden):
        change_password(store, people.cga, "wrong", "another new secret")
    # The deployment raises the cost: the next login rewrites the hash with it.
    store.password_params = ScryptParams(n=2 ** 9, r=8, p=1)
    assert authenticate(store, "analyst.cga_13", "a brand new secret") is not None
    with store.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.username == "analyst.cga_13")).scalar_one()
    assert stored.startswith("scrypt$512$8$1$")


def _count_scrypt(monkeypatch, store):
    """Wrap hashlib.scrypt: count the calls and record the connections checked out of the
    store's pool while each one runs."""
    import hashlib

    real, calls = hashlib.scrypt, []

    def counted(*args, **kwargs):
        calls.append(store.engine.pool.checkedout())
        return real(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    return calls


def test_an_unknown_user_costs_one_hash_like_a_known_one(store, people, monkeypatch):
    calls = _count_scrypt(monkeypatch, store)
    for username, pw in [("nobody.at.all", "whatever-password"), ("someone.else", "whatever-password"),
                         ("reviewer.bank_0116", "wrong-password-1"), ("reviewer.bank_0116", "demo-reviewer.bank_0116")]:
        calls.clear()
        authenticate(store, username, pw)
        assert len(calls) == 1, (username, len(calls))


def test_passwords_are_hashed_with_no_database_connection_held(store, people, monkeypatch):
    calls = _count_scrypt(monkeypatch, store)
    authenticate(store, "nobody.at.all", "whatever-password")
    authenticate(store, "reviewer.bank_0116", "wrong-password-1")
    authenticate(store, "reviewer.bank_0116", "demo-reviewer.bank_0116")
    create_user(store, people.admin, username="new.reviewer", password="long-enough-1", role=Role.BANK_REVIEWER,
                institution_id="bank_0116")
    change_password(store, people.bank_a, "demo-reviewer.bank_0116", "a-new-password-1")
    assert len(calls) == 6 and calls == [0] * 6, calls


def test_a_rehash_at_login_is_one_short_write_after_the_check(store, people, monkeypatch):
    stronger = ScryptParams(n=2 ** 9, r=8, p=1)
    monkeypatch.setattr(store, "password_params", stronger)
    calls = _count_scrypt(monkeypatch, store)
    assert authenticate(store, "reviewer.bank_0116", "demo-reviewer.bank_0116") == people.bank_a
    assert calls == [0, 0]  # the check, then the new hash: both outside any transaction
    with store.engine.connect() as conn:
        stored = conn.execute(select(users.c.password_hash).where(users.c.username == "reviewer.bank_0116")).scalar_one()
    assert stored.startswith("scrypt$512$8$1$")


def test_sqlite_connections_use_wal_and_a_busy_timeout(store):
    if store.backend != "sqlite":
        pytest.skip("SQLite only")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
