"""One file from landing to warehouse: hash, archive, parse, validate, load."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import duckdb
import polars as pl

from yocho.contract import FEEDS
from yocho.ingest.archive import archive_file, sha256_of
from yocho.ingest.errors import IngestError
from yocho.ingest.landing import LandedFile
from yocho.ingest.load import (
    QUARANTINE_SCHEMA,
    FileRecord,
    LoadCounts,
    already_loaded,
    load_accepted,
    record_rejected,
)
from yocho.ingest.parse import parse_feed, read_raw, visible_controls
from yocho.ingest.validate import validate_batch
from yocho.settings import Settings


@dataclass(frozen=True)
class FileOutcome:
    path: str
    institution_id: str
    feed: str
    sha256: str
    status: str  # loaded | rejected | skipped
    rows_total: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    # exact repeats of rows already loaded, skipped (nothing to correct)
    rows_repeated: int = 0
    message: str | None = None
    seconds: float = 0.0


def _merge_errors(parse_errors: pl.DataFrame, validation_errors: pl.DataFrame) -> pl.DataFrame:
    """A cell that failed parsing is null, so its not-null expectation fails too; keep the
    parse reason, which says what was wrong with the text actually sent."""
    merged = pl.concat([parse_errors.cast(QUARANTINE_SCHEMA), validation_errors.cast(QUARANTINE_SCHEMA)])
    return merged.unique(subset=["source_row", "column"], keep="first", maintain_order=True).with_columns(
        visible_controls(pl.col("value")))


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    landed: LandedFile,
    settings: Settings,
    known_bank_codes: frozenset[str],
) -> FileOutcome:
    started = time.perf_counter()
    sha256 = sha256_of(landed.path)
    base = dict(path=str(landed.path), institution_id=landed.institution_id, feed=landed.feed, sha256=sha256)
    if already_loaded(con, sha256, landed.institution_id, landed.feed):
        return FileOutcome(**base, status="skipped",
                           message=f"same content already loaded for {landed.institution_id}/{landed.feed}")
    archived = archive_file(landed.path, sha256, settings.archive_dir)
    record = FileRecord(
        sha256=sha256,
        institution_id=landed.institution_id,
        feed=landed.feed,
        file_name=str(landed.path.relative_to(settings.landing_dir))
        if landed.path.is_relative_to(settings.landing_dir) else landed.path.name,
        archived_path=str(archived),
        size_bytes=landed.path.stat().st_size,
    )
    feed = FEEDS[landed.feed]
    empty = pl.DataFrame(schema=QUARANTINE_SCHEMA)
    try:
        parsed = parse_feed(read_raw(landed.path, settings.ingest), feed, file_name=record.file_name)
    except IngestError as exc:
        counts = record_rejected(con, record, empty, [], (), 0, str(exc))
        return _outcome(base, "rejected", counts, str(exc), started)

    validation = validate_batch(
        parsed.rows, feed, today=settings.effective_today(), known_bank_codes=known_bank_codes,
        raw_text=parsed.raw_text,
    )
    errors = _merge_errors(parsed.errors, validation.errors)
    bad_rows = errors["source_row"].drop_nulls().unique()
    rows_total = parsed.rows.height
    ratio = bad_rows.len() / rows_total if rows_total else 0.0
    if ratio > settings.ingest.max_reject_ratio:
        message = (
            f"{record.file_name}: file rejected, {bad_rows.len()} of {rows_total} rows "
            f"({ratio:.1%}) failed validation, above the {settings.ingest.max_reject_ratio:.0%} limit"
        )
        counts = record_rejected(con, record, errors, validation.results, parsed.ignored_columns, rows_total, message)
        return _outcome(base, "rejected", counts, message, started)

    good = parsed.rows.filter(~pl.col("source_row").is_in(bad_rows.implode()))
    counts = load_accepted(con, record, good, errors, validation.results, parsed.ignored_columns, rows_total)
    return _outcome(base, "loaded", counts, None, started)


def _outcome(base: dict, status: str, counts: LoadCounts, message: str | None, started: float) -> FileOutcome:
    return FileOutcome(
        **base,
        status=status,
        rows_total=counts.rows_total,
        rows_loaded=counts.rows_loaded,
        rows_quarantined=counts.rows_quarantined,
        rows_repeated=counts.rows_repeated,
        message=message,
        seconds=time.perf_counter() - started,
    )


def ingest_files(
    con: duckdb.DuckDBPyConnection,
    files: Iterable[LandedFile],
    settings: Settings,
    known_bank_codes: frozenset[str],
    on_file: Callable[[FileOutcome], None] | None = None,
) -> list[FileOutcome]:
    """Ingest files one after another (DuckDB has one writer); each is its own transaction.

    Once its outcome is committed a file leaves the landing folder; the archive keeps
    its bytes, and a crash before removal only means the next run skips it by hash
    (content already loaded for the same institution and feed).
    """
    outcomes = []
    for landed in files:
        outcome = ingest_file(con, landed, settings, known_bank_codes)
        if settings.ingest.remove_processed:
            landed.path.unlink(missing_ok=True)
        outcomes.append(outcome)
        if on_file:
            on_file(outcome)
    return outcomes
