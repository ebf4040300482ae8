"""`yocho users` through the real command (typer's CliRunner on yocho.cli.app), on a temporary
SQLite queue in --data-dir and, once, on the PostgreSQL server of the queue tests through
YOCHO_QUEUE__URL. What a command did is checked where it matters: logging in to the real web
app (TestClient) or through `authenticate`, and the queue's own tables. A password the
operator typed or generated is one-time: the web app asks its user for their own first."""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from signals.queue import QueueStore, authenticate, list_account_events
from signals.queue.lifecycle import Role
from tests.signals.queue.conftest import fresh_queue_url, pg_database, pg_server  # noqa: F401 - fixtures
from tests.webapp.conftest import Browser
from webapp import create_app
from yocho.cli import app
from yocho.cli_users import ROLES
from yocho.settings import QueueSettings, Settings

SECRET = "test-secret-key-for-the-cli-users-tests-0123456789"
ADMIN_PW = "correct horse battery staple"
REVIEWER_PW = "reviewer password 1"
BANK = "bank_0116"  # 北海道銀行, in the 全銀 list


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # the machine's own settings must not point the commands at another queue
    for name in ("YOCHO_QUEUE__URL", "YOCHO_DATA_DIR", "YOCHO_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "data"


def yocho(*args: str, input: str | None = None, env: dict[str, str] | None = None):  # noqa: A002 - CliRunner's name
    return CliRunner().invoke(app, ["users", *args], input=input, env=env)


def ok(*args: str, **kwargs):
    result = yocho(*args, **kwargs)
    assert result.exit_code == 0, result.output
    return result


def store_of(data_dir: Path) -> QueueStore:
    return QueueStore(f"sqlite:///{data_dir / 'queue.sqlite'}")


@pytest.fixture
def web(data_dir: Path) -> Iterator[Browser]:
    """The real review web app over the same queue, as a browser would use it."""
    settings = Settings(data_dir=data_dir, queue=QueueSettings(secret_key=SECRET))
    from fastapi.testclient import TestClient

    with TestClient(create_app(settings)) as client:
        yield Browser(client)


def choose_own_password(web: Browser, current: str, new: str) -> None:
    """The web app's password page, where a user the operator created or reset is sent first."""
    forced = web.client.get("/cases", follow_redirects=False)
    assert forced.status_code == 303 and forced.headers["location"].startswith("/account/password")
    changed = web.post("/account/password", {"current_password": current, "new_password": new,
                                             "new_password_confirm": new}, token_from="/account/password")
    assert changed.status_code == 303, changed.text


def with_admin_and_reviewer(data_dir: Path) -> None:
    d = str(data_dir)
    ok("create", "root", "--role", "admin", "--display-name", "管理者", "--password-stdin", "--data-dir", d,
       input=ADMIN_PW + "\n")
    ok("create", "rev", "--role", "bank_reviewer", "--institution", BANK, "--institution-name", "北海道銀行",
       "--display-name", "北海道銀行 審査担当", "--password-stdin", "--data-dir", d, input=REVIEWER_PW + "\n")


def test_first_admin_from_stdin_logs_in_to_the_web_app(data_dir: Path, web: Browser) -> None:
    result = ok("create", "root", "--role", "admin", "--display-name", "管理者", "--password-stdin",
                "--data-dir", str(data_dir), input=ADMIN_PW + "\n")
    assert "created root (admin)" in result.stderr
    assert ADMIN_PW not in result.output

    assert web.login("root", "wrong password!").status_code == 401
    response = web.login("root", ADMIN_PW)
    assert response.status_code == 303 and response.headers["location"] == "/admin/users"
    forced = web.client.get("/admin/users", follow_redirects=False)  # the operator typed it: one-time
    assert forced.status_code == 303 and forced.headers["location"] == "/account/password?next=%2Fadmin%2Fusers"
    choose_own_password(web, ADMIN_PW, ADMIN_PW + " of my own")
    page = web.client.get("/admin/users")
    assert page.status_code == 200 and "管理者" in page.text
    audit = web.client.get("/admin/audit")  # the web app's audit page shows who created the account
    assert audit.status_code == 200 and f"operator:{_os_user()}" in audit.text
    with store_of(data_dir) as store:
        admin = authenticate(store, "root", ADMIN_PW + " of my own")
        events = [(e.event, e.actor, e.subject) for e in list_account_events(store, admin)]
    assert ("user_created", f"operator:{_os_user()}", "root") in events
    assert ("password_changed", "root", "root") in events


def _os_user() -> str:
    from yocho.cli_users import _operator

    return _operator()


def test_typed_password_is_asked_twice_hidden(data_dir: Path) -> None:
    result = ok("create", "root", "--role", "admin", "--data-dir", str(data_dir),
                input=f"{ADMIN_PW}\nsomething else!\n{ADMIN_PW}\n{ADMIN_PW}\n")
    assert "do not match" in result.output
    assert ADMIN_PW not in result.output  # hidden input is not echoed
    with store_of(data_dir) as store:
        assert authenticate(store, "root", ADMIN_PW) is not None


def test_list_shows_accounts_without_hashes(data_dir: Path, web: Browser) -> None:
    with_admin_and_reviewer(data_dir)
    assert web.login("rev", REVIEWER_PW).status_code == 303  # a last login and an open session
    result = ok("list", "--data-dir", str(data_dir))
    lines = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 5}
    assert set(lines) == {"root", "rev"}
    assert "bank_reviewer" in lines["rev"] and BANK in lines["rev"] and "active" in lines["rev"]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d\s+│\s+1\s+│$", lines["rev"]), lines["rev"]  # last login, 1 session
    assert "admin" in lines["root"] and re.search(r"—\s+│\s+0\s+│$", lines["root"])  # never logged in
    hashes = [h for (h,) in sqlite3.connect(data_dir / "queue.sqlite").execute("SELECT password_hash FROM users")]
    assert len(hashes) == 2 and all(h.startswith("scrypt$") for h in hashes)
    assert "scrypt" not in result.output and not any(h.split("$")[-1] in result.output for h in hashes)
    # both passwords were set by someone else and are still to be replaced by their users
    assert "password to change" in lines["root"] and "password to change" in lines["rev"]
    choose_own_password(web, REVIEWER_PW, "the reviewer's own")
    relisted = ok("list", "--data-dir", str(data_dir)).stdout
    rev = next(line for line in relisted.splitlines() if line.count("│") > 5 and line.split("│")[1].strip() == "rev")
    assert "active" in rev and "password to change" not in rev


