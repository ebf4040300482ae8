"""Prefect's temporary server for one `yocho` command: kept in the command's data folder, and
stopped when the command ends, however it ends.

A `yocho` command runs its flows without a configured Prefect API, so Prefect starts a
temporary server in a subprocess (`python -m uvicorn … prefect.server.api.server:create_app`,
prefect/server/api/server.py: SubprocessASGIServer) and stops it at interpreter exit (atexit).
A command that is killed (SIGKILL, the default SIGTERM, the OOM killer) runs no atexit, and its
server used to live on, orphaned, with its port and its SQLite database open.

Why a watchdog process, not PR_SET_PDEATHSIG on the server: Prefect starts the server lazily
from whichever thread first needs the API -- the main thread when a flow starts, but also its
events worker's thread or a flow run's heartbeat thread (prefect/events/worker.py,
prefect/flow_engine.py). PDEATHSIG fires when the *thread* that forked the child exits, so a
server forked from such a thread would be killed in the middle of the command; and setting it
needs a preexec_fn in Prefect's own Popen call, which Prefect offers no way to pass. Instead,
before any flow runs, the command puts a token of its own into its environment and starts a
small watchdog. Prefect gives its server the command's environment (`{**os.environ, …}`), so the
server carries the token from its first instruction on, whichever thread started it, and there
is no moment at which a server exists that the watchdog cannot find. The watchdog waits for the
command to end (a pidfd, or polling its parent where there is none), then terminates every
process still carrying the token: SIGTERM, and SIGKILL after the grace Prefect's own stop()
gives. It runs in its own session, so a Ctrl-C or hang-up sent to the terminal's process group
does not take it down before it has done its job. It needs Linux's /proc (another process's
environment); elsewhere no watchdog is started and the server stops only on a clean exit.

This file is also the watchdog's program: `python -I -S prefect_server.py PID TOKEN GRACE`.
It therefore imports nothing but the standard library at module level.
"""
from __future__ import annotations

import os
import secrets
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

# Prefect's home for a command: <data-dir>/.prefect, kept when the demo recreates its folder.
HOME_DIR = ".prefect"
# Not a Yocho setting (settings are read from YOCHO_*): the mark of one command's processes.
TOKEN_VARIABLE = "_YOCHO_COMMAND_TOKEN"
# Prefect's SubprocessASGIServer.stop() waits 5 s after SIGTERM before SIGKILL.
GRACE_SECONDS = 5.0

_watchdog: subprocess.Popen | None = None


