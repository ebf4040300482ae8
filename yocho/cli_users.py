"""`yocho users`: the operator's accounts of the review web app, from the server's shell.

create / disable / reset-password / set-email / list, on the queue the web app uses (`settings.queue_url`:
`<data dir>/queue.sqlite`, or YOCHO_QUEUE__URL for PostgreSQL). The work is done by the
queue's own account functions (signals/queue/auth.py, `operator_*`), so the rules are the web
admin page's: username, password length, role and institution, the last active administrator,
sessions ended in the same transaction, and a row in the account audit log naming
`operator:<OS user>`.

A password is never a command-line argument (it would stay in the shell history and show in
`ps`): it is typed twice with hidden input, or read from standard input (`--password-stdin`),
or, for `reset-password --generate`, made up here and printed once.
"""
from __future__ import annotations

import getpass
import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from signals.queue import QueueStore

users_app = typer.Typer(
    help="Accounts of the review web app: create, disable, reset a password, list. They work on the queue "
         "the web app uses: <data dir>/queue.sqlite, or YOCHO_QUEUE__URL (PostgreSQL).",
    no_args_is_help=True)

out = Console(width=None if os.isatty(1) else 160)
err = Console(stderr=True, width=None if os.isatty(2) else 160)

DataDir = typer.Option(None, "--data-dir", help="Data folder whose queue.sqlite to use (default: YOCHO_DATA_DIR or "
                                                 "./data); ignored when YOCHO_QUEUE__URL names another database.")
PasswordStdin = typer.Option(False, "--password-stdin",
                             help="Read the password from the first line of standard input instead of asking.")

# The queue's roles (signals.queue.lifecycle.Role), named here rather than imported: importing
# the queue takes half a second, and every `yocho` command would pay it to build its help.
ROLES = ("bank_reviewer", "cga_analyst", "council_intake", "admin")

# A generated password: 4 groups of 5 from 31 letters and digits that cannot be misread
# (no 0/o, 1/l/i), about 99 bits, readable over the telephone.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", soft_wrap=True, highlight=False)
    return typer.Exit(code)


def _operator() -> str:
    """The OS user running the command, and who became them with sudo: the audit log's actor."""
    try:
        user = getpass.getuser()
    except Exception:  # no name for this uid (a bare container): the uid still says who
        user = f"uid {os.getuid()}"
    sudo = os.environ.get("SUDO_USER")
    return f"{user} (sudo by {sudo})" if sudo and sudo != user else user


@contextmanager
def _queue(data_dir: Path | None, *, may_create: bool = False) -> Iterator[QueueStore]:
    """The queue store of the settings (its schema created or upgraded on open, like the web
    app's), saying on stderr which database it is, password hidden. Given no folder, the one
    the other commands use (yocho/data_folder.py: after a demo, its folder). Only `create`
    may make a new embedded queue (the first administrator of a deployment); the others
    refuse rather than answer from an empty one."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from signals.queue import QueueStore
    from signals.queue.schema import SchemaTooNew
    from yocho import data_folder
    from yocho.settings import load_settings

    base = load_settings()
    found = data_folder.resolve(base, data_dir)
    settings = found.settings
    if found.note:
        err.print(found.note, soft_wrap=True, highlight=False)
    if not may_create:
        try:
            data_folder.require_queue(settings, data_folder.looked_in(base, data_dir))
        except data_folder.NoData as exc:
            raise _fail(str(exc)) from None
    shown = make_url(settings.queue_url).render_as_string(hide_password=True)
    err.print(f"queue: {shown}", soft_wrap=True, highlight=False)
    try:
        store = QueueStore.from_settings(settings)
    except SchemaTooNew as exc:
        raise _fail(f"{exc}: upgrade Yocho first") from None
    except SQLAlchemyError as exc:
        raise _fail(f"cannot open the queue: {str(exc).splitlines()[0]}") from None
    try:
        yield store
    finally:
        store.close()


@contextmanager
def _refusals() -> Iterator[None]:
    """The queue's refusals (bad input, a rule, a taken name) as one line and exit status 1."""
    from signals.queue.lifecycle import QueueError

    try:
        yield
    except QueueError as exc:
        raise _fail(str(exc)) from None


