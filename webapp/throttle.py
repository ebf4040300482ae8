"""Login throttling: exponential back-off per username and per client address.

Every login attempt is counted against two keys, the username as typed (case-folded) and
the client's address, *before* its password is checked, so a burst of concurrent attempts is
counted as it arrives rather than after the hashes finish. A successful login gives its
attempt back (and clears the username's record). Once a key has `free` attempts counted, each
further attempt locks it for `base_seconds · 2^(attempts − free)`, at most `max_seconds`;
an attempt while either key is locked is refused at once — no database, no password hash —
and the web app answers 429 with `Retry-After`. Refused attempts do not extend the lock, so
nobody can keep an account locked for longer than `max_seconds` at a time. A key with no
attempt for `forget_seconds` starts afresh.

The record lives in the memory of one web process (bounded to `max_keys` keys per kind,
oldest forgotten first): with several processes each keeps its own, so the limits are per
process. Behind a proxy the client address is the one uvicorn's `proxy_headers` takes from
the proxy (set `FORWARDED_ALLOW_IPS`); otherwise every user shares the proxy's address, which
is why the address allows more attempts than a username.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    free: int  # attempts counted before the first lock
    base_seconds: float  # the first lock; each further attempt doubles it
    max_seconds: float
    forget_seconds: float = 3600.0  # no attempt for this long: the key starts afresh

    def lock_seconds(self, attempts: int) -> float:
        if attempts < self.free:
            return 0.0
        return min(self.max_seconds, self.base_seconds * 2.0 ** min(attempts - self.free, 40))


USERNAME_POLICY = BackoffPolicy(free=5, base_seconds=1.0, max_seconds=900.0)
ADDRESS_POLICY = BackoffPolicy(free=20, base_seconds=1.0, max_seconds=300.0)
MAX_KEYS = 10_000


@dataclass
class _Entry:
    attempts: int = 0
    last: float = 0.0
    locked_until: float = 0.0
    reported_until: float = 0.0  # the lock whose first refusal was reported


@dataclass(frozen=True)
class Verdict:
    """`allowed`: go on and check the password (the attempt is counted). Otherwise
    `retry_after` seconds (whole, at least 1) and `first_refusal`: the first refusal of this
    lock, worth one audit row."""
    allowed: bool
    retry_after: int = 0
    first_refusal: bool = False


class LoginThrottle:
    """Thread-safe; one per web app."""

    def __init__(self, *, username_policy: BackoffPolicy = USERNAME_POLICY,
                 address_policy: BackoffPolicy = ADDRESS_POLICY, max_keys: int = MAX_KEYS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policies = {"user": username_policy, "addr": address_policy}
        self.max_keys = max_keys
        self.clock = clock
        self._entries: dict[str, dict[str, _Entry]] = {"user": {}, "addr": {}}
        self._lock = threading.Lock()

    @staticmethod
    def _keys(username: str, address: str | None) -> dict[str, str]:
        return {"user": (username or "").strip().casefold()[:128], "addr": address or "unknown"}

    def _entry(self, kind: str, key: str, now: float, create: bool) -> _Entry | None:
        entries = self._entries[kind]
        entry = entries.get(key)
        if entry is not None and now - entry.last > self.policies[kind].forget_seconds and now >= entry.locked_until:
            del entries[key]
            entry = None
        if entry is None and create:
            if len(entries) >= self.max_keys:
                self._prune(kind, now)
            entry = entries[key] = _Entry(last=now)
        return entry

    def _prune(self, kind: str, now: float) -> None:
        entries, policy = self._entries[kind], self.policies[kind]
        for key in [k for k, e in entries.items() if now - e.last > policy.forget_seconds and now >= e.locked_until]:
            del entries[key]
        if len(entries) >= self.max_keys:  # still full: forget the oldest half
            for key, _ in sorted(entries.items(), key=lambda kv: kv[1].last)[: len(entries) // 2 + 1]:
                del entries[key]

    def attempt(self, username: str, address: str | None) -> Verdict:
        """Count a login attempt, or refuse it while the username or the address is locked."""
        now = self.clock()
        keys = self._keys(username, address)
        with self._lock:
            locked_until, first = 0.0, False
            for kind, key in keys.items():
                entry = self._entry(kind, key, now, create=False)
                if entry is not None and entry.locked_until > now:
                    if entry.reported_until < entry.locked_until:
                        entry.reported_until, first = entry.locked_until, True
                    locked_until = max(locked_until, entry.locked_until)
            if locked_until:
                return Verdict(False, max(1, math.ceil(locked_until - now)), first)
            for kind, key in keys.items():
                entry = self._entry(kind, key, now, create=True)
                assert entry is not None
                entry.attempts += 1
                entry.last = now
                lock = self.policies[kind].lock_seconds(entry.attempts)
                if lock:
                    entry.locked_until = now + lock
            return Verdict(True)

    def succeeded(self, username: str, address: str | None) -> None:
        """The attempt logged in: the username's record goes, the address gets its attempt back."""
        now = self.clock()
        keys = self._keys(username, address)
        with self._lock:
            self._entries["user"].pop(keys["user"], None)
            entry = self._entry("addr", keys["addr"], now, create=False)
            if entry is not None:
                entry.attempts = max(0, entry.attempts - 1)
                if entry.attempts < self.policies["addr"].free:
                    entry.locked_until = 0.0
