"""Ingest flow: every new file in the landing area into the warehouse.

One task per feed, run one after another because the warehouse has a
single writer. Tasks receive paths and ids; each opens its own warehouse connection.
"""
from __future__ import annotations

from dataclasses import asdict

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from yocho import progress
from yocho.ingest.landing import LandedFile, by_feed, discover
from yocho.ingest.load import record_misplaced
from yocho.ingest.pipeline import FileOutcome, ingest_files
from yocho.ingest.report import outcomes_markdown
from yocho.ingest.validate import known_bank_codes
from yocho.settings import Settings, load_settings
from yocho.warehouse.db import warehouse


@task(retries=2, retry_delay_seconds=5)
def find_new_files(settings: Settings) -> tuple[list[LandedFile], list[str]]:
    """New files, and the misplaced ones, which are recorded in the warehouse (misplaced_files)."""
    found, misplaced = discover(settings.landing_dir, known_bank_codes(), settings.ingest)
    with warehouse(settings) as con:
        record_misplaced(con, [(str(m.path), m.reason) for m in misplaced])
    return found, [f"{m.path}: {m.reason}" for m in misplaced]


@task(retries=2, retry_delay_seconds=10)
def ingest_group(settings: Settings, files: list[LandedFile]) -> list[dict]:
    logger = get_run_logger()

    feed = files[0].feed if files else ""

    with progress.task(f"ファイルを取込 ({feed}) / ingesting {feed} files", total=len(files)) as reporter:
        def log(outcome: FileOutcome) -> None:
            logger.info("%s %s: %d rows, %d loaded, %d quarantined", outcome.status, outcome.path,
                        outcome.rows_total, outcome.rows_loaded, outcome.rows_quarantined)
            reporter.advance()

        with warehouse(settings) as con:
            return [asdict(o) for o in ingest_files(con, files, settings, known_bank_codes(), on_file=log)]


@flow(name="ingest")
def ingest(settings: Settings | None = None) -> list[dict]:
    settings = settings or load_settings()
    files, misplaced = find_new_files(settings)
    if misplaced:
        get_run_logger().warning("left in landing, cannot ingest:\n%s", "\n".join(misplaced))
    outcomes: list[dict] = []
    for group in by_feed(files):
        outcomes += ingest_group.with_options(task_run_name=f"ingest-{group[0].feed}")(settings, group)
    create_markdown_artifact(key="ingest-summary", markdown=outcomes_markdown(outcomes, misplaced))
    return outcomes
