"""The session secret is never a default: the web app refuses to start without one it can
trust, and a cookie signed with the value the code once shipped opens nothing."""
from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from typer.testing import CliRunner

from signals.queue import open_session
from tests.webapp.conftest import SECRET, Seeded
from webapp import create_app
from webapp.security import DEMO_SECRET, SESSION_COOKIE, InsecureSecret, session_secret
from yocho.cli import app as cli
from yocho.settings import QueueSettings


def forged_cookie(secret: str, uid: int, username: str, sid: str | None = None) -> str:
    """A session cookie as the middleware writes one, signed with `secret` (naming the
    server-side session `sid`, if given)."""
    payload = {"uid": uid, "un": username, "login_at": time.time(), **({"sid": sid} if sid else {})}
    body = base64.urlsafe_b64encode(json.dumps(payload).encode())
    return TimestampSigner(secret, salt="yocho.webapp.session").sign(body).decode("ascii")


def _with_secret(seeded: Seeded, secret: str) -> Any:
    return seeded.settings.model_copy(update={"queue": QueueSettings(url=seeded.settings.queue.url, secret_key=secret)})


@pytest.mark.parametrize("secret", ["", "   ", DEMO_SECRET, "short-but-not-empty"])
def test_the_app_refuses_to_start_without_a_trustworthy_secret(seeded: Seeded, secret: str) -> None:
    with pytest.raises(InsecureSecret, match="YOCHO_QUEUE__SECRET_KEY"):
        create_app(_with_secret(seeded, secret), store=seeded.store)


def test_the_old_default_is_refused_even_with_the_demo_flag() -> None:
    with pytest.raises(InsecureSecret, match="old built-in demo value"):
        session_secret(DEMO_SECRET, insecure_demo_secret=True)
    assert session_secret(SECRET) == SECRET


def test_a_cookie_signed_with_the_old_default_opens_nothing(seeded: Seeded) -> None:
    """The forged-cookie attack: {"uid": admin, "un": "admin"} signed with the value the code
    once shipped. With the demo flag the key is random, so the forgery is an anonymous visitor."""
    admin = seeded.users["admin"]
    # Even naming a live server-side session of the admin (the strongest forgery), the old key opens nothing.
    sid = open_session(seeded.store, admin, 3600)
    app = create_app(_with_secret(seeded, ""), store=seeded.store, insecure_demo_secret=True)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.cookies.set(SESSION_COOKIE, forged_cookie(DEMO_SECRET, admin.id, admin.username, sid))
        response = client.get("/admin/users", follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    # the same forgery with the configured key does open the page: the test can fail
    with TestClient(create_app(seeded.settings, store=seeded.store), base_url="http://127.0.0.1") as client:
        client.cookies.set(SESSION_COOKIE, forged_cookie(SECRET, admin.id, admin.username, sid))
        assert client.get("/admin/users", follow_redirects=False).status_code == 200


def test_two_demo_processes_sign_with_different_keys() -> None:
    assert session_secret("", insecure_demo_secret=True) != session_secret("", insecure_demo_secret=True)


def test_yocho_serve_says_how_to_set_the_secret(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("YOCHO_QUEUE__SECRET_KEY", raising=False)
    result = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "will not start" in result.output and "YOCHO_QUEUE__SECRET_KEY" in result.output
    assert "--insecure-demo-secret" in result.output
    beyond = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path), "--host", "0.0.0.0",
                                      "--insecure-demo-secret"])
    assert beyond.exit_code == 2 and "127.0.0.1" in beyond.output
