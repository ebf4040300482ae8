"""Finding new files in the landing area: landing/<institution_id>/<feed>/<file>."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from yocho.contract import FEEDS, Feed, Source, institution_source
from yocho.settings import IngestSettings

SUFFIXES = (".csv", ".parquet", ".xlsx")


@dataclass(frozen=True)
class LandedFile:
    path: Path
    institution_id: str
    feed: str


@dataclass(frozen=True)
class Misplaced:
    path: Path
    reason: str


def feed_accepts(feed: Feed, source: Source) -> bool:
    return source in feed.sources


def discover(
    landing_dir: Path, known_bank_codes: frozenset[str], ingest: IngestSettings | None = None,
    *, now: float | None = None,
) -> tuple[list[LandedFile], list[Misplaced]]:
    """Every file waiting in the landing area, in a stable order, and those that cannot
    be ingested where they lie (unknown institution folder, feed or file type, a hidden
    name, a symbolic link, an upload abandoned half-written).

    Symbolic links are never followed: a link in landing could make ingest archive and
    load any file the process can read, so a link (to a file or a folder) is misplaced.
    """
    ingest = ingest or IngestSettings()
    now = time.time() if now is None else now
    found: list[LandedFile] = []
    misplaced: list[Misplaced] = []
    if not landing_dir.exists():
        return found, misplaced
    paths: list[Path] = []
    for folder, dirs, files in os.walk(landing_dir, followlinks=False):
        here = Path(folder)
        for name in dirs:
            if (here / name).is_symlink():
                misplaced.append(Misplaced(here / name, _SYMLINK))
        paths += [here / name for name in files]
    for path in sorted(paths):
        if path.is_symlink():
            misplaced.append(Misplaced(path, _SYMLINK))
            continue
        if ".partial" in path.name:
            # Still being written by the sender, unless nobody has touched it for long.
            age_hours = (now - path.stat().st_mtime) / 3600
            if age_hours > ingest.partial_max_age_hours:
                misplaced.append(Misplaced(path, (
                    f"unfinished upload: not modified for {age_hours:.0f} hours (limit "
                    f"ingest.partial_max_age_hours = {ingest.partial_max_age_hours:g}); send the file again "
                    "under its final name")))
            continue
        if path.name.startswith("."):
            misplaced.append(Misplaced(path, "hidden file name (starts with '.'): never ingested; rename it"))
            continue
        parts = path.relative_to(landing_dir).parts
        if len(parts) != 3:
            misplaced.append(Misplaced(path, "expected landing/<institution_id>/<feed>/<file>"))
            continue
        institution_id, feed_name, _ = parts
        try:
            source = institution_source(institution_id)
        except ValueError as exc:
            misplaced.append(Misplaced(path, str(exc)))
            continue
        if source is Source.BANK and institution_id.removeprefix("bank_") not in known_bank_codes:
            misplaced.append(Misplaced(path, f"{institution_id}: not a bank code in the 全銀 bank code list"))
            continue
        feed = FEEDS.get(feed_name)
        if feed is None:
            misplaced.append(Misplaced(path, f"unknown feed folder {feed_name!r}; known: {', '.join(FEEDS)}"))
        elif not feed_accepts(feed, source):
            misplaced.append(Misplaced(path, f"feed {feed_name!r} is not sent by a {source.value} institution"))
        elif path.suffix.lower() not in SUFFIXES:
            misplaced.append(Misplaced(path, f"unsupported file type {path.suffix!r}; use {', '.join(SUFFIXES)}"))
        else:
            found.append(LandedFile(path, institution_id, feed_name))
    return found, misplaced


_SYMLINK = "symbolic link: refused, never followed (place the file itself in landing)"


def by_feed(files: list[LandedFile]) -> list[list[LandedFile]]:
    """Files grouped per feed, the unit of one ingest task, in institution and file order.
    Per feed rather than per institution and feed: the files of one feed share one
    validation run (yocho.ingest.pipeline), and every file is still its own transaction."""
    ordered = sorted(files, key=lambda f: (f.feed, f.institution_id, str(f.path)))
    return [list(group) for _, group in groupby(ordered, key=lambda f: f.feed)]
