#!/usr/bin/env python3
"""Bootstrap and run Yocho with nothing but Python 3.11 and pip.

    python3 run.py demo      # the whole job on a synthetic portfolio, in data/demo
    python3 run.py test      # ruff (lint), then the test suite (what CI runs)
    python3 run.py yocho ... # any other `yocho` command inside the project's environment

demo: generates the files three banks and a credit guarantee association would send (20,000
businesses x 36 months), ingests them into the DuckDB warehouse, scans every month-end for
warning signs, trains and backtests the risk models, scores the last six month-ends, flags
businesses into the referral queue and creates demo logins; then
`python3 run.py yocho serve --data-dir data/demo --insecure-demo-secret` serves the review web
app on http://127.0.0.1:8000/. About 9 minutes and 8 GB of memory at its peak on a
2-core machine (over an hour on a fully busy one); `python3 run.py demo --businesses 2000` is quicker.
It deletes what an earlier demo left in data/demo (a folder it did not write needs --force).
After it, `python3 run.py yocho summary` (scan, score, flags ...) reads data/demo by itself.

test: about 16 minutes on 2 idle cores; `python3 run.py test -m slow` runs the long tests
(about 30 minutes).

The first call creates `.venv/` and installs the pinned lock (about 4 minutes); later calls
reuse it until requirements.lock or pyproject.toml changes. The command runs as a child of this
launcher: Ctrl-C, SIGTERM or SIGHUP is passed on to it, and killing the launcher ends it.
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


# Signals that ask the launcher to stop. They are passed on to the command, and the launcher
# ends when the command has: a stopped `run.py yocho serve` leaves no server, and whoever sent
# the signal sees the launcher end only once the command is done.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# si_code of a signal the terminal sent (Ctrl-C, hang-up) to its whole foreground process group,
# to which the command belongs as well: it has the signal already and is not sent it twice
# (a second SIGINT makes uvicorn skip its graceful shutdown).
SI_KERNEL = 0x80
# Set once the launcher has been asked to stop: it starts no further command.
stop_requested: int | None = None


def _ends_with_us(mask: set[signal.Signals] | None = None):
    """For Popen's preexec_fn: the child gets the signal mask `mask` (the launcher blocks the
    stop signals while it waits; a child must not inherit that) and, on Linux, is sent SIGTERM
    when this process ends, however it ends, so killing `python3 run.py demo` (a CI timeout,
    kill -9) does not leave the `yocho` command running on; that command's own watchdog then
    stops its Prefect server (yocho/prefect_server.py). PR_SET_PDEATHSIG fires when the thread
    that started the child ends; this launcher has only its main thread, which lives until the
    child is done. Without prctl the child outlives a killed launcher."""
    prctl = None
    if sys.platform.startswith("linux"):
        try:
            prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            prctl = None
    if prctl is None and mask is None:
        return None
    launcher = os.getpid()

    def in_child() -> None:
        if mask is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if prctl is not None:
            prctl(1, int(signal.SIGTERM))  # 1: PR_SET_PDEATHSIG
            if os.getppid() != launcher:  # the launcher ended before the signal was armed
                os.kill(os.getpid(), signal.SIGTERM)

    return in_child


def launch(cmd: list[str], env: dict[str, str]) -> int:
    """Run `cmd` from the repository root until it ends; its exit status (128 + N when a
    signal N ended it, as a shell reports it).

    SIGINT, SIGTERM and SIGHUP sent to the launcher are passed on to the command, and the
    launcher waits for it to end (formerly Ctrl-C killed the command with SIGKILL, mid-shutdown,
    and printed the launcher's traceback). A signal the launcher inherited as ignored (nohup,
    a background job of a script) stays ignored, by the command too. Where signals cannot be
    waited for (no sigtimedwait: macOS), the command is only run."""
    global stop_requested
    if not hasattr(signal, "sigtimedwait"):
        return _status(subprocess.run(cmd, cwd=ROOT, env=env, preexec_fn=_ends_with_us()).returncode)
    stops = {s for s in STOP_SIGNALS if signal.getsignal(s) != signal.SIG_IGN}
    waited = stops | {signal.SIGCHLD}
    # blocked, they wait in the kernel for sigtimedwait below instead of interrupting Popen
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    try:
        child = subprocess.Popen(cmd, cwd=ROOT, env=env, preexec_fn=_ends_with_us(mask))
        while child.poll() is None:
            info = signal.sigtimedwait(waited, 1.0)
            if info is None or info.si_signo == signal.SIGCHLD:
                continue
            stop_requested = info.si_signo
            if info.si_code != SI_KERNEL:
                child.send_signal(info.si_signo)
        # one that came as the command ended: no further command either
        while (info := signal.sigtimedwait(waited, 0)) is not None:
            if info.si_signo != signal.SIGCHLD:
                stop_requested = info.si_signo
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return _status(child.returncode)


def _status(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode


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
        if stop_requested is not None:
            return lint or 128 + stop_requested
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