def test_reset_password_changes_it_and_ends_sessions(data_dir: Path, web: Browser) -> None:
    with_admin_and_reviewer(data_dir)
    assert web.login("rev", REVIEWER_PW).status_code == 303
    choose_own_password(web, REVIEWER_PW, "the reviewer's own")
    assert web.client.get("/cases", follow_redirects=False).status_code == 200

    new = "a brand new password"
    result = ok("reset-password", "rev", "--password-stdin", "--data-dir", str(data_dir), input=new + "\n")
    assert "1 open session(s) ended" in result.stderr
    assert web.client.get("/cases", follow_redirects=False).status_code in (302, 303)  # logged out
    with store_of(data_dir) as store:
        assert authenticate(store, "rev", "the reviewer's own") is None
        assert authenticate(store, "rev", new) is not None

    generated = ok("reset-password", "rev", "--generate", "--data-dir", str(data_dir))
    password = generated.stdout.strip()
    assert re.fullmatch(r"[a-z2-9]{5}(-[a-z2-9]{5}){3}", password), generated.stdout
    assert password not in generated.stderr  # printed once
    assert web.login("rev", new).status_code == 401
    assert web.login("rev", password).status_code == 303
    choose_own_password(web, password, "the reviewer's own again")  # a generated password is one-time
    assert web.client.get("/cases", follow_redirects=False).status_code == 200


