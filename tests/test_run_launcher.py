"""`python3 run.py …` runs its command as a child that ends with it: a killed launcher (a CI
timeout, kill -9) leaves no `yocho` command running on."""
from __future__ import annotations

import signal
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


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_the_command_ends_when_its_launcher_is_killed() -> None:
    launcher = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(ROOT)], stdout=subprocess.PIPE, text=True)
    child = int(launcher.stdout.readline())
    try:
        assert not gone(child)
        launcher.send_signal(signal.SIGKILL)
        launcher.wait(timeout=30)
        deadline = time.monotonic() + 10
        while not gone(child):
            assert time.monotonic() < deadline, f"the command {child} outlived its launcher"
            time.sleep(0.05)
    finally:
        if not gone(child):
            import os
            os.kill(child, signal.SIGKILL)
