"""One frozen settings object, built at the entry point and passed down.

Sources, strongest first: keyword arguments, environment variables (prefix YOCHO_,
nested with __, e.g. YOCHO_INGEST__MAX_REJECT_RATIO=0.1), the TOML file named by
YOCHO_CONFIG (if any), then the defaults below.
"""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
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
    # A `*.partial` file is one a sender is still writing. Untouched for this long, the
    # upload has died: it is recorded as misplaced so somebody sends it again.
    partial_max_age_hours: float = Field(24, gt=0)

    # Limits a file must stay within before it is parsed; a file beyond one is rejected
    # whole, naming the limit (raise it here or with YOCHO_INGEST__<NAME>). They bound
    # memory: parsing costs several times a file's size, and a compressed .xlsx can expand
    # a thousandfold. The defaults fit a national portfolio's monthly files with room: the
    # largest expected is a major bank's monthly loans extract, about 1M businesses x 3
    # facilities = 3M rows of ~150 bytes (~450 MB of CSV).
    # Bytes on disk: 4x that largest extract; a bigger backfill is sent split by month.
    max_file_bytes: int = Field(2 * 1024**3, gt=0)
    # Data rows in one file: 3x that extract.
    max_rows: int = Field(10_000_000, gt=0)
    # Characters in one cell: the longest legitimate cell is a free-text name or note
    # (商号 are at most a few hundred characters); 4,000 leaves room for notes.
    max_cell_chars: int = Field(4_000, gt=0)
    # Parsed rows held back so that the files of one feed are validated in one suite run
    # (a run costs ~0.5 s before it reads a row). Bounds the memory a night's batch takes:
    # rows are held parsed, as sent, and once more for the suite (~1 GB at this size).
    validate_rows_per_run: int = Field(2_000_000, gt=0)
    # Declared uncompressed size of all members of an .xlsx (zip), checked before it is
    # opened. A 13-column sheet takes ~500 bytes of XML per row, so 100 MiB holds ~200k
    # rows; extracts bigger than that come as CSV or Parquet. Reading an .xlsx costs
    # about 30x this figure in memory (3 GB), which a nightly run can afford.
    max_xlsx_uncompressed_bytes: int = Field(100 * 1024**2, gt=0)
    # Declared uncompressed size over compressed size of an .xlsx. Real workbooks compress
    # 5-30x (repetitive XML); a decompression bomb (151 KB expanding to one 150 MB cell)
    # runs to 1,000x. 100 leaves genuine sheets of repeated values room.
    max_xlsx_compression_ratio: float = Field(100, gt=1)


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
    # The last N months of receipt (the extract's month, the one after end_month, and the
    # N-1 before it) are delivered as institutions really send them: one file per
    # institution, feed and month of receipt (<feed>_M<yyyymm>_c<chunk>), their rows no longer
    # in the fiscal-year part files. 0: fiscal-year files only.
    monthly_files_months: int = Field(0, ge=0)


class FeatureSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Overrides of indicator thresholds, keyed "<indicator id>.<threshold name>", e.g.
    # {"rep_dpd_30.min_days": 45}: 30+ days past due then fires from 45 days (default 30).
    # The names, defaults and reasons live in the catalog (docs/indicators.md); an unknown
    # key is refused (features.catalog.threshold_values).
    thresholds: dict[str, float] = Field(default_factory=dict)
    # Month-ends of history the demo scans: enough for 12-month labels, a held-out
    # backtest period and the training window before it.
    history_months: int = Field(36, gt=0)
    # Business-dates computed in one pass. Above it a pass is split into shards of businesses
    # computed one after another: the family SQL's lists and windows do not all spill to disk,
    # and at national scale one month-end over every business exceeds DuckDB's memory limit.
    business_dates_per_pass: int = Field(250_000, gt=0)
    # A business nobody has sent a row about (outcome events and exits aside) for this many
    # months is no longer monitored (features/pit.py), exit or not: a borrower that repaid
    # quietly must not stay in the portfolio as a healthy row for ever. 15, not 12: a
    # business known only from its annual statements sends one row a year, and a statement
    # arrives up to a few months after the previous year's did (55-180 days after period end).
    inactive_after_months: int = Field(15, gt=0)


class ModelSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    # Model families trained each run; the best on the backtest is the challenger.
    candidates: tuple[Literal["scorecard", "boosted"], ...] = ("scorecard", "boosted")
    # The latest as-of months with a fully observed label are held out for the backtest.
    test_months: int = Field(6, gt=0)
    # A challenger replaces the champion unless this backtest figure is worse by more
    # than the tolerance.
    promotion_metric: Literal["pr_auc", "roc_auc", "recall_top_3%"] = "pr_auc"
    promotion_tolerance: float = Field(0.0, ge=0)
    # Above this many labelled rows, training keeps a fixed share of businesses (whole
    # histories, chosen by a hash of the key) so memory stays bounded at national scale.
    max_training_rows: int = Field(2_000_000, gt=0)
    # Risk bands by calibrated 12-month probability: the lower bound of each band.
    # 2% a year is the portfolio's base rate; "watch" starts at about one and a half
    # times it, "high" where one case in ten deteriorates.
    bands: dict[str, float] = Field(
        default_factory=lambda: {"low": 0.0, "watch": 0.03, "high": 0.10, "very_high": 0.25}
    )
    # Factors kept per business in risk_scores, of each kind (fired sign, figure, missing data).
    top_factors: int = Field(5, gt=0)
    # The boosted model's calibration. sigmoid keeps every distinction of the ranking;
    # isotonic can follow a non-logistic shape but ties whole ranges of scores (one
    # probability for many businesses, their review order arbitrary). docs/benchmarks.md
    # compares the two on real statements.
    boosted_calibration: Literal["sigmoid", "isotonic"] = "sigmoid"

    @field_validator("bands")
    @classmethod
    def _bands_ascend_from_zero(cls, bands: dict[str, float]) -> dict[str, float]:
        bounds = list(bands.values())
        if not bounds or bounds[0] != 0 or bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError("bands: lower bounds must start at 0 and strictly increase")
        return bands


class SignalSettings(BaseModel):
    """Flag policy, routing and review capacity (signals/, docs/signals.md)."""
    model_config = ConfigDict(frozen=True)

    # Signs serious enough to open a case on their own, whatever the score. Chosen by measured
    # evidence (docs/signals.md, "Flag policy"): a sign is critical when its 12-month precision
    # (share of its firings followed by a deterioration event) is at least that of the score
    # band that opens a case on its own (flag_band high: 19% on the demo backtest), measured on
    # 200 or more firings. rep_dpd_90 and cga_subrogation_requested are deterioration events
    # themselves (no lead to measure) and stay. Failed debits (14%), payroll stopped (14%) and
    # social insurance stopped (18%) fall short: they are high signs that raise the score.
    critical_signs: tuple[str, ...] = (
        "rep_dpd_90", "cga_subrogation_requested", "rep_dpd_30", "cga_guarantee_adverse_status",
        "x_adverse_at_multiple_institutions", "acc_tax_stopped", "cga_incident_reported",
        "obs_management_unreachable",
    )
    # A score in this band (models.bands) or above opens a case ...
    flag_band: str = "high"
    # ... and an open flag is released only after the score has stayed below this band
    # for release_months consecutive months with no critical sign (hysteresis: no flapping).
    release_band: str = "watch"
    release_months: int = Field(3, ge=1)
    # After a case is dismissed, the business is not flagged again for this long unless a
    # critical sign fires that was not in the dismissed case's evidence.
    cooldown_months: int = Field(6, ge=0)
    # The monthly review budget (月間審査枠): new watch-list entries an institution can review
    # in a month, this share of the businesses it monitors (rounded down, at least one);
    # monthly_capacity[<institution id>] sets an absolute number instead. Reviewers read a
    # list of tens, not thousands: 1.5% of a monitored book is what a credit team reviewing
    # each case in depth gets through. Entries beyond it wait, ranked (signals/budget.py).
    monthly_budget_share: float = Field(0.015, gt=0, le=1)
    monthly_capacity: dict[str, int] = Field(default_factory=dict)

    @field_validator("monthly_capacity")
    @classmethod
    def _capacity_not_negative(cls, capacity: dict[str, int]) -> dict[str, int]:
        if any(n < 0 for n in capacity.values()):
            raise ValueError("monthly_capacity: a budget is a number of cases, 0 or more")
        return capacity


