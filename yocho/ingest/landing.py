"""Finding new files in the landing area: landing/<institution_id>/<feed>/<file>."""
from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby
from pathlib import Path

from yocho.contract import FEEDS, Feed, Source, institution_source

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
    landing_dir: Path, known_bank_codes: frozenset[str]
) -> tuple[list[LandedFile], list[Misplaced]]:
    """Every file waiting in the landing area, in a stable order, and those that cannot
    be ingested where they lie (unknown institution folder, feed or file type)."""
    found: list[LandedFile] = []
    misplaced: list[Misplaced] = []
    if not landing_dir.exists():
        return found, misplaced
    for path in sorted(p for p in landing_dir.rglob("*") if p.is_file()):
        if path.name.startswith(".") or ".partial" in path.name:
            continue  # files still being written by the sender
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


def by_institution_and_feed(files: list[LandedFile]) -> list[list[LandedFile]]:
    """Files grouped per (institution, feed), the unit of one ingest task."""
    ordered = sorted(files, key=lambda f: (f.institution_id, f.feed, str(f.path)))
    return [list(group) for _, group in groupby(ordered, key=lambda f: (f.institution_id, f.feed))]
