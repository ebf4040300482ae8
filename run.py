#!/usr/bin/env python3
"""Bootstrap and run Yocho with nothing but Python 3.11 and pip.

    python3 run.py demo      # generate a portfolio, ingest it, print the summary
    python3 run.py test      # ruff (lint), then the test suite (what CI runs)
    python3 run.py yocho ... # any other `yocho` command inside the project's environment

The first call creates `.venv/` and installs the pinned lock; later calls reuse it
until requirements.lock or pyproject.toml changes.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("YOCHO_VENV", ROOT / ".venv"))
PY = VENV / "bin" / "python"
STAMP = VENV / ".yocho-installed"


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_env() -> None:
    want = _fingerprint()
    if STAMP.exists() and STAMP.read_text() == want and PY.exists():
        return
    if not PY.exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    print("installing pinned dependencies (requirements.lock)", flush=True)
    subprocess.run(pip + ["-r", str(ROOT / "requirements.lock")], check=True)
    subprocess.run(pip + ["--no-deps", "-e", str(ROOT)], check=True)
    STAMP.write_text(want)


def _ends_with_us():
    """For Popen's preexec_fn (Linux): the child is sent SIGTERM when this process ends, however
    it ends, so killing `python3 run.py demo` (a CI timeout, kill -9) does not leave the `yocho`
    command running on; that command's own watchdog then stops its Prefect server
    (yocho/prefect_server.py). PR_SET_PDEATHSIG fires when the thread that started the child
    ends; this launcher has only its main thread, which lives until the child is done. None
    where prctl is not available: the child then outlives a killed launcher."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    launcher = os.getpid()

    def in_child() -> None:
        prctl(1, int(signal.SIGTERM))  # 1: PR_SET_PDEATHSIG
        if os.getppid() != launcher:  # the launcher ended before the signal was armed
            os.kill(os.getpid(), signal.SIGTERM)

    return in_child


def launch(cmd: list[str], env: dict[str, str]) -> int:
    """Run `cmd` from the repository root until it ends; its exit status."""
    return subprocess.run(cmd, cwd=ROOT, env=env, preexec_fn=_ends_with_us()).returncode


def main(argv: list[str]) -> int:
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    ensure_env()
    env = dict(os.environ)
    # No network here or at most users' sites: never phone home.
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.setdefault("DO_NOT_TRACK", "1")
    # Prefect's temporary server may take more than its default 20 s to start on a busy machine.
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")
    command, rest = argv[0], argv[1:]
    if command == "test":
        # lint first: a finding fails the test command before any test runs (rules in pyproject.toml)
        lint = launch([str(VENV / "bin" / "ruff"), "check", "."], env)
        if lint != 0:
            print("ruff check found problems (above); fix them (`.venv/bin/ruff check --fix .` fixes the safe ones)", file=sys.stderr)
            return lint
        cmd = [str(PY), "-m", "pytest", *rest]
    elif command == "yocho":
        cmd = [str(VENV / "bin" / "yocho"), *rest]
    else:
        cmd = [str(VENV / "bin" / "yocho"), command, *rest]
    return launch(cmd, env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
