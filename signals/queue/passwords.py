"""Password hashing for the queue's accounts: scrypt parameters, hashing and checking.

Passwords are hashed with the standard library's scrypt (`hashlib.scrypt`), a random 16-byte
salt per hash, and compared in constant time (`hmac.compare_digest`). Default cost
N=2^14, r=8, p=5: one of OWASP's equivalent scrypt settings (16 MiB of memory, about
0.15 s per hash on one core). The parameters are stored in the hash itself
(`scrypt$N$r$p$salt$hash`, base64), so they can be raised later.

Pure functions, no database: the store only needs the cost it hashes with
(`QueueStore.password_params`), so it imports this module and not the account functions in
signals/queue/auth.py, which import the store.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass


@dataclass(frozen=True)
class ScryptParams:
    n: int = 2 ** 14  # CPU/memory cost (a power of two)
    r: int = 8  # block size
    p: int = 5  # parallelism
    dklen: int = 32  # bytes of derived key
    salt_bytes: int = 16

    @property
    def maxmem(self) -> int:
        # scrypt needs about 128·r·N bytes (+ 128·r·p); leave headroom above hashlib's 32 MiB default.
        return 2 * 128 * self.r * (self.n + self.p) + (1 << 20)


DEFAULT_SCRYPT = ScryptParams()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, params: ScryptParams = DEFAULT_SCRYPT) -> str:
    """`scrypt$N$r$p$<salt>$<key>` with a fresh random salt: the same password never hashes
    the same twice."""
    salt = secrets.token_bytes(params.salt_bytes)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=params.n, r=params.r, p=params.p,
                         maxmem=params.maxmem, dklen=params.dklen)
    return f"scrypt${params.n}${params.r}${params.p}${_b64(salt)}${_b64(key)}"


def _parse(encoded: str) -> tuple[ScryptParams, bytes, bytes] | None:
    try:
        scheme, n, r, p, salt, key = encoded.split("$")
        if scheme != "scrypt":
            return None
        salt_bytes, key_bytes = base64.b64decode(salt), base64.b64decode(key)
        return ScryptParams(int(n), int(r), int(p), len(key_bytes), len(salt_bytes)), salt_bytes, key_bytes
    except ValueError:
        return None


def verify_password(password: str, encoded: str) -> bool:
    parsed = _parse(encoded)
    if parsed is None:
        return False
    params, salt, key = parsed
    candidate = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=params.n, r=params.r, p=params.p,
                               maxmem=params.maxmem, dklen=params.dklen)
    return hmac.compare_digest(candidate, key)


def needs_rehash(encoded: str, params: ScryptParams = DEFAULT_SCRYPT) -> bool:
    parsed = _parse(encoded)
    if parsed is None:
        return True
    stored = parsed[0]
    return (stored.n, stored.r, stored.p, stored.dklen) < (params.n, params.r, params.p, params.dklen) or (
        stored.n * stored.r * stored.p < params.n * params.r * params.p)


def _dummy_hash(params: ScryptParams) -> str:
    """A well-formed hash with these parameters that no password matches (random salt and
    key): checking a password against it costs exactly one scrypt, like a real user's hash,
    and building it costs none."""
    return (f"scrypt${params.n}${params.r}${params.p}$"
            f"{_b64(secrets.token_bytes(params.salt_bytes))}${_b64(secrets.token_bytes(params.dklen))}")
