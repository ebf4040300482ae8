"""One yocho command at a time per data directory: the second says who holds it, in one
line, and exits non-zero at once; another data directory is free; a killed holder leaves
no stale lock."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from yocho.cli import app as cli
from yocho.runlock import LOCK_FILE, Busy, exclusive


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    with exclusive(tmp_path, "ingest"):
        with pytest.raises(Busy, match=rf"another yocho command is running on .* \(pid {os.getpid()}: yocho ingest"):
            with exclusive(tmp_path, "scan"):
                pass
        with exclusive(tmp_path / "other", "scan"):  # another data directory is free
            pass
    with exclusive(tmp_path, "scan"):  # released at the end of the block
        assert f"pid {os.getpid()}: yocho scan" in (tmp_path / LOCK_FILE).read_text(encoding="utf-8")


@pytest.mark.parametrize("command", [["ingest"], ["scan", "--as-of", "2026-10-31"], ["train"], ["summary"],
                                     ["score", "--as-of", "2026-10-31"], ["flags", "--as-of", "2026-10-31"],
                                     ["generate", "--businesses", "10"], ["demo", "--businesses", "10"]])
def test_a_second_command_on_the_same_data_dir_exits_with_one_clear_line(tmp_path: Path, command: list[str]) -> None:
    (tmp_path / "landing").mkdir()
    with exclusive(tmp_path, "ingest"):
        result = CliRunner().invoke(cli, [*command, "--data-dir", str(tmp_path)])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and f"(pid {os.getpid()}: yocho ingest" in lines[0]
    assert (tmp_path / "landing").is_dir()  # the demo did not clear what another command uses


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from yocho.runlock import exclusive\n"
        f"with exclusive({str(tmp_path)!r}, 'ingest'):\n"
        "    print('held', flush=True); time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(Busy, match=rf"pid {holder.pid}: yocho ingest"):
            with exclusive(tmp_path, "scan"):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    deadline = time.monotonic() + 10
    with exclusive(tmp_path, "scan"):
        assert time.monotonic() < deadline