def test_disable_blocks_login_and_ends_sessions(data_dir: Path, web: Browser) -> None:
    with_admin_and_reviewer(data_dir)
    assert web.login("rev", REVIEWER_PW).status_code == 303
    choose_own_password(web, REVIEWER_PW, "the reviewer's own")
    assert web.client.get("/cases", follow_redirects=False).status_code == 200

    result = ok("disable", "rev", "--data-dir", str(data_dir))
    assert "disabled rev; 1 open session(s) ended" in result.stderr
    assert web.client.get("/cases", follow_redirects=False).status_code in (302, 303)
    assert web.login("rev", "the reviewer's own").status_code == 401
    # ended, not only refused while the account is disabled: the session rows are revoked
    sessions = sqlite3.connect(data_dir / "queue.sqlite").execute(
        "SELECT s.revoked_reason FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = 'rev'").fetchall()
    assert sessions == [("disabled",)]
    listed = ok("list", "--data-dir", str(data_dir)).stdout
    assert re.search(r"│ rev .*│ disabled \d{4}-\d\d-\d\d", listed), listed

    last_admin = yocho("disable", "root", "--data-dir", str(data_dir))
    assert last_admin.exit_code == 1
    assert "the last active administrator cannot be disabled" in last_admin.stderr
    unknown = yocho("disable", "nobody", "--data-dir", str(data_dir))
    assert unknown.exit_code == 1 and "no user nobody" in unknown.stderr


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--role", "boss"], 2, "unknown role 'boss': one of bank_reviewer, cga_analyst, council_intake, admin"),
    (["--role", "bank_reviewer"], 1, "role bank_reviewer needs an institution"),
    (["--role", "cga_analyst", "--institution", BANK], 1, f"role cga_analyst belongs to a cga, not {BANK}"),
    (["--role", "admin", "--institution", BANK], 1, "an administrator belongs to no institution"),
    (["--role", "bank_reviewer", "--institution", "bank_0117"], 1,
     f"unknown institution bank_0117; the queue knows {BANK}. Check the id, or register it with --institution-name"),
    (["--role", "bank_reviewer", "--institution", "bank_9996", "--institution-name", "X"], 1,
     "bank_9996: not a bank code in the 全銀 bank code list"),
    (["--role", "cga_analyst", "--institution", "cga_99", "--institution-name", "X"], 1,
     "is not bank_<4-digit bank code> or cga_<01-51>"),
    (["--role", "bank_reviewer", "--institution", "shop_1"], 1, "unknown institution id 'shop_1'"),
])
def test_bad_role_or_institution_is_refused_before_the_password(data_dir: Path, args: list[str], code: int,
                                                                 message: str) -> None:
    with_admin_and_reviewer(data_dir)
    # no password on stdin: a refusal must come before any is asked for
    result = yocho("create", "newcomer", *args, "--password-stdin", "--data-dir", str(data_dir), input="")
    assert result.exit_code == code, result.output
    assert message in result.stderr.replace("\n", " ")
    assert "standard input holds no password" not in result.stderr
    with store_of(data_dir) as store:
        assert authenticate(store, "newcomer", "anything at all") is None
    count = sqlite3.connect(data_dir / "queue.sqlite").execute("SELECT count(*) FROM users").fetchone()[0]
    assert count == 2


def test_password_rules_and_taken_names(data_dir: Path) -> None:
    with_admin_and_reviewer(data_dir)
    d = str(data_dir)
    short = yocho("create", "x", "--role", "admin", "--password-stdin", "--data-dir", d, input="short\n")
    assert short.exit_code == 1 and "password must be at least 10 characters" in short.stderr
    long = yocho("reset-password", "rev", "--password-stdin", "--data-dir", d, input="p" * 1025 + "\n")
    assert long.exit_code == 1 and "password must be at most 1024 characters" in long.stderr
    taken = yocho("create", "rev", "--role", "admin", "--password-stdin", "--data-dir", d, input=ADMIN_PW + "\n")
    assert taken.exit_code == 1 and "username rev is taken" in taken.stderr
    both = yocho("reset-password", "rev", "--generate", "--password-stdin", "--data-dir", d)
    assert both.exit_code == 2
    with store_of(data_dir) as store:
        assert authenticate(store, "rev", REVIEWER_PW) is not None  # nothing changed


def test_help_names_every_role() -> None:
    """The command names the roles without importing the queue; they must stay the queue's."""
    assert ROLES == tuple(r.value for r in Role)
    assert yocho("create", "--help").exit_code == 0


