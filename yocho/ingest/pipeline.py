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
from yocho.ingest.parse import ParseResult, parse_feed, read_raw, visible_controls
from yocho.ingest.validate import ValidationOutcome, validate_files
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


@dataclass
class _Parsed:
    """A file hashed, archived and parsed, waiting for its feed's validation run."""

    landed: LandedFile
    base: dict
    record: FileRecord
    parsed: ParseResult
    seconds: float  # spent on this file so far


def _prepare(
    con: duckdb.DuckDBPyConnection, landed: LandedFile, settings: Settings,
) -> _Parsed | FileOutcome:
    """Hash, archive and parse one file; an outcome at once if it is skipped or unreadable."""
    started = time.perf_counter()
    sha256 = sha256_of(landed.path)
    base = dict(path=str(landed.path), institution_id=landed.institution_id, feed=landed.feed, sha256=sha256)
    if already_loaded(con, sha256, landed.institution_id, landed.feed):
        return _skipped(base)
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
    try:
        parsed = parse_feed(read_raw(landed.path, settings.ingest), FEEDS[landed.feed], file_name=record.file_name)
    except IngestError as exc:
        counts = record_rejected(con, record, pl.DataFrame(schema=QUARANTINE_SCHEMA), [], (), 0, str(exc))
        return _outcome(base, "rejected", counts, str(exc), started)
    return _Parsed(landed, base, record, parsed, time.perf_counter() - started)


def _skipped(base: dict) -> FileOutcome:
    return FileOutcome(**base, status="skipped",
                       message=f"same content already loaded for {base['institution_id']}/{base['feed']}")


def _finish(
    con: duckdb.DuckDBPyConnection, item: _Parsed, validation: ValidationOutcome, settings: Settings,
) -> FileOutcome:
    """Load the file's good rows and quarantine the bad ones, or reject it whole: one transaction."""
    started = time.perf_counter() - item.seconds
    base, record, parsed = item.base, item.record, item.parsed
    # The same bytes may have arrived twice in one batch; the first copy loaded wins.
    if already_loaded(con, record.sha256, record.institution_id, record.feed):
        return _skipped(base)
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


def _validate(waiting: list[_Parsed], settings: Settings, known_bank_codes: frozenset[str]) -> list[ValidationOutcome]:
    """One suite run per feed over the waiting files; outcomes in the files' order.
    Each file's run time is charged to it in proportion to its rows."""
    outcomes: list[ValidationOutcome | None] = [None] * len(waiting)
    by_feed: dict[str, list[int]] = {}
    for i, item in enumerate(waiting):
        by_feed.setdefault(item.record.feed, []).append(i)
    for feed, positions in by_feed.items():
        started = time.perf_counter()
        results = validate_files(
            [(waiting[i].parsed.rows, waiting[i].parsed.raw_text) for i in positions], FEEDS[feed],
            today=settings.effective_today(), known_bank_codes=known_bank_codes,
        )
        seconds = time.perf_counter() - started
        rows = sum(waiting[i].parsed.rows.height for i in positions) or 1
        for i, result in zip(positions, results, strict=True):
            outcomes[i] = result
            waiting[i].seconds += seconds * max(waiting[i].parsed.rows.height, 1) / rows
    return outcomes  # type: ignore[return-value]


def ingest_file(
    con: duckdb.DuckDBPyConnection,
    landed: LandedFile,
    settings: Settings,
    known_bank_codes: frozenset[str],
) -> FileOutcome:
    """One file alone: hash, archive, parse, validate, load."""
    return ingest_files(con, [landed], settings, known_bank_codes)[0]


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
    """Ingest files in their order (DuckDB has one writer); each is its own transaction.

    Files are parsed ahead, up to `ingest.validate_rows_per_run` rows, so that the files of
    one feed share one validation run; then each is loaded or rejected in turn, in order.
    Once its outcome is committed a file leaves the landing folder; the archive keeps
    its bytes, and a crash before removal only means the next run skips it by hash
    (content already loaded for the same institution and feed).
    """
    outcomes: list[FileOutcome] = []
    waiting: list[_Parsed | FileOutcome] = []

    def done(outcome: FileOutcome, landed: LandedFile) -> None:
        if settings.ingest.remove_processed:
            landed.path.unlink(missing_ok=True)
        outcomes.append(outcome)
        if on_file:
            on_file(outcome)

    def flush() -> None:
        parsed = [item for item in waiting if isinstance(item, _Parsed)]
        validations = iter(_validate(parsed, settings, known_bank_codes))
        for item, landed in zip(waiting, landing, strict=True):
            done(item if isinstance(item, FileOutcome) else _finish(con, item, next(validations), settings), landed)
        waiting.clear()
        landing.clear()

    landing: list[LandedFile] = []
    held = 0
    for landed in files:
        item = _prepare(con, landed, settings)
        waiting.append(item)
        landing.append(landed)
        if isinstance(item, _Parsed):
            held += item.parsed.rows.height
        if held >= settings.ingest.validate_rows_per_run:
            flush()
            held = 0
    flush()
    return outcomes
