"""Prefect's temporary server ends with the yocho command that started it, also when the command
is killed, and each data folder has its own Prefect home (yocho/prefect_server.py)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.processes import gone
from yocho.prefect_server import TOKEN_VARIABLE, home_variables, marked, terminate

ROOT = Path(__file__).parents[1]

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the watchdog reads Linux's /proc")

SLEEPER = "import signal, sys, time\n" \
          "if 'stubborn' in sys.argv: signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" \
          "print('ready', flush=True)\n" \
          "time.sleep(600)\n"


def _wait_untilgone(pids: list[int], seconds: float) -> float:
    started = time.monotonic()
    while not all(gone(pid) for pid in pids):
        assert time.monotonic() - started < seconds, f"still running after {seconds} s: {[p for p in pids if not gone(p)]}"
        time.sleep(0.05)
    return time.monotonic() - started


def _children(pid: int) -> dict[int, str]:
    """The running children of `pid`, with their command lines."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_bytes()
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(b")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def _sleeper(*args: str, env: dict | None = None) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", SLEEPER, *args], stdout=subprocess.PIPE, text=True, env=env)
    assert child.stdout.readline().strip() == "ready"
    return child


def test_the_data_folder_gets_its_own_prefect_home_and_the_user_keeps_profiles_and_logging(tmp_path: Path) -> None:
    user_home = Path("~/.prefect").expanduser()
    assert home_variables(tmp_path, {}) == {
        "PREFECT_HOME": str(tmp_path.resolve() / ".prefect"),
        "PREFECT_PROFILES_PATH": str(user_home / "profiles.toml"),
        "PREFECT_LOGGING_SETTINGS_PATH": str(user_home / "logging.yml"),
    }
    # what the user set is theirs
    assert home_variables(tmp_path, {"PREFECT_HOME": "/srv/prefect"}) == {}
    chosen = home_variables(tmp_path, {"PREFECT_PROFILES_PATH": "/etc/p.toml", "PREFECT_LOGGING_CONFIG_PATH": "/etc/l.yml"})
    assert chosen == {"PREFECT_HOME": str(tmp_path.resolve() / ".prefect")}


def test_marked_finds_the_processes_started_with_the_token_only() -> None:
    token = f"test-{os.getpid()}-{time.time_ns()}"
    with_token = _sleeper(env={**os.environ, TOKEN_VARIABLE: token})
    other_token = _sleeper(env={**os.environ, TOKEN_VARIABLE: token + "-other"})
    without = _sleeper()
    try:
        assert marked(token) == [with_token.pid]
    finally:
        for child in (with_token, other_token, without):
            child.kill()
            child.wait()


def test_terminate_asks_first_and_kills_what_ignores_it() -> None:
    polite, stubborn = _sleeper(), _sleeper("stubborn")
    try:
        started = time.monotonic()
        assert terminate([polite.pid, stubborn.pid], grace=0.5) == [stubborn.pid]
        assert polite.wait(timeout=10) == -signal.SIGTERM
        assert stubborn.wait(timeout=10) == -signal.SIGKILL
        assert time.monotonic() - started < 5
    finally:
        for child in (polite, stubborn):
            if child.poll() is None:
                child.kill()
                child.wait()


PARENT = """
import subprocess, sys, time
from yocho.prefect_server import stop_with_this_process
watchdog = stop_with_this_process(grace=float(sys.argv[1]))
assert stop_with_this_process() is watchdog  # once per process
child = subprocess.Popen([sys.executable, "-c", sys.argv[2], "stubborn"], stdout=subprocess.PIPE, text=True)
child.stdout.readline()
print(watchdog.pid, child.pid, flush=True)
if sys.argv[3] == "hang":
    time.sleep(600)
"""


@pytest.mark.parametrize("end", ["killed", "exits"])
def test_the_watchdog_stops_what_its_command_left_running_and_then_leaves(end: str) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, "1.0", SLEEPER, "hang" if end == "killed" else "exit"],
                              stdout=subprocess.PIPE, text=True, cwd=ROOT)
    watchdog, child = (int(pid) for pid in parent.stdout.readline().split())
    try:
        if end == "killed":
            parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        # the child ignores SIGTERM: SIGKILL after the 1 s grace
        _wait_untilgone([child, watchdog], seconds=30)
    finally:
        for pid in (child, watchdog):
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)


HOLDER = """
import os, subprocess, sys
from pathlib import Path
from yocho.cli import _holding
from yocho.settings import Settings
with _holding(Settings(data_dir=Path(sys.argv[1])), "ingest"):
    child = subprocess.Popen([sys.executable, "-c", sys.argv[2]], stdout=subprocess.PIPE, text=True)
    child.stdout.readline()
    print(child.pid, os.environ["PREFECT_HOME"], flush=True)
    sys.stdin.read()
"""


def test_a_command_holding_its_data_folder_has_its_own_prefect_home_and_takes_its_children_along(tmp_path: Path) -> None:
    """The CLI's hook, without the cost of a Prefect server: what a command holding its data
    folder starts (the server, in real runs) ends when the command is killed."""
    env = {name: value for name, value in os.environ.items() if name != "PREFECT_HOME"}
    command = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "data"), SLEEPER], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    try:
        child, home = command.stdout.readline().split()
        assert home == str((tmp_path / "data" / ".prefect").resolve())
        command.send_signal(signal.SIGKILL)
        command.wait(timeout=30)
        _wait_untilgone([int(child)], seconds=30)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()


@pytest.mark.slow
def test_a_killed_yocho_command_takes_its_prefect_server_with_it(tmp_path: Path) -> None:
    """`kill -9` of `yocho ingest` while its Prefect temporary server runs: the server, found as
    the command's child, is gone within seconds, and it kept its database in the data folder.
    Slow: 30-70 s on a loaded 2-core machine, most of it the server's start."""
    from yocho.generator import generate
    from yocho.settings import GeneratorSettings

    data_dir = tmp_path / "data"
    generate(GeneratorSettings(businesses=60, months=3, seed=3), data_dir)
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env.update(PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="300")
    command = subprocess.Popen([sys.executable, "-m", "yocho.cli", "ingest", "--data-dir", str(data_dir)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT, env=env)
    server = None
    try:
        deadline = time.monotonic() + 240
        while server is None:
            assert command.poll() is None, f"yocho ingest ended ({command.returncode}) before its server was seen"
            assert time.monotonic() < deadline, "no Prefect server started"
            server = next(((pid, line) for pid, line in _children(command.pid).items()
                           if "uvicorn" in line and "prefect.server.api.server:create_app" in line), None)
            time.sleep(0.05)
        pid, line = server
        port = line.split("--port ")[1].split()[0]
        # up and serving, as in the middle of a run
        while True:
            assert command.poll() is None, f"yocho ingest ended ({command.returncode}) before it could be killed"
            assert time.monotonic() < deadline, "the Prefect server never answered"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
                    if json.load(response) is True:
                        break
            except OSError:
                time.sleep(0.1)
        command.send_signal(signal.SIGKILL)
        command.wait(timeout=30)
        took = _wait_untilgone([pid], seconds=30)
        print(f"Prefect server {pid} gone {took:.1f} s after its command was killed")
        assert (data_dir / ".prefect" / "prefect.db").exists()
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
        if server is not None and not gone(server[0]):
            os.kill(server[0], signal.SIGKILL)