def test_the_same_commands_on_postgresql(request: pytest.FixtureRequest, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The production option: the queue URL from the environment, as settings read it."""
    monkeypatch.delenv("YOCHO_DATA_DIR", raising=False)
    monkeypatch.delenv("YOCHO_CONFIG", raising=False)
    with fresh_queue_url(request, "postgresql", tmp_path) as url:
        env = {"YOCHO_QUEUE__URL": url}
        created = ok("create", "root", "--role", "admin", "--password-stdin", env=env, input=ADMIN_PW + "\n")
        assert "queue: postgresql+psycopg://" in created.stderr
        # a prefecture's council is registered under its Japanese name without --institution-name
        ok("create", "intake", "--role", "council_intake", "--institution", "council_13", "--password-stdin",
           env=env, input=REVIEWER_PW + "\n")
        ok("create", "reviewer", "--role", "bank_reviewer", "--institution", "bank_0116", "--institution-name",
           "北海道銀行", "--prefecture", "1", "--password-stdin", env=env, input=REVIEWER_PW + "\n")
        with QueueStore(url) as store:
            assert store.backend == "postgresql"
            user = authenticate(store, "intake", REVIEWER_PW)
            assert user is not None and user.role is Role.COUNCIL_INTAKE and user.institution_id == "council_13"
            names = {i.id: (i.name, i.prefecture_code) for i in store.list_institutions(user)}
            assert names["council_13"] == ("東京都中小企業活性化協議会", 13)
            assert names["bank_0116"] == ("北海道銀行", 1)
        bad = yocho("create", "intake2", "--role", "council_intake", "--institution", "council_48", env=env,
                    input=REVIEWER_PW + "\n")
        assert bad.exit_code != 0 and "council_<NN>" in bad.output
        # the URL wins over the data folder: no SQLite queue appears there
        listed = ok("list", "--data-dir", str(tmp_path / "data"), env=env).stdout
        assert "intake" in listed and "council_intake" in listed and "scrypt" not in listed
        new = ok("reset-password", "intake", "--generate", env=env).stdout.strip()
        with QueueStore(url) as store:
            assert authenticate(store, "intake", REVIEWER_PW) is None
            assert authenticate(store, "intake", new) is not None
        ok("disable", "intake", env=env)
        with QueueStore(url) as store:
            assert authenticate(store, "intake", new) is None  # right password, disabled
            assert authenticate(store, "root", ADMIN_PW) is not None
        assert not (tmp_path / "data" / "queue.sqlite").exists()


def test_commands_other_than_create_refuse_a_folder_without_a_queue(data_dir: Path) -> None:
    # `list` on the wrong folder must not answer "no users" from a queue it just created
    for args in (["list"], ["disable", "someone"], ["reset-password", "someone", "--generate"]):
        result = yocho(*args, "--data-dir", str(data_dir))
        assert result.exit_code == 1, result.output
        assert "no referral queue" in result.output and "--data-dir" in result.output
    assert not (data_dir / "queue.sqlite").exists()


def test_given_no_folder_the_commands_use_the_demo_folder(tmp_path: Path, data_dir: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    demo = tmp_path / "data" / "demo"
    ok("create", "admin", "--role", "admin", "--password-stdin", "--data-dir", str(demo), input=ADMIN_PW + "\n")
    (demo / "warehouse.duckdb").touch()  # a demo folder holds its warehouse beside the queue
    monkeypatch.chdir(tmp_path)  # ./data is the default data folder; ./data/demo the demo's
    listed = ok("list")
    assert "admin" in listed.stdout and "data/demo" in listed.output


def test_email_is_set_at_creation_or_later_and_checked_before_the_password(data_dir: Path) -> None:
    from signals.queue.contacts import recipients

    d = str(data_dir)
    ok("create", "root", "--role", "admin", "--password-stdin", "--data-dir", d, input=ADMIN_PW + "\n")
    created = ok("create", "rev", "--role", "bank_reviewer", "--institution", BANK, "--institution-name", "北海道銀行",
                 "--email", "rev@bank.example.jp", "--password-stdin", "--data-dir", d, input=REVIEWER_PW + "\n")
    assert "e-mail rev@bank.example.jp" in created.output
    refused = yocho("create", "other", "--role", "admin", "--email", "not-an-address", "--data-dir", d)
    assert refused.exit_code == 2 and "not an e-mail address" in refused.output and "password" not in refused.output
    with store_of(data_dir) as store:
        assert [(r.user.username, r.email) for r in recipients(store)] == [("rev", "rev@bank.example.jp")]
    assert "root@example.jp" in ok("set-email", "root", "root@example.jp", "--data-dir", d).output
    ok("set-email", "rev", "", "--data-dir", d)
    assert yocho("set-email", "nobody", "x@example.jp", "--data-dir", d).exit_code == 1
    with store_of(data_dir) as store:
        assert [(r.user.username, r.email) for r in recipients(store)] == [("root", "root@example.jp")]
