"""The `yocho` command: the entry point that builds the settings and passes them down."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yocho.settings import Settings, load_settings

app = typer.Typer(help="Yocho (予兆): early-warning monitoring of small-business borrowers.", no_args_is_help=True)
console = Console()


def _settings(data_dir: Optional[Path], **generator: object) -> Settings:
    base = load_settings()
    overrides: dict[str, object] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    gen = {k: v for k, v in generator.items() if v is not None}
    if gen:
        overrides["generator"] = base.generator.model_copy(update=gen)
    return base.model_copy(update=overrides) if overrides else base


def _quiet_network() -> None:
    # Deployments here have no internet access: never try to send usage statistics.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


DataDir = typer.Option(None, "--data-dir", help="Where landing, archive and warehouse live (default: YOCHO_DATA_DIR or ./data).")


@app.command()
def generate(
    data_dir: Optional[Path] = DataDir,
    businesses: Optional[int] = typer.Option(None, help="Number of businesses."),
    months: Optional[int] = typer.Option(None, help="Months of history."),
    seed: Optional[int] = typer.Option(None, help="Random seed (same seed, same files)."),
) -> None:
    """Write a synthetic portfolio into the landing area, as institutions would send it."""
    settings = _settings(data_dir, businesses=businesses, months=months, seed=seed)
    _generate(settings)


def _generate(settings: Settings):
    from yocho.generator import generate as run_generator

    cfg = settings.generator
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        bar = progress.add_task(f"generating {cfg.businesses:,} businesses × {cfg.months} months", total=None)

        def advance(done: int, total: int) -> None:
            progress.update(bar, completed=done, total=total)

        summary = run_generator(cfg, settings.data_dir, progress=advance)
    console.print(
        f"generated {summary.businesses:,} businesses × {summary.months} months, {summary.files_written} files "
        f"in {summary.elapsed_seconds:.1f}s; {summary.businesses_with_event:,} with a deterioration event "
        f"({summary.annual_event_rate:.2%} a year)"
    )
    return summary


@app.command()
def ingest(data_dir: Optional[Path] = DataDir) -> None:
    """Ingest every new file in the landing area (the Prefect ingest flow)."""
    settings = _settings(data_dir)
    _ingest(settings)
    _print_summary(settings)


def _ingest(settings: Settings) -> tuple[list[dict], float]:
    _quiet_network()
    from flows.ingest import ingest as ingest_flow

    started = time.perf_counter()
    outcomes = ingest_flow(settings)
    elapsed = time.perf_counter() - started
    rows = sum(o["rows_total"] for o in outcomes)
    console.print(
        f"ingested {len(outcomes)} files, {rows:,} rows in {elapsed:.1f}s "
        f"({rows / elapsed if elapsed else 0:,.0f} rows/s including flow start-up)"
    )
    return outcomes, elapsed


def _print_summary(settings: Settings) -> None:
    from yocho.ingest.report import write_validation_report
    from yocho.ingest.summary import summarise
    from yocho.warehouse.db import warehouse

    with warehouse(settings) as con:
        summary = summarise(con)
        report = write_validation_report(con, settings.reports_dir / "validation.html")
    rows = Table(title="rows loaded per feed")
    rows.add_column("feed")
    rows.add_column("rows", justify="right")
    for feed, n in summary.rows_per_feed.items():
        rows.add_row(feed, f"{n:,}")
    console.print(rows)
    console.print(f"files: {summary.files_by_status}; rows quarantined: {summary.rows_quarantined:,}")
    if summary.top_reasons:
        reasons = Table(title="top quarantine reasons")
        for name in ("feed", "column", "reason", "rows"):
            reasons.add_column(name)
        for feed, column, reason, n in summary.top_reasons:
            reasons.add_row(feed, column or "", reason, f"{n:,}")
        console.print(reasons)
    for file_name, message in summary.rejected_files:
        console.print(f"[red]rejected[/red] {file_name}: {message}")
    console.print(f"validation report: {report}")


@app.command()
def summary(data_dir: Optional[Path] = DataDir) -> None:
    """Print what the warehouse holds and write the validation report."""
    _print_summary(_settings(data_dir))


@app.command()
def demo(
    data_dir: Path = typer.Option(Path("data/demo"), "--data-dir", help="Demo data folder (recreated)."),
    businesses: Optional[int] = typer.Option(None, help="Number of businesses (default 20,000)."),
    months: Optional[int] = typer.Option(None, help="Months of history (default 36)."),
) -> None:
    """Generate a portfolio, ingest it and print the summary -- the whole job, end to end."""
    settings = _settings(data_dir, businesses=businesses, months=months)
    if settings.data_dir.exists():
        shutil.rmtree(settings.data_dir)
    started = time.perf_counter()
    _generate(settings)
    _ingest(settings)
    _print_summary(settings)
    console.print(f"[bold]demo finished in {time.perf_counter() - started:.1f}s[/bold]; data in {settings.data_dir}")


@app.command()
def contract() -> None:
    """Print the data contract as markdown (docs/data-contract.md is this output)."""
    from yocho.contract_doc import render_markdown

    print(render_markdown(), end="")


if __name__ == "__main__":
    app()