def _read_password(from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.removesuffix("\n").removesuffix("\r")
        if not password:
            raise _fail("--password-stdin: standard input holds no password")
        return password
    return typer.prompt(prompt, hide_input=True, confirmation_prompt=True)


def generate_password() -> str:
    return "-".join("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4))


def _check_registration(institution_id: str) -> None:
    """An institution registered by hand must have an id the nightly run would use for it:
    `bank_<code in the 全銀 list>`, `cga_<01-51>` (yocho.contract) or `council`."""
    from signals.queue.actors import institution_kind
    from signals.queue.lifecycle import InvalidInput
    from yocho.contract import institution_source
    from yocho.ingest.validate import known_bank_codes

    try:
        kind = institution_kind(institution_id)
    except InvalidInput as exc:
        raise _fail(str(exc)) from None
    if kind == "council":
        from yocho.prefectures import council_prefecture

        # one council per prefecture (council_01 .. council_47); `council` is the one national
        # council of queues from before schema version 9
        if institution_id != "council" and council_prefecture(institution_id) is None:
            raise _fail(f"{institution_id}: a council is council_<NN>, NN a prefecture code 01-47")
        return
    try:
        institution_source(institution_id)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if kind == "bank" and institution_id.removeprefix("bank_") not in known_bank_codes():
        raise _fail(f"{institution_id}: not a bank code in the 全銀 bank code list")


@users_app.command("create")
def create(
    username: str = typer.Argument(..., help="Login name: letters, digits and . _ @ -"),
    role: str = typer.Option(..., "--role", help=f"What the user does in the web app: {', '.join(ROLES)}."),
    institution: str | None = typer.Option(
        None, "--institution", help="The user's institution: bank_<bank code> for a reviewer, cga_<NN> for an "
        "analyst, council_<NN> (the prefecture's council, e.g. council_13 for 東京都) for council intake; none for "
        "an administrator."),
    institution_name: str | None = typer.Option(
        None, "--institution-name", help="Register --institution under this name if the queue does not know it "
        "yet (the nightly run registers only institutions it has flagged businesses for). A council_<NN> is "
        "registered under its prefecture's name without it."),
    prefecture: int | None = typer.Option(
        None, "--prefecture", min=1, max=47, help="With --institution-name: the bank's home prefecture (JIS X 0401 "
        "code 1-47), which routes a referral of a business without a prefecture to that prefecture's council."),
    display_name: str | None = typer.Option(None, "--display-name", help="Name shown in the web app (default: "
                                                                          "the login name)."),
    email: str | None = typer.Option(None, "--email", help="Where the daily digest of the user's new work goes "
                                                           "(when e-mail is on: docs/deploy.md)."),
    password_stdin: bool = PasswordStdin,
    data_dir: Path | None = DataDir,
) -> None:
    """Create an account; the first administrator of an empty queue too."""
    from signals.queue.actors import Institution, as_institution, institution_kind
    from signals.queue.auth import check_new_account, operator_create_user
    from signals.queue.contacts import clean_email, operator_set_email
    from signals.queue.councils import council_institution
    from signals.queue.lifecycle import InvalidInput, Role
    from yocho.prefectures import council_prefecture

    if role not in {r.value for r in Role}:
        raise _fail(f"unknown role {role!r}: one of {', '.join(r.value for r in Role)}", 2)
    try:
        address = clean_email(email)
    except InvalidInput as exc:
        raise _fail(str(exc), 2) from None
    institution = institution or None
    register = None
    with _queue(data_dir, may_create=True) as store, _refusals():
        if institution is not None and institution_name:
            _check_registration(institution)
            register = as_institution(Institution(institution, institution_kind(institution),
                                                  institution_name.strip(), prefecture))
        elif institution is not None and institution.startswith("council_"):
            _check_registration(institution)
            register = council_institution(council_prefecture(institution) or 0)
        try:
            # everything but the password first: nobody types a password twice to learn the role was wrong
            check_new_account(store, username, role, institution, registering=register is not None)
        except InvalidInput as exc:
            if str(exc).startswith("unknown institution"):
                raise _fail(f"{exc}. Check the id, or register it with --institution-name NAME") from None
            raise
        password = _read_password(password_stdin, f"password for {username}")
        user = operator_create_user(store, _operator(), username=username, password=password, role=role,
                                    institution_id=institution, display_name=display_name,
                                    register_institution=register)
        if address:
            operator_set_email(store, user.username, address)
    err.print(f"created {user.username} ({user.role.value}"
              + (f", {user.institution_id}" if user.institution_id else "") + ")"
              + (f", e-mail {address}" if address else ""), highlight=False)


@users_app.command("set-email")
def set_email_command(
    username: str = typer.Argument(..., help="Login name."),
    email: str = typer.Argument(..., help="The address the daily digest goes to; \"\" clears it."),
    data_dir: Path | None = DataDir,
) -> None:
    """Set (or clear) the e-mail address an account's daily digest goes to."""
    from signals.queue.contacts import operator_set_email

    with _queue(data_dir) as store, _refusals():
        address = operator_set_email(store, username, email)
    err.print(f"e-mail of {username.strip()}: {address or 'none (no digest)'}", highlight=False)


@users_app.command("disable")
def disable(username: str = typer.Argument(..., help="Login name."), data_dir: Path | None = DataDir) -> None:
    """Disable an account: it can no longer log in, and its open sessions end now."""
    from signals.queue.auth import operator_disable_user

    with _queue(data_dir) as store, _refusals():
        user, revoked = operator_disable_user(store, _operator(), username)
    err.print(f"disabled {user.username}; {revoked} open session(s) ended", highlight=False)


@users_app.command("reset-password")
def reset_password(
    username: str = typer.Argument(..., help="Login name."),
    generate: bool = typer.Option(False, "--generate", help="Make up a random password and print it, once, on "
                                                            "standard output."),
    password_stdin: bool = PasswordStdin,
    data_dir: Path | None = DataDir,
) -> None:
    """Give an account a new password; its open sessions end."""
    from signals.queue.auth import operator_reset_password

    if generate and password_stdin:
        raise _fail("--generate or --password-stdin, not both", 2)
    with _queue(data_dir) as store, _refusals():
        password = generate_password() if generate else _read_password(password_stdin, f"new password for {username}")
        revoked = operator_reset_password(store, _operator(), username, password)
    err.print(f"password of {username.strip()} reset; {revoked} open session(s) ended; "
              "they choose their own at the next login", highlight=False)
    if generate:
        # stdout holds the password alone, for a pipe; it is not stored anywhere in clear
        err.print("new password (shown once; hand it over by a separate channel):", highlight=False)
        print(password)


def _when(moment: datetime | None) -> str:
    from signals.queue.clock import TOKYO

    return moment.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M") if moment else "—"


@users_app.command("list")
def list_command(data_dir: Path | None = DataDir) -> None:
    """Every account: login, name, role, institution, active or disabled, last login (Japan time)."""
    from signals.queue.auth import list_accounts

    with _queue(data_dir) as store:
        accounts = list_accounts(store)
    table = Table(title=f"{len(accounts)} account(s); times in Japan (JST)")
    for name in ("login", "name", "role", "institution", "status", "created", "last login", "open sessions"):
        table.add_column(name, justify="right" if name == "open sessions" else "left",
                         no_wrap=name in ("login", "role", "institution", "status"))
    for a in accounts:
        u = a.user
        status = "active" if u.active else f"disabled {_when(a.disabled_at)}"
        if u.active and a.must_change_password:
            status = "active, password to change"  # a password someone else set, not yet replaced
        table.add_row(u.username, u.display_name, u.role.value, u.institution_id or "—", status,
                      _when(a.created_at), _when(a.last_login), str(a.open_sessions))
    out.print(table)
