"""Which data folder a `yocho` command works on, and which folders the demo may clear.

The settings say where the data lives (`data_dir`: --data-dir, YOCHO_DATA_DIR, the TOML file,
else `./data`). The demo writes to `data/demo`, so after `python3 run.py demo` a plain
`yocho summary` used to open `./data`, create an empty warehouse there and print zeros. Now a
command that reads the data and was told no place looks, in order, at the folder the last demo
or ingest under `./data` wrote (remembered in `data/.yocho-default`), at `./data` and at
`data/demo`, and takes the first that holds a warehouse. Where none does, it stops at once,
naming the places it looked and --data-dir, and creates nothing.

The demo deletes its folder's contents before it starts. It does so only for a folder that
looks like one a demo wrote: empty, marked by a demo (`.yocho-demo`), or holding nothing but
the names a demo writes (a folder left by a demo before the mark existed). Anything else needs
--force.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from yocho.settings import Settings

# In the default data folder: the folder (relative to it) the last demo or ingest wrote.
POINTER_FILE = ".yocho-default"
# Written by the demo into its folder: the demo may clear this folder again.
DEMO_MARK = ".yocho-demo"
# The demo's own folder when no --data-dir is given (relative to the working directory).
DEMO_DIR = Path("data/demo")
# Everything a demo writes into its folder (generator, ingest, warehouse and its spill folder,
# registry, reports, queue and its SQLite side files, Prefect home, run lock, mark).
DEMO_NAMES = frozenset({
    "landing", "truth", "archive", "warehouse.duckdb", "warehouse.duckdb.wal", "warehouse.duckdb.tmp",
    "models", "reports", "queue.sqlite", "queue.sqlite-journal", "queue.sqlite-wal", "queue.sqlite-shm",
    ".prefect", ".yocho.lock", DEMO_MARK,
})


class NoData(Exception):
    """The data folder a command would read holds no warehouse (or, for serve, no queue)."""


@dataclass(frozen=True)
class Resolved:
    settings: Settings
    # Said on stderr when the folder was chosen by looking (not given): why this folder.
    note: str | None = None


def _default_dir() -> Path:
    return Settings.model_fields["data_dir"].default


def _candidates(settings: Settings) -> tuple[Path | None, list[Path]]:
    """The remembered folder (if any), and the folders a reading command given none looks in,
    in order: the remembered one, ./data, data/demo."""
    base = settings.data_dir
    remembered = _remembered(base)
    return remembered, list(dict.fromkeys(([remembered] if remembered is not None else []) + [base, base / "demo"]))


def resolve(settings: Settings, given: Path | None) -> Resolved:
    """The settings with the data folder a reading command should use. A folder given on the
    command line or set in the environment or TOML file is kept as it is."""
    if given is not None:
        return Resolved(settings.model_copy(update={"data_dir": given}))
    if "data_dir" in settings.model_fields_set:  # YOCHO_DATA_DIR or the TOML file
        return Resolved(settings)
    base = settings.data_dir
    remembered, candidates = _candidates(settings)
    for folder in candidates:
        if (folder / "warehouse.duckdb").exists():
            why = ("the last one a demo or ingest wrote" if folder == remembered
                   else f"the demo's folder: {base} holds no warehouse")
            note = None if folder == base else f"data folder: {folder} ({why}; --data-dir DIR for another)"
            return Resolved(settings.model_copy(update={"data_dir": folder}), note)
    return Resolved(settings)


def looked_in(settings: Settings, given: Path | None) -> list[Path]:
    """The folders `resolve` looked in, for the message when none holds data."""
    if given is not None or "data_dir" in settings.model_fields_set:
        return [settings.data_dir if given is None else given]
    return _candidates(settings)[1]


def require_warehouse(settings: Settings, looked: list[Path]) -> None:
    """NoData, in one line naming the folders looked at and --data-dir, unless the settings'
    folder holds a warehouse."""
    if settings.warehouse_path.exists():
        return
    where = settings.warehouse_path
    also = [str(p) for p in looked if p != settings.data_dir]
    raise NoData(
        f"no warehouse at {where}{' (also looked in ' + ', '.join(also) + ')' if also else ''}: "
        f"nothing has been ingested there. Run `python3 run.py demo` (data in {DEMO_DIR}) or `yocho ingest "
        "--data-dir DIR` first, or give --data-dir DIR for a folder that holds a warehouse.duckdb")


def require_queue(settings: Settings, looked: list[Path]) -> None:
    """NoData unless the referral queue exists: a configured database (queue.url) is taken as
    it is; the embedded SQLite file must be there."""
    if settings.queue.url is not None:
        return
    path = settings.data_dir / "queue.sqlite"
    if path.exists():
        return
    also = [str(p) for p in looked if p != settings.data_dir]
    raise NoData(
        f"no referral queue at {path}{' (also looked in ' + ', '.join(also) + ')' if also else ''}: run "
        f"`python3 run.py demo` (data in {DEMO_DIR}) or `yocho flags --data-dir DIR` first, or give --data-dir "
        "DIR for a folder that holds a queue.sqlite (or set YOCHO_QUEUE__URL)")


def remember(data_dir: Path) -> Path | None:
    """After a demo or ingest wrote `data_dir`: commands given no folder use it next. Only a
    folder inside the default data folder is remembered (tests and one-off folders elsewhere
    do not redirect the everyday commands); the pointer file, or None."""
    base = _default_dir()
    try:
        inside = Path(data_dir).resolve().relative_to(base.resolve())
    except ValueError:
        return None
    pointer = base / POINTER_FILE
    pointer.write_text(f"{inside.as_posix()}\n", encoding="utf-8")
    return pointer


def _remembered(base: Path) -> Path | None:
    try:
        name = (base / POINTER_FILE).read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not name or Path(name).is_absolute() or ".." in Path(name).parts:
        return None
    return base if name == "." else base / name


def may_clear(folder: Path) -> list[str]:
    """The entries that stop the demo from clearing `folder`: [] when it does not exist, is
    empty, carries the demo's mark, or holds only what a demo writes."""
    if not folder.exists():
        return []
    if not folder.is_dir():
        return [folder.name]
    names = sorted(entry.name for entry in folder.iterdir())
    if DEMO_MARK in names:
        return []
    return [name for name in names if name not in DEMO_NAMES]


def mark_as_demo(folder: Path) -> None:
    (folder / DEMO_MARK).write_text(
        "Written by `yocho demo`: the next demo on this folder deletes everything in it.\n", encoding="utf-8")
