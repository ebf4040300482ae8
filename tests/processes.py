"""Process checks shared by the tests that kill commands (Linux /proc)."""
from __future__ import annotations


def gone(pid: int) -> bool:
    """Ended: no such process, or a zombie waiting for its parent to collect it."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except OSError:
        return True
