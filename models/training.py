"""One training run: backtest every candidate on the latest labelled months, fit the best
on all labelled history, measure drift, register it with its card, and decide whether it
replaces the champion."""
from __future__ import annotations

import platform
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import metadata
from pathlib import Path

import duckdb
import polars as pl

from features.catalog import threshold_values
from features.quality import quality_markdown, sign_quality
from models.budget_comparison import compare
from models.dataset import training_frame
from models.drift import feature_drift, score_drift
from models.explain import METHOD
from models.labels import HORIZON_MONTHS
from models.registry import Decision, ModelCard, Registry
from models.report import card_markdown, training_markdown
from models.train import FIRED, Backtest, backtest, extra_columns, fingerprint, fit, model_columns, predict
from yocho import progress
from yocho.settings import FeatureSettings, ModelSettings, SignalSettings

PACKAGES = ("scikit-learn", "numpy", "polars", "duckdb", "skops", "prefect")
# Scores for the drift figure are computed on at most this many training rows.
DRIFT_SAMPLE = 200_000


class NotEnoughHistory(Exception):
    pass


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, 1)


def training_rows(con: duckdb.DuckDBPyConnection, settings: ModelSettings, until: date | None = None) -> pl.DataFrame:
    """Labelled panel rows; above `max_training_rows`, whole businesses are sampled by a
    hash of their key, so the same businesses are kept from run to run. With `until`, only
    the history known on that date: rows whose 12-month outcome was observed by then, and
    events reported by then (the later months stay for an out-of-time check)."""
    panel_rows = con.execute("SELECT count(*) FROM feature_panel").fetchone()[0]
    share = min(1.0, settings.max_training_rows / panel_rows) if panel_rows else 1.0
    frame = training_frame(con, until=until, share=share)
    if frame.is_empty() or frame["label"].n_unique() < 2:
        raise NotEnoughHistory(
            f"no usable training rows: labels need {HORIZON_MONTHS} months observed after an as-of date "
            f"and both outcomes present; scan a longer history (found {frame.height:,} labelled rows)"
        )
    return frame


def backtest_start(frame: pl.DataFrame, test_months: int) -> date:
    """The first as-of month of the held-out period: the latest `test_months` labelled months."""
    last = frame["as_of"].max()
    return _months_before(last, test_months - 1)


def run_backtests(frame: pl.DataFrame, settings: ModelSettings) -> dict[str, Backtest]:
    test_from = backtest_start(frame, settings.test_months)
    train_until = _months_before(test_from, HORIZON_MONTHS)
    train, test = frame.filter(pl.col("as_of") < train_until), frame.filter(pl.col("as_of") >= test_from)
    for name, part in (("training", train), ("held-out", test)):
        if part.is_empty() or part["label"].n_unique() < 2:
            raise NotEnoughHistory(
                f"the backtest's {name} period ({part.height:,} rows) lacks one of the outcomes: it holds out "
                f"as-of dates from {test_from} and trains before {train_until} ({HORIZON_MONTHS}-month embargo); "
                "scan a longer history or lower models.test_months"
            )
    results = {}
    with progress.task("候補モデルを検証 / backtesting candidate models", total=len(settings.candidates)) as reporter:
        for name in settings.candidates:
            results[name] = backtest(name, frame, test_from, settings.boosted_calibration)
            reporter.advance()
    return results


def best_candidate(backtests: dict[str, Backtest], metric: str) -> str:
    # ties go to the first candidate listed (the scorecard by default: the simpler model)
    return max(backtests, key=lambda name: (backtests[name].metrics[metric], -list(backtests).index(name)))


def latest_panel(con: duckdb.DuckDBPyConnection, until: date | None = None) -> pl.DataFrame:
    """The panel at its latest as-of date (on or before `until`): what drift is measured on."""
    return con.execute("SELECT * FROM feature_panel WHERE as_of = (SELECT max(as_of) FROM feature_panel "
                       "WHERE as_of <= coalesce(?::DATE, as_of))", [until]).pl()


@dataclass(frozen=True)
class Drift:
    latest_as_of: date
    features: pl.DataFrame  # feature, kind, psi, level, missing_training, missing_latest
    score: dict


def measure_drift(pipeline: object, training: pl.DataFrame, latest: pl.DataFrame) -> Drift:
    """PSI of every column the model was fitted on (the list its card stores), in its order,
    and of its score, between the training rows and the latest panel."""
    # PSI bins are deciles: a fixed sample of the training rows places them as well as all of them
    sample = training.sample(DRIFT_SAMPLE, seed=0) if training.height > DRIFT_SAMPLE else training
    columns = model_columns(pipeline)
    extra_columns(columns, latest.columns)  # the latest panel lacks none of them
    features = feature_drift(sample, latest, [c for c in columns if not c.endswith(FIRED)],
                             [c for c in columns if c.endswith(FIRED)])
    score = score_drift(predict(pipeline, sample), predict(pipeline, latest))
    return Drift(latest["as_of"].max(), features, score)


