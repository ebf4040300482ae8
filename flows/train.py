"""Training flow: backtest the candidate models, register the best, decide promotion."""
from __future__ import annotations

from datetime import date

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from models.registry import Registry
from models.training import TrainingRun, budget_figures, latest_panel, register_best, run_backtests, sign_quality_lines, training_rows
from yocho.settings import Settings, load_settings
from yocho.warehouse.db import warehouse

# Frames and fitted pipelines pass between these tasks in memory; hashing them for a
# cache key would cost more than the work, and a retrained model must never be a cache hit.


@task(cache_policy=NO_CACHE, retries=1, retry_delay_seconds=10)
def load_rows(settings: Settings, until: date | None = None):
    with warehouse(settings) as con:
        # the warning signs' quality on the same history goes into the training report
        return training_rows(con, settings.models, until), latest_panel(con, until), sign_quality_lines(con, until)


@task(cache_policy=NO_CACHE)
def backtest_candidates(settings: Settings, frame):
    return run_backtests(frame, settings.models)


@task(cache_policy=NO_CACHE)
def compare_at_budget(settings: Settings, backtests, until: date | None = None) -> dict:
    """Synthetic data only (a generator truth folder in the data folder): the model and the flag
    policy against the best possible ranking at the monthly review budget."""
    with warehouse(settings) as con:
        return budget_figures(con, backtests, settings.models, settings.signals, settings.data_dir / "truth", until)


@task(cache_policy=NO_CACHE)
def register(settings: Settings, frame, backtests, latest, until: date | None = None,
             watchlist: dict | None = None, sign_quality: tuple[str, ...] = ()) -> TrainingRun:
    return register_best(Registry(settings.models_dir), frame, backtests, latest, settings.models, settings.features,
                         until=until, watchlist=watchlist, sign_quality=sign_quality)


@task(cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def write_report(settings: Settings, run: TrainingRun) -> str:
    path = settings.reports_dir / f"training-{run.card.version}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(run.markdown(), encoding="utf-8")
    return str(path)


@flow(name="train")
def train_flow(settings: Settings | None = None, until: date | None = None) -> dict:
    """Monthly: retrain on all labelled history; the champion changes only if not worse.
    With `until`, only on the history known on that date, so later months can be scored
    out of time on the same warehouse."""
    settings = settings or load_settings()
    frame, latest, sign_quality = load_rows(settings, until)
    backtests = backtest_candidates(settings, frame)
    watchlist = compare_at_budget(settings, backtests, until)
    run = register(settings, frame, backtests, latest, until, watchlist, sign_quality)
    report = write_report(settings, run)
    create_markdown_artifact(key="model-training", markdown=run.markdown(), description=run.card.version)
    create_table_artifact(key="model-backtest", table=[{"model": name, **metrics}
                                                        for name, metrics in run.card.candidates.items()])
    return {**run.summary(), "report": report, "folder": str(run.folder)}