class QueueSettings(BaseModel):
    """The referral queue's transactional store (SQLAlchemy)."""
    model_config = ConfigDict(frozen=True)

    # SQLAlchemy URL; None means the embedded SQLite file <data_dir>/queue.sqlite.
    # For several reviewers at once: postgresql+psycopg://user:pass@host/db
    url: str | None = None
    # Signs the web app's session cookies and CSRF tokens. No default: a secret written in
    # the code is one anybody can sign sessions with. The web app refuses to start without
    # one (at least 32 characters) unless `yocho serve --insecure-demo-secret` (docs/webapp.md).
    secret_key: str = ""


class NotificationSettings(BaseModel):
    """The daily e-mail digest of each user's new work (signals/queue/digest.py, docs/deploy.md).
    Off by default: nothing is sent until the operator turns it on and names a server."""
    model_config = ConfigDict(frozen=True)

    enabled: bool = False
    smtp_host: str = "localhost"
    smtp_port: int = Field(587, gt=0, lt=65536)
    # starttls: plain connection upgraded with STARTTLS (port 587); ssl: TLS from the start
    # (port 465); none: no encryption, for a relay on this machine only.
    smtp_security: Literal["starttls", "ssl", "none"] = "starttls"
    smtp_username: str | None = None
    # The password is never a setting (a setting can sit in a TOML file or a process list):
    # it is read at send time from the environment variable named here, and has no default.
    smtp_password_env: str = "YOCHO_SMTP_PASSWORD"
    smtp_timeout_seconds: float = Field(30, gt=0)
    from_address: str = ""
    # The web app's address as users reach it: the digest's links point there.
    base_url: str = "http://127.0.0.1:8000"
    # The hour (Asia/Tokyo) from which a day's digest goes out: an earlier run sends nothing.
    # After the nightly flags (03:00) have opened the day's cases.
    send_hour: int = Field(7, ge=0, le=23)
    # Items listed in one digest; the counts always cover all of them.
    max_items: int = Field(20, gt=0, le=500)

    @field_validator("base_url")
    @classmethod
    def _no_trailing_slash(cls, url: str) -> str:
        return url.rstrip("/")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="YOCHO_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    data_dir: Path = Path("data")
    # The model registry (models, cards, champion pointer); None means <data_dir>/models.
    # Point it at another data directory's registry to score with models trained there.
    registry_dir: Path | None = None
    # DuckDB resource limits: set explicitly so a nightly run never takes the machine.
    duckdb_memory_limit: str = "6GB"
    duckdb_threads: int = Field(2, gt=0)
    # "Today" for checks such as "no dates in the future"; None means the real date.
    today: date | None = None
    ingest: IngestSettings = IngestSettings()
    generator: GeneratorSettings = GeneratorSettings()
    features: FeatureSettings = FeatureSettings()
    models: ModelSettings = ModelSettings()
    signals: SignalSettings = SignalSettings()
    queue: QueueSettings = QueueSettings()
    notifications: NotificationSettings = NotificationSettings()
    scale_out: ScaleOutSettings = Field(default_factory=lambda: ScaleOutSettings())

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
    def models_dir(self) -> Path:
        return self.registry_dir if self.registry_dir is not None else self.data_dir / "models"

    @property
    def queue_url(self) -> str:
        return self.queue.url or f"sqlite:///{(self.data_dir / 'queue.sqlite').resolve()}"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    def effective_today(self) -> date:
        return self.today or date.today()


class ScaleOutSettings(BaseModel):
    """Scale-out of the scan on Dask (docs/scale-out.md)."""
    model_config = ConfigDict(frozen=True)

    # Shards the scan is split into (by a hash of business_key); 1 = the single-machine path.
    shards: int = Field(1, ge=1)
    # Dask scheduler, e.g. "tcp://scheduler:8786"; None starts a LocalCluster for the run.
    dask_address: str | None = None
    # The LocalCluster's workers (processes) and their memory limit, when dask_address is None.
    local_workers: int = Field(2, ge=1)
    local_worker_memory: str = "4GB"


Settings.model_rebuild()


def load_settings(**overrides: object) -> Settings:
    """Build the settings at an entry point (CLI, flow, test)."""
    return Settings(**overrides)