def code_version() -> str:
    """The git commit the code was run from, or the package version outside a checkout."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).parent, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=Path(__file__).parent, timeout=10).stdout.strip()
        return commit + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return f"yocho {metadata.version('yocho')}"


def packages() -> dict[str, str]:
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return found


@dataclass(frozen=True)
class TrainingRun:
    backtests: dict[str, Backtest]
    card: ModelCard
    drift: Drift
    decision: Decision
    folder: Path
    # the warning-sign quality table on the same history, as markdown lines (features/quality.py)
    sign_quality: tuple[str, ...] = ()

    def markdown(self) -> str:
        return training_markdown(self.card, self.decision.promoted, self.decision.reason, self.decision.champion,
                                 self.drift.features.head(20).to_dicts(), list(self.sign_quality))

    @property
    def watchlist(self) -> dict:
        return self.card.watchlist

    def summary(self) -> dict:
        return {
            "version": self.card.version,
            "model": self.card.model,
            "promoted": self.decision.promoted,
            "reason": self.decision.reason,
            "training_rows": self.card.training_rows,
            "backtest": self.card.candidates,
            "score_psi": self.drift.score["psi"],
            "watchlist": self.card.watchlist,
        }


def register_best(registry: Registry, frame: pl.DataFrame, backtests: dict[str, Backtest], drift_against: pl.DataFrame,
                  models: ModelSettings, features: FeatureSettings, now: datetime | None = None,
                  until: date | None = None, watchlist: dict | None = None,
                  sign_quality: tuple[str, ...] = ()) -> TrainingRun:
    """Fit the best candidate on every labelled row (the backtest said how well this recipe
    does on unseen months; production should learn from the latest of them too), register
    it and decide promotion. `sign_quality`: the report's section on the warning signs
    (`sign_quality_lines`)."""
    now = now or datetime.now(UTC)
    name = best_candidate(backtests, models.promotion_metric)
    with progress.task("最良モデルを全履歴で学習 / fitting the best model, then drift", total=2) as reporter:
        pipeline = fit(name, frame, models.boosted_calibration)
        reporter.advance()
        drift = measure_drift(pipeline, frame, drift_against)
        reporter.advance()
    chosen = backtests[name]
    version, taken = f"{now:%Y%m%dT%H%M%S}-{name}", set(registry.versions())
    version = next(v for v in [version] + [f"{version}-{i}" for i in range(2, 100)] if v not in taken)
    card = ModelCard(
        version=version,
        model=name,
        trained_at=now.isoformat(timespec="seconds"),
        training_from=frame["as_of"].min().isoformat(),
        training_until=frame["as_of"].max().isoformat(),
        data_fingerprint=fingerprint(frame),
        code_version=code_version(),
        packages=packages(),
        features=model_columns(pipeline),
        metrics={k: v for k, v in chosen.metrics.items() if v is not None},
        thresholds=threshold_values(features.thresholds),
        training_rows=frame.height,
        positives=int(frame["label"].sum()),
        businesses=frame["business_key"].n_unique(),
        backtest_from=chosen.split.test_from.isoformat(),
        backtest_train_until=chosen.split.train_until.isoformat(),
        candidates={n: {k: v for k, v in b.metrics.items() if v is not None} for n, b in backtests.items()},
        calibration=chosen.calibration.to_dicts(),
        explanation=METHOD[name],
        drift_score_psi=drift.score["psi"],
        drift_top=drift.features.head(10).select("feature", "psi", "level").to_dicts(),
        backtest_months=chosen.months.with_columns(pl.col("as_of").cast(pl.Utf8)).to_dicts(),
        trained_until=until.isoformat() if until else "",
        watchlist=watchlist or {},
    )
    folder = registry.save(pipeline, card, {"card.md": card_markdown(card)})
    decision = registry.promote_if_not_worse(card.version, models.promotion_metric, models.promotion_tolerance)
    return TrainingRun(backtests, card, drift, decision, folder, tuple(sign_quality))


def sign_quality_lines(con: duckdb.DuckDBPyConnection, until: date | None = None) -> tuple[str, ...]:
    """How well each warning sign separates on the history the run trains on (the same labels,
    known by `until`): the training report's section (features/quality.py)."""
    return tuple(quality_markdown(sign_quality(con, until=until)))


def budget_figures(con: duckdb.DuckDBPyConnection, backtests: dict[str, Backtest], models: ModelSettings,
                   signals: SignalSettings, truth_dir: Path | None, until: date | None = None) -> dict:
    """The chosen candidate's backtest at the monthly review budget against the generator's
    true-risk ranking and the flag policy (models/budget_comparison.py); {} without truth."""
    chosen = backtests[best_candidate(backtests, models.promotion_metric)]
    return compare(con, chosen, truth_dir, models, signals, until) or {}


def train(con: duckdb.DuckDBPyConnection, registry: Registry, models: ModelSettings, features: FeatureSettings,
          now: datetime | None = None, until: date | None = None, truth_dir: Path | None = None,
          signals: SignalSettings | None = None) -> TrainingRun:
    """`truth_dir`: the generator's truth folder, when the data is synthetic: the card then
    compares the model with the best possible ranking at the review budget."""
    frame = training_rows(con, models, until)
    backtests = run_backtests(frame, models)
    watchlist = budget_figures(con, backtests, models, signals or SignalSettings(), truth_dir, until)
    return register_best(registry, frame, backtests, latest_panel(con, until), models, features, now, until,
                         watchlist, sign_quality_lines(con, until))
