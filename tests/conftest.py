from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from yocho.settings import Settings

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

TODAY = date(2026, 11, 24)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", today=TODAY, duckdb_memory_limit="1GB")
