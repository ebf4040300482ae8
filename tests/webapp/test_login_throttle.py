"""Login throttling: exponential back-off per username and per client address, refused
attempts answered 429 with Retry-After in Japanese or English, without a password check."""
from __future__ import annotations

import pytest

import webapp.routes_auth as routes_auth
from tests.webapp.conftest import USERS, Browser, csrf_of, password
from webapp.throttle import ADDRESS_POLICY, USERNAME_POLICY, BackoffPolicy, LoginThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_after_the_free_attempts_and_is_capped():
    policy = BackoffPolicy(free=3, base_seconds=1, max_seconds=10)
    assert [policy.lock_seconds(n) for n in range(1, 9)] == [0, 0, 1, 2, 4, 8, 10, 10]
    assert USERNAME_POLICY.free < ADDRESS_POLICY.free


def test_the_throttle_counts_attempts_before_their_outcome_and_forgives_a_success():
    clock = FakeClock()
    throttle = LoginThrottle(username_policy=BackoffPolicy(free=2, base_seconds=1, max_seconds=60),
                             address_policy=BackoffPolicy(free=5, base_seconds=1, max_seconds=60), clock=clock)
    assert throttle.attempt("Admin", "10.0.0.1").allowed
    assert throttle.attempt("admin ", "10.0.0.2").allowed  # the same username, case and spaces aside
    refused = throttle.attempt("admin", "10.0.0.3")
    assert not refused.allowed and refused.retry_after == 1 and refused.first_refusal
    assert not throttle.attempt("admin", "10.0.0.3").first_refusal  # reported once per lock
    clock.now += 1
    assert throttle.attempt("admin", "10.0.0.3").allowed  # the third attempt: now locked for 2 s
    assert throttle.attempt("admin", "10.0.0.3").retry_after == 2
    clock.now += 2
    assert throttle.attempt("admin", "10.0.0.4").allowed
    throttle.succeeded("admin", "10.0.0.4")
    assert throttle.attempt("admin", "10.0.0.4").allowed  # a success clears the username
    # the address: five attempts with five usernames, then locked whatever the username
    for i in range(5):
        assert throttle.attempt(f"user{i}", "10.9.9.9").allowed
    assert not throttle.attempt("someone", "10.9.9.9").allowed
    clock.now += 3600 + 60
    assert throttle.attempt("someone", "10.9.9.9").allowed  # forgotten after an hour


def test_the_throttle_keeps_a_bounded_number_of_keys():
    clock = FakeClock()
    throttle = LoginThrottle(max_keys=100, clock=clock)
    for i in range(1000):
        clock.now += 0.001
        throttle.attempt(f"user{i}", f"10.0.{i // 250}.{i % 250}")
    assert all(len(entries) <= 100 for entries in throttle._entries.values())


@pytest.mark.parametrize("lang, text", [("ja", "ログインの試行が多すぎます"), ("en", "Too many login attempts")])
def test_a_refused_login_is_429_with_retry_after_and_no_password_check(app, browser: Browser, monkeypatch,
                                                                         lang, text):
    checks = []
    real = routes_auth.authenticate

    def counted(*args, **kwargs):
        checks.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(routes_auth, "authenticate", counted)
    token = csrf_of(browser.client.get(f"/login?lang={lang}").text)
    for _ in range(USERNAME_POLICY.free):
        r = browser.client.post("/login", data={"username": USERS["bank_a"], "password": "wrong-password-1",
                                                "csrf_token": token})
        assert r.status_code == 401
    assert len(checks) == USERNAME_POLICY.free
    # locked: even the right password is refused, at once, without checking it
    r = browser.client.post("/login", data={"username": USERS["bank_a"], "password": password(USERS["bank_a"]),
                                            "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert text in r.text
    assert len(checks) == USERNAME_POLICY.free
    assert browser.client.get("/cases", follow_redirects=False).status_code == 303  # not logged in
    # another user from another address is not affected
    other = Browser(type(browser.client)(app))
    assert other.login(USERS["bank_b"]).status_code == 303
    # once the lock is over, the right password logs in and clears the record
    throttle = app.state.login_throttle
    monkeypatch.setattr(throttle, "clock", lambda: 10 ** 9)
    assert browser.login(USERS["bank_a"]).status_code == 303


def test_an_address_trying_many_usernames_is_throttled(app, browser: Browser):
    token = csrf_of(browser.client.get("/login").text)
    codes = [browser.client.post("/login", data={"username": f"guess{i}", "password": "wrong-password-1",
                                                 "csrf_token": token}).status_code
             for i in range(ADDRESS_POLICY.free + 3)]
    assert codes[:ADDRESS_POLICY.free] == [401] * ADDRESS_POLICY.free
    assert set(codes[ADDRESS_POLICY.free:]) == {429}
