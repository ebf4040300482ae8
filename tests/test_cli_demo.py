"""`yocho demo` clears only a folder a demo wrote, and the help says what the commands do now:
the real command, run in a fresh working directory."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from yocho import data_folder
from yocho.runlock import exclusive

ROOT = Path(__file__).parents[1]


def yocho(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("YOCHO_DATA_DIR", "YOCHO_CONFIG")}
    return subprocess.run([sys.executable, "-m", "yocho.cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def foreign_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    (folder / "thesis").mkdir(parents=True)
    (folder / "notes.txt").write_text("not the demo's", encoding="utf-8")
    (folder / "landing").mkdir()  # one name the demo writes does not make it the demo's
    return folder


def test_the_demo_refuses_to_clear_a_folder_it_did_not_write(tmp_path: Path) -> None:
    folder = foreign_folder(tmp_path)
    before = sorted(p.name for p in folder.iterdir())
    result = yocho(tmp_path, "demo", "--data-dir", "mine", "--businesses", "10")
    assert result.returncode == 1, result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "refusing to clear mine" in lines[0], result.stderr
    assert "notes.txt, thesis" in lines[0] and "--force" in lines[0]
    assert sorted(p.name for p in folder.iterdir()) == before  # not even a lock file


@pytest.mark.parametrize("flag", ["--force", "--yes"])
def test_force_lets_the_demo_clear_it(tmp_path: Path, flag: str) -> None:
    """Past the refusal, the demo waits for the folder's lock before it clears anything: held
    here, so the command stops at the lock, which shows it got past the refusal."""
    folder = foreign_folder(tmp_path)
    with exclusive(folder, "ingest"):
        result = yocho(tmp_path, "demo", "--data-dir", "mine", "--businesses", "10", flag)
    assert result.returncode == 1
    assert "another yocho command is running on mine" in result.stdout, result.stdout + result.stderr
    assert "refusing" not in result.stderr


def test_a_folder_an_earlier_demo_left_is_cleared_without_asking(tmp_path: Path) -> None:
    """`python3 run.py demo` again: data/demo from a demo that wrote no mark yet, or with one."""
    legacy = tmp_path / "data" / "demo"
    for name in ("landing", "truth", "archive", "models", "reports", ".prefect"):
        (legacy / name).mkdir(parents=True)
    for name in ("warehouse.duckdb", "queue.sqlite", ".yocho.lock"):
        (legacy / name).write_bytes(b"")
    assert data_folder.may_clear(legacy) == []
    with exclusive(legacy, "ingest"):  # past the refusal: stops at the lock (see above)
        result = yocho(tmp_path, "demo", "--businesses", "10")
    assert result.returncode == 1 and "another yocho command is running on data/demo" in result.stdout, \
        result.stdout + result.stderr
    (legacy / "stray.txt").write_text("?", encoding="utf-8")
    assert data_folder.may_clear(legacy) == ["stray.txt"]
    data_folder.mark_as_demo(legacy)
    assert data_folder.may_clear(legacy) == []  # marked: the demo's, whatever was put in it since
    assert data_folder.may_clear(tmp_path / "new") == []


def test_a_demo_marks_its_folder_before_its_long_work(tmp_path: Path) -> None:
    """Stopped part-way, a demo leaves a folder the next demo clears without --force."""
    folder = foreign_folder(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("YOCHO_DATA_DIR", "YOCHO_CONFIG")}
    demo = subprocess.Popen([sys.executable, "-m", "yocho.cli", "demo", "--data-dir", "mine", "--businesses", "200",
                             "--force"], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not (folder / data_folder.DEMO_MARK).exists():
            assert demo.poll() is None and time.monotonic() < deadline, "the demo wrote no mark"
            time.sleep(0.05)
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
    assert not (folder / "notes.txt").exists() and not (folder / "thesis").exists()  # --force: cleared
    (folder / "stray.txt").write_text("?", encoding="utf-8")
    assert data_folder.may_clear(folder) == []


@pytest.mark.parametrize("command", [[], ["demo"], ["serve"], ["indicators"], ["summary"], ["users"]],
                         ids=lambda c: " ".join(c) or "yocho")
def test_help_shows_value_types_only_for_options_that_take_a_value(tmp_path: Path, command: list[str]) -> None:
    result = yocho(tmp_path, *command, "--help")
    assert result.returncode == 0, result.stderr
    assert "--help" in result.stdout and "Show this message and exit." in result.stdout
    assert "<bool>" not in result.stdout, result.stdout  # typer's rich help put it after every flag
    if command in (["demo"], ["summary"]):
        assert "--data-dir <path>" in result.stdout


def test_demo_help_says_what_the_demo_does_now(tmp_path: Path) -> None:
    text = " ".join(yocho(tmp_path, "demo", "--help").stdout.split())
    for said in ("scores the last six month-ends", "referral queue", "review web app", "--force, --yes",
                 "--businesses <int>", "9 minutes and 8 GB", "[default: data/demo]"):
        assert said in text, said


def test_run_py_help_says_what_the_demo_does_now() -> None:
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), "--help"], capture_output=True, text=True,
                            timeout=60)
    text = " ".join(result.stdout.split())
    assert result.returncode == 0
    for said in ("python3 run.py demo --businesses 2000", "review web app", "data/demo", "--force",
                 "python3 run.py test -m slow", "Ctrl-C"):
        assert said in text, said
