"""A bounded login flood against the real server on loopback, on SQLite and on PostgreSQL:
30 threads × 4 failed logins while a logged-in bank reviewer moves cases. The reviewer's
moves must each finish in under 2 s, and no login may fail with a server error.

The server (uvicorn on a free port of 127.0.0.1, as in test_browser.py) hashes with the real
default scrypt cost, so the flood costs what it would in production. Two shapes of flood:
every attempt from 127.0.0.1 (the per-address back-off refuses most of them), and each thread
from its own loopback address 127.0.0.10–39 with its own unknown username (no back-off
applies: every attempt is checked, so this shows the password checks do not hold the database
or the worker threads). Bounded: 120 attempts, a 60 s client timeout.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from signals.queue import DEFAULT_SCRYPT, QueueStore, Role, State, create_user
from tests.signals.queue.conftest import fresh_queue_url, pg_database, pg_server  # noqa: F401 - fixtures
from tests.webapp.conftest import USERS, csrf_of, password, seed_queue, serving

THREADS, ATTEMPTS = 30, 4
MAX_TRANSITION_SECONDS = 2.0
FLOOD_USER, FLOOD_PASSWORD = "flood.target", "a-real-password-1"


@pytest.fixture(params=["sqlite", "postgresql"])
def flood_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_queue_url(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def live(flood_url: str, tmp_path: Path) -> Iterator[tuple[str, Any, QueueStore]]:
    """The seeded queue served by uvicorn on 127.0.0.1 through a store with the real scrypt cost."""
    from webapp import create_app

    seeded = seed_queue(flood_url, tmp_path / "data")
    store = QueueStore(flood_url, clock=seeded.clock, password_params=DEFAULT_SCRYPT)
    create_user(store, seeded.users["admin"], username=FLOOD_USER, password=FLOOD_PASSWORD,
                role=Role.BANK_REVIEWER, institution_id=seeded.users["bank_b"].institution_id)
    try:
        with serving(create_app(seeded.settings, store=store), "uvicorn-flood-test") as base:
            yield base, seeded, store
    finally:
        store.close()
        seeded.store.close()


def _client(base: str, source: str = "127.0.0.1") -> httpx.Client:
    return httpx.Client(base_url=base, timeout=60, follow_redirects=False,
                        transport=httpx.HTTPTransport(local_address=source))


@pytest.mark.slow  # a load test of 60-100 s: CI runs it in its slow pass
@pytest.mark.parametrize("sources", ["one address", "thirty addresses"])
def test_a_login_flood_does_not_slow_a_reviewers_moves(live, sources):
    base, seeded, _store = live
    reviewer = _client(base)
    page = reviewer.get("/login")
    assert reviewer.post("/login", data={"username": USERS["bank_a"], "password": password(USERS["bank_a"]),
                                         "csrf_token": csrf_of(page.text)}).status_code == 303
    token = csrf_of(reviewer.get("/cases").text)
    bank_a, ids = seeded.users["bank_a"], seeded.case_ids

    statuses: list[tuple[int, str | None]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS + 1)
    lock = threading.Lock()
    flood_done = threading.Event()

    def flood(i: int) -> None:
        source = "127.0.0.1" if sources == "one address" else f"127.0.0.{10 + i}"
        username = FLOOD_USER if i % 3 == 0 and sources == "one address" else f"nobody.{i}"
        try:
            with _client(base, source) as client:
                csrf = csrf_of(client.get("/login").text)
                start.wait(timeout=30)
                for _ in range(ATTEMPTS):
                    r = client.post("/login", data={"username": username, "password": "wrong-password-123",
                                                    "csrf_token": csrf})
                    with lock:
                        statuses.append((r.status_code, r.headers.get("retry-after")))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=flood, args=(i,), daemon=True) for i in range(THREADS)]
    for t in threads:
        t.start()
    start.wait(timeout=30)
    flood_started = time.monotonic()
    time.sleep(0.3)  # the flood is under way

    moves = [("A1", State.UNDER_REVIEW), ("A5", State.UNDER_REVIEW), ("A1", State.CONSENT_OBTAINED)]
    timings = []
    for label, target in moves:
        version = seeded.store.get_case(bank_a, ids[label]).version
        began = time.monotonic()
        response = reviewer.post(f"/cases/{ids[label]}/transition", data={
            "to_state": target.value, "version": version, "note": "flood test", "consent_on": "2026-11-24",
            "consent_method": "written", "consent_from": "代表取締役 北陸太郎", "consent_document_ref": "同意書-1",
            "consent_shared": ["signs"], "csrf_token": token})
        timings.append(time.monotonic() - began)
        assert response.status_code == 303, response.text
        assert seeded.store.get_case(bank_a, ids[label]).state is target
    moves_done = time.monotonic() - flood_started

    for t in threads:
        t.join(timeout=90)
    flood_done.set()
    flood_seconds = time.monotonic() - flood_started
    reviewer.close()
    print(f"\n[{seeded.store.backend}, {sources}] transitions {', '.join(f'{s:.3f}' for s in timings)} s; "
          f"moves done {moves_done:.2f} s into a flood of {flood_seconds:.2f} s; statuses "
          f"{ {code: sum(1 for c, _ in statuses if c == code) for code in sorted({c for c, _ in statuses})} }")
    assert not errors, errors
    assert len(statuses) == THREADS * ATTEMPTS
    assert {code for code, _ in statuses} <= {401, 429}, statuses  # never a 500
    assert all(retry and int(retry) >= 1 for code, retry in statuses if code == 429)
    if sources == "one address":
        assert sum(1 for code, _ in statuses if code == 429) >= THREADS * ATTEMPTS // 2
    assert max(timings) < MAX_TRANSITION_SECONDS, timings