def home_variables(data_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment that gives the data folder its own Prefect home, or {} when the user
    has chosen one (PREFECT_HOME set).

    Two commands on two data folders used to share ~/.prefect: one SQLite database written by
    two temporary servers at once, growing with every folder's runs for ever, and migrated to
    its schema by the newest Prefect that started a server on it (another checkout with a
    newer Prefect would leave this one's server unable to start). Each folder gets its own.
    The user's profiles and logging configuration are still read from the home they would
    otherwise come from, so a PREFECT_API_URL set with `prefect config set` keeps applying."""
    if environ.get("PREFECT_HOME"):
        return {}
    user_home = Path("~/.prefect").expanduser()
    variables = {"PREFECT_HOME": str(Path(data_dir).resolve() / HOME_DIR)}
    if not environ.get("PREFECT_PROFILES_PATH"):
        variables["PREFECT_PROFILES_PATH"] = str(user_home / "profiles.toml")
    # Prefect reads either name for its logging configuration
    if not environ.get("PREFECT_LOGGING_SETTINGS_PATH") and not environ.get("PREFECT_LOGGING_CONFIG_PATH"):
        variables["PREFECT_LOGGING_SETTINGS_PATH"] = str(user_home / "logging.yml")
    return variables


def use_home_in(data_dir: Path) -> Path | None:
    """Point Prefect at <data_dir>/.prefect for the rest of this process; the home, or None
    when the user chose one or Prefect is already imported (its settings are read once, at
    import, so a later change would reach the server but not this process's client)."""
    if "prefect" in sys.modules:
        return None
    variables = home_variables(data_dir, os.environ)
    if not variables:
        return None
    home = Path(variables["PREFECT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update(variables)
    return home


def stop_with_this_process(grace: float = GRACE_SECONDS) -> subprocess.Popen | None:
    """Start, once per process, the watchdog that terminates the processes this one starts
    (Prefect's temporary server among them) when this process ends for any reason. Call it
    before the first flow runs: only processes started after it carry the token. Returns the
    watchdog, or None where /proc cannot show another process's environment."""
    global _watchdog
    if _watchdog is not None:
        return _watchdog
    if not Path(f"/proc/{os.getpid()}/environ").exists():
        return None
    token = f"{os.getpid()}-{secrets.token_hex(8)}"
    environment = {name: value for name, value in os.environ.items() if name != TOKEN_VARIABLE}
    _watchdog = subprocess.Popen(
        [sys.executable, "-I", "-S", str(Path(__file__).resolve()), str(os.getpid()), token, str(grace)],
        env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # its own session: terminal signals to the command's group do not reach it; and no
        # inherited stdout, or a caller reading the command's output to its end would wait for it
        start_new_session=True, close_fds=True,
    )
    os.environ[TOKEN_VARIABLE] = token
    return _watchdog


def marked(token: str) -> list[int]:
    """The processes started with TOKEN_VARIABLE=token in their environment (Linux /proc)."""
    needle = f"{TOKEN_VARIABLE}={token}".encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:  # gone meanwhile, or another user's
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def terminate(pids: Iterable[int], grace: float) -> list[int]:
    """SIGTERM each process, SIGKILL those still running after `grace` seconds; the pids that
    needed SIGKILL. Processes are held by pidfd where the kernel has them, so a pid reused by
    another process meanwhile is never signalled."""
    handles: dict[int, int | None] = {}
    for pid in pids:
        try:
            handles[pid] = os.pidfd_open(pid)
        except ProcessLookupError:
            continue
        except (AttributeError, OSError):
            handles[pid] = None
    _send(handles, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while handles and time.monotonic() < deadline:
        for pid in [pid for pid, handle in handles.items() if _exited(pid, handle)]:
            _close(handles.pop(pid))
        if handles:
            time.sleep(0.05)
    killed = list(handles)
    _send(handles, signal.SIGKILL)
    for handle in handles.values():
        _close(handle)
    return killed


def _send(handles: Mapping[int, int | None], signum: int) -> None:
    for pid, handle in handles.items():
        try:
            if handle is not None:
                signal.pidfd_send_signal(handle, signum)
            else:
                os.kill(pid, signum)
        except ProcessLookupError:
            pass


def _exited(pid: int, handle: int | None) -> bool:
    if handle is not None:  # a pidfd is readable once its process has exited
        return bool(select.select([handle], [], [], 0)[0])
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True


def _close(handle: int | None) -> None:
    if handle is not None:
        os.close(handle)


def wait_for_parent(parent: int) -> None:
    """Return once `parent`, this process's parent, has ended."""
    try:
        handle: int | None = os.pidfd_open(parent)
    except (AttributeError, OSError):  # no pidfd here (before Linux 5.3), or parent already gone
        handle = None
    try:
        if os.getppid() != parent:  # re-parented: it ended before we could watch it
            return
        if handle is not None:
            select.select([handle], [], [])
            return
        while os.getppid() == parent:
            time.sleep(0.25)
    finally:
        _close(handle)


def watch(parent: int, token: str, grace: float) -> None:
    """The watchdog: once `parent` has ended, terminate what it left running."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    wait_for_parent(parent)
    terminate(marked(token), grace)
    # a process that started another just before it was signalled: once more, at once
    terminate(marked(token), 0)


if __name__ == "__main__":
    watch(int(sys.argv[1]), sys.argv[2], float(sys.argv[3]))
