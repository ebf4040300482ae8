"""One frozen settings object, built at the entry point and passed down.

Sources, strongest first: keyword arguments, environment variables (prefix YOCHO_,
nested with __, e.g. YOCHO_INGEST__MAX_REJECT_RATIO=0.1), the TOML file named by
YOCHO_CONFIG (if any), then the defaults below.
"""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class IngestSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # A file with more than this share of its rows rejected is refused whole: at that
    # point the sender's extract is broken, and loading the remainder would hide it.
    max_reject_ratio: float = Field(0.05, ge=0, le=1)
    # Processed files leave the landing folder (their bytes stay in the archive), so a
    # night only hashes what is new.
    remove_processed: bool = True


class GeneratorSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    businesses: int = Field(20_000, gt=0)
    months: int = Field(36, gt=0)
    # Last month of generated history; fixed so the same seed gives the same files.
    end_month: date = date(2026, 9, 1)
    seed: int = 7
    banks: int = Field(3, ge=1)
    # Businesses generated per chunk; bounds memory at national scale.
    chunk_size: int = Field(100_000, gt=0)


class FeatureSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Overrides of indicator thresholds, keyed "<indicator id>.<threshold name>",
    # e.g. {"rep_dpd_30.days": 45}. Defaults and their reasons live in the catalog.
    thresholds: dict[str, float] = Field(default_factory=dict)
    # Months of as-of dates the demo and `yocho scan --history` compute.
    history_months: int = Field(12, gt=0)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="YOCHO_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    data_dir: Path = Path("data")
    # DuckDB resource limits: set explicitly so a nightly run never takes the machine.
    duckdb_memory_limit: str = "6GB"
    duckdb_threads: int = Field(2, gt=0)
    # "Today" for checks such as "no dates in the future"; None means the real date.
    today: date | None = None
    ingest: IngestSettings = IngestSettings()
    generator: GeneratorSettings = GeneratorSettings()
    features: FeatureSettings = FeatureSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("YOCHO_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    # Derived locations: one data directory holds everything a run writes.
    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    def effective_today(self) -> date:
        return self.today or date.today()


def load_settings(**overrides: object) -> Settings:
    """Build the settings at an entry point (CLI, flow, test)."""
    return Settings(**overrides)
