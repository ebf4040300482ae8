from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from yocho.settings import Settings

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

TODAY = date(2026, 11, 24)
# The generated portfolio's history ends in September 2026; its last deliveries arrive in October.
LAST_SCAN = date(2026, 10, 31)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", today=TODAY, duckdb_memory_limit="1GB")


@dataclass(frozen=True)
class Generated:
    settings: Settings
    summary: object  # yocho.generator.GenerationSummary
    outcomes: list  # yocho.ingest.pipeline.FileOutcome per file


@pytest.fixture(scope="session")
def generated(tmp_path_factory) -> Generated:
    """A small generated portfolio, ingested once per session: 1,500 businesses over 30 months."""
    from yocho.generator import generate
    from yocho.ingest.landing import discover
    from yocho.ingest.pipeline import ingest_files
    from yocho.ingest.validate import known_bank_codes
    from yocho.settings import GeneratorSettings
    from yocho.warehouse.db import warehouse

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("generated"),
        today=TODAY,
        duckdb_memory_limit="2GB",
        generator=GeneratorSettings(businesses=1500, months=30, seed=11, chunk_size=700),
    )
    summary = generate(settings.generator, settings.data_dir)
    files, misplaced = discover(settings.landing_dir, known_bank_codes())
    assert not misplaced
    with warehouse(settings) as con:
        outcomes = ingest_files(con, files, settings, known_bank_codes())
    return Generated(settings, summary, outcomes)


@pytest.fixture(scope="session")
def scanned_portfolio(tmp_path_factory) -> Settings:
    """8,000 businesses over 36 months, ingested and scanned at every month-end from
    January 2024: long enough for 12-month labels and a backtest. Slow tests only."""
    from features.scan import month_ends, scan
    from yocho.generator import generate
    from yocho.ingest.landing import discover
    from yocho.ingest.pipeline import ingest_files
    from yocho.ingest.validate import known_bank_codes
    from yocho.settings import FeatureSettings, GeneratorSettings
    from yocho.warehouse.db import warehouse

    settings = Settings(
        data_dir=tmp_path_factory.mktemp("portfolio"), today=TODAY, duckdb_memory_limit="4GB",
        generator=GeneratorSettings(businesses=8000, months=36, seed=5),
    )
    generate(settings.generator, settings.data_dir)
    files, _ = discover(settings.landing_dir, known_bank_codes())
    with warehouse(settings) as con:
        ingest_files(con, files, settings, known_bank_codes())
        scan(con, month_ends(date(2026, 10, 31), 34), FeatureSettings())
    return settings


@dataclass(frozen=True)
class Trained:
    settings: Settings
    run: object  # models.training.TrainingRun
    scan_dates: list


@pytest.fixture(scope="session")
def trained(generated, tmp_path_factory) -> Trained:
    """The generated portfolio (1,500 businesses) copied, scanned at every month-end of its
    history, and trained once: a registry with a champion for the scoring tests."""
    from features.scan import month_ends, scan
    from models.registry import Registry
    from models.training import train
    from yocho.settings import ModelSettings
    from yocho.warehouse.db import warehouse

    settings = generated.settings.model_copy(update={
        "data_dir": tmp_path_factory.mktemp("trained"), "models": ModelSettings(test_months=3),
    })
    shutil.copy(generated.settings.warehouse_path, settings.warehouse_path)
    dates = month_ends(LAST_SCAN, 30)
    with warehouse(settings) as con:
        scan(con, dates, settings.features)
        run = train(con, Registry(settings.models_dir), settings.models, settings.features)
    return Trained(settings, run, dates)
