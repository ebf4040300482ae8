"""One `yocho` command at a time per data directory.

DuckDB lets one process write a warehouse file; a second writer used to fail after retries
with an I/O traceback. Every command that writes the data directory holds an exclusive lock
on `<data_dir>/.yocho.lock` for its whole run, and writes who holds it (pid, command, since
when) into the file, so a second command says at once, in one line, who is running. The lock
is the kernel's (flock): it goes with the process, also when the process is killed, so a
crash never leaves a stale lock behind. Commands on different data directories run side by
side.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

LOCK_FILE = ".yocho.lock"


class Busy(Exception):
    """Another command holds the data directory."""


@contextmanager
def exclusive(data_dir: Path, command: str) -> Iterator[Path]:
    """Hold `data_dir` for `command` (e.g. "ingest") until the block ends; Busy at once if
    another process holds it, naming that process."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_FILE
    handle = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "a process that has not yet said who it is"
        handle.close()
        raise Busy(f"another yocho command is running on {data_dir} ({holder}): wait for it to finish, "
                   "or use another --data-dir") from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}: yocho {command}, since {datetime.now():%Y-%m-%d %H:%M:%S}\n")
        handle.flush()
        yield path
    finally:
        handle.seek(0)
        handle.truncate()
        handle.flush()
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()
