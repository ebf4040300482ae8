"""`python3 run.py …` runs its command as a child that ends with it: a killed launcher (a CI
timeout, kill -9) leaves no `yocho` command running on, and a launcher asked to stop (SIGTERM,
SIGINT, SIGHUP) passes the signal on, once, and ends when its command has."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import gone

ROOT = Path(__file__).parents[1]

LAUNCHER = """
import os, sys
sys.path.insert(0, sys.argv[1])
import run
run.launch([sys.executable, "-c", "import os, time; print(os.getpid(), flush=True); time.sleep(600)"], dict(os.environ))
"""

# A command that counts the SIGINTs it gets: one arrives, it waits a second for a duplicate,
# says how many came and ends.
COUNTING = """
import os, signal, time
count = 0
def on_sigint(signum, frame):
    global count
    count += 1
signal.signal(signal.SIGINT, on_sigint)
print("child", os.getpid(), flush=True)
deadline = time.monotonic() + 60
while not count and time.monotonic() < deadline:
    time.sleep(0.02)
time.sleep(1.0)
print("sigints", count, flush=True)
"""

COUNTING_LAUNCHER = """
import os, sys
sys.path.insert(0, sys.argv[1])
import run
status = run.launch([sys.executable, "-c", sys.argv[2]], dict(os.environ))
print("status", status, "stop", run.stop_requested, flush=True)
"""

# `python3 run.py yocho serve …` as it runs, but without checking the environment's install
SERVING_LAUNCHER = """
import sys
sys.path.insert(0, sys.argv[1])
import run
run.ensure_env = lambda: None
sys.exit(run.main(sys.argv[2:]))
"""

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG and /proc are Linux's")


def _stop_signals_at_default() -> None:
    """For the launcher: the signals a shell may hand down ignored (a background job of a
    script ignores SIGINT) as they are for a command typed at a terminal."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _wait_until(condition, seconds: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < seconds, what
        time.sleep(0.05)
    return time.monotonic() - started


@linux_only
def test_the_command_ends_when_its_launcher_is_killed() -> None:
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(ROOT)], stdout=subprocess.PIPE, text=True)
    child = int(launcher.stdout.readline())
    try:
        assert not gone(child)
        launcher.send_signal(signal.SIGKILL)
        launcher.wait(timeout=30)
        _wait_until(lambda: gone(child), 10, f"the command {child} outlived its launcher")
    finally:
        if not gone(child):
            os.kill(child, signal.SIGKILL)


@linux_only
def test_sigint_sent_to_the_launcher_reaches_the_command_once_and_the_launcher_waits_for_it() -> None:
    """Formerly the launcher died of KeyboardInterrupt and SIGKILLed its command."""
    launcher = subprocess.Popen([sys.executable, "-c", COUNTING_LAUNCHER, str(ROOT), COUNTING],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                preexec_fn=_stop_signals_at_default)
    try:
        child = int(launcher.stdout.readline().split()[1])
        launcher.send_signal(signal.SIGINT)
        out = launcher.communicate(timeout=30)[0]
    finally:
        launcher.kill()
    assert "sigints 1" in out and "status 0 stop 2" in out, out
    assert "Traceback" not in out and gone(child)


@linux_only
def test_ctrl_c_at_the_terminal_reaches_the_command_once() -> None:
    """Ctrl-C goes from the terminal to its whole foreground process group, the command with
    the launcher: the launcher does not send it a second one."""
    import fcntl
    import pty
    import termios

    master, slave = pty.openpty()

    def own_terminal() -> None:
        _stop_signals_at_default()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # a new session (start_new_session) takes the pty

    launcher = subprocess.Popen([sys.executable, "-c", COUNTING_LAUNCHER, str(ROOT), COUNTING],
                                stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                preexec_fn=own_terminal)
    os.close(slave)
    out = b""
    try:
        deadline = time.monotonic() + 30
        while b"child" not in out and time.monotonic() < deadline:
            out += os.read(master, 1024)
        os.write(master, b"\x03")  # Ctrl-C
        while time.monotonic() < deadline:
            try:
                chunk = os.read(master, 1024)
            except OSError:  # EIO: the launcher, the pty's last process, has ended
                break
            if not chunk:
                break
            out += chunk
        launcher.wait(timeout=30)
    finally:
        launcher.kill()
        os.close(master)
    text = out.decode(errors="replace")
    assert "sigints 1" in text and "status 0 stop 2" in text, text


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as stat:
                    if int(stat.read().rsplit(b")", 1)[1].split()[1]) == pid:
                        found.append(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    return found


@pytest.fixture(scope="module")
def demo_queue(tmp_path_factory) -> Path:
    """A data folder as the demo leaves it for the web app: a warehouse and a queue with the
    demo's logins (empty of cases)."""
    from signals.queue import QueueStore, seed_demo_users
    from yocho.settings import Settings
    from yocho.warehouse.db import warehouse

    settings = Settings(data_dir=tmp_path_factory.mktemp("served"), duckdb_memory_limit="1GB")
    with warehouse(settings):
        pass
    with QueueStore.from_settings(settings) as store:
        seed_demo_users(store, [("bank_0116", "demo bank")])
    return settings.data_dir


@linux_only
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGKILL],
                         ids=lambda s: signal.Signals(s).name)
def test_stopping_the_launcher_stops_yocho_serve(demo_queue: Path, tmp_path: Path, signum: int) -> None:
    """`python3 run.py yocho serve …`, then run.py alone is signalled: the server's port closes
    and no process of it remains within seconds."""
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        launcher = subprocess.Popen(
            [sys.executable, "-c", SERVING_LAUNCHER, str(ROOT), "yocho", "serve", "--data-dir", str(demo_queue),
             "--insecure-demo-secret", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=_stop_signals_at_default)
    served: list[int] = []
    try:
        _wait_until(lambda: _listening(port) or launcher.poll() is not None, 60, "the web app did not start")
        assert launcher.poll() is None, log.read_text()
        served = _children(launcher.pid)
        assert served, "the launcher has no child"
        launcher.send_signal(signum)
        launcher.wait(timeout=20)
        _wait_until(lambda: not _listening(port), 10, f"port {port} still open after {signum!r}")
        _wait_until(lambda: all(gone(pid) for pid in served), 10, f"{served} outlived the launcher")
    finally:
        for pid in [launcher.pid, *served]:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
    text = log.read_text()
    assert "Traceback" not in text, text
    if signum != signal.SIGHUP:  # uvicorn shuts down gracefully on SIGTERM and SIGINT (PDEATHSIG: SIGTERM)
        assert "Finished server process" in text, text
