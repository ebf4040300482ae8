"""`python -m bench`: generate a portfolio, run every step of the nightly job on it, and
measure each step (see docs/benchmarks.md for what each figure means)."""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from contextlib import contextmanager
from datetime import date, timedelta
from importlib import metadata
from pathlib import Path

import psutil

from bench.memory import PeakMemory

# The generated history ends with this month (yocho.settings.GeneratorSettings.end_month);
# its last deliveries arrive the month after, which is the last as-of date scanned. The
# portfolio is generated with that month's deliveries in files of their own (one per
# institution, feed and month of receipt): they are the night's ingest.
NIGHT_MONTHS = 1
RAW_TABLES = ("raw_business", "raw_loans", "raw_accounts", "raw_guarantees", "raw_classifications",
              "raw_financials", "raw_incidents", "raw_subrogations", "raw_observations", "raw_events")
# months the flag policy looks back over (scores must exist for them): yocho.cli.SCORED_MONTHS
SCORED_MONTHS = 6


class Timer:
    """Wall-clock seconds of each step, and (given the run's PeakMemory) the step's peak RSS."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_bytes: dict[str, int] = {}
        self.memory: PeakMemory | None = None

    @contextmanager
    def __call__(self, name: str):
        if self.memory:
            self.memory.reset_window()
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = time.perf_counter() - started
            if self.memory:
                self.memory.sample()
                self.peak_bytes[name] = self.memory.window_peak_bytes


def machine() -> dict:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for pkg in ("duckdb", "polars", "pandas", "numpy", "scikit-learn", "pyarrow"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu_model": cpu, "cpu_count": os.cpu_count(), "cpus_usable": usable,
        "ram_bytes": psutil.virtual_memory().total, "os": platform.platform(),
        "python": platform.python_version(), "versions": versions,
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def _settings(data_dir: Path, businesses: int, months: int, seed: int, memory_limit: str | None,
              test_months: int):
    from yocho.settings import load_settings

    base = load_settings()
    update: dict = {
        "data_dir": data_dir,
        "generator": base.generator.model_copy(update={"businesses": businesses, "months": months, "seed": seed,
                                                       "monthly_files_months": NIGHT_MONTHS}),
        "models": base.models.model_copy(update={"test_months": test_months}),
        "today": date(2026, 11, 24),
    }
    if memory_limit:
        update["duckdb_memory_limit"] = memory_limit
    return base.model_copy(update=update)


def _night_month(settings) -> date:
    """First day of the month after the generated history: the month of the night's delivery."""
    end = settings.generator.end_month
    return (end.replace(day=28) + timedelta(days=4)).replace(day=1)


def _last_scan(settings) -> date:
    from features.scan import month_end

    return month_end(_night_month(settings))


def _night_tag(settings) -> str:
    """What names the night's files: `<feed>_M<yyyymm>_c<chunk>.<suffix>`."""
    from yocho.generator.writer import monthly_file_tag

    return f"_{monthly_file_tag(_night_month(settings))}_c"


def _summary(outcomes) -> dict:
    return {"files": len(outcomes), "rows": sum(o.rows_total for o in outcomes),
            "rows_quarantined": sum(o.rows_quarantined for o in outcomes),
            "files_rejected": sum(o.status == "rejected" for o in outcomes)}


def _rows_received(con, since: date, until: date) -> int:
    total = 0
    for table in RAW_TABLES:
        try:
            total += con.execute(f"SELECT count(*) FROM {table} WHERE received_on > ? AND received_on <= ?",
                                 [since, until]).fetchone()[0]
        except Exception:  # a table without received_on
            pass
    return total


def _ingested(con, night_tag: str | None, night: bool) -> dict:
    """What ingested_files records: the files whose name holds `night_tag` (night) or the
    others (without a tag: every file), and the seconds from the first committed to the last."""
    files, rows, quarantined, rejected, first, last = con.execute(
        "SELECT count(*), coalesce(sum(rows_total), 0), coalesce(sum(rows_quarantined), 0), "
        "count(*) FILTER (WHERE status = 'rejected'), min(ingested_at), max(ingested_at) FROM ingested_files "
        "WHERE ?::VARCHAR IS NULL OR (strpos(file_name, ?::VARCHAR) > 0) = ?",
        [night_tag, night_tag, night]).fetchone()
    return {"files": files, "rows": int(rows), "rows_quarantined": int(quarantined), "files_rejected": rejected,
            "seconds": (last - first).total_seconds() if files else None}


def _earlier_ingest(con, night_tag: str | None = None) -> dict:
    """The ingest of an earlier run, from its ingested_files; without the files whose name
    holds `night_tag` (the night's delivery, measured on its own)."""
    ingested = _ingested(con, night_tag, night=False)
    if not ingested["files"]:
        raise SystemExit("--reuse-warehouse: the warehouse has no ingested files")
    return ingested


def run(businesses: int, months: int, data_dir: Path, *, seed: int = 7, memory_limit: str | None = None,
        peer_dates: int = 12, test_months: int = 3, keep: bool = False, reuse_portfolio: bool = False,
        model_from: Path | None = None, look_back: int = SCORED_MONTHS - 1, reuse_warehouse: bool = False) -> dict:
    """One benchmark run. `reuse_portfolio` ingests a portfolio already generated into
    <data_dir>/bench/work (by `--generate-only`) instead of generating it. `model_from` (the
    models folder of an earlier run at any scale) skips the full-history scan and the training:
    only the month-ends the flag policy looks back over are scanned, and scored with that model.
    `look_back` is how many month-ends before the last are scored (untimed) for the flag policy.
    `reuse_warehouse` skips the ingest of a run whose warehouse in <data_dir>/bench/work is
    already loaded (a run that stopped after its ingest): the ingest figures are then read from
    that warehouse's `ingested_files` (first to last file committed). The night's ingest (the
    files of the month after the history, see NIGHT_MONTHS) is timed only if none of them is
    loaded yet; otherwise it is reported as not measured."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    from bench import pandas_peer
    from features.catalog import Family, threshold_values
    from features.compute import compute
    from features.scan import month_ends, scan
    from models.registry import Registry
    from models.score import score
    from models.training import train
    from signals.queue import QueueStore
    from signals.refresh import refresh_queue
    from yocho.generator import generate
    from yocho.ingest.landing import discover
    from yocho.ingest.pipeline import ingest_files
    from yocho.ingest.validate import known_bank_codes
    from yocho.warehouse.db import warehouse

    work = data_dir / "bench" / "work"
    reuse = (reuse_portfolio and (work / "landing").is_dir()) or reuse_warehouse
    if work.exists() and not reuse:
        shutil.rmtree(work)
    settings = _settings(work, businesses, months, seed, memory_limit, test_months)
    t = Timer()
    out: dict = {"scale": {"businesses": businesses, "months": months, "seed": seed}, "machine": machine(),
                 "options": {"reused_portfolio": reuse, "reused_warehouse": reuse_warehouse,
                             "model_from": str(model_from) if model_from else None,
                             "look_back": look_back}}

    with PeakMemory() as mem:
        t.memory = mem
        if reuse:
            gen = None
        else:
            with t("generate"):
                gen = generate(settings.generator, settings.data_dir)
        files, misplaced = discover(settings.landing_dir, known_bank_codes())
        night_tag = _night_tag(settings)
        # the night's delivery (the last month's files) and the history before it
        night = [f for f in files if night_tag in f.path.name]
        history = [f for f in files if night_tag not in f.path.name]
        last = _last_scan(settings)
        dates = month_ends(last, months)
        with warehouse(settings) as con:
            out["duckdb"] = {
                "memory_limit": con.execute("SELECT current_setting('memory_limit')").fetchone()[0],
                "threads": con.execute("SELECT current_setting('threads')").fetchone()[0],
                "memory_limit_setting": settings.duckdb_memory_limit,
            }
            # ingest: the pipeline itself, no Prefect flow around it. The history first (every
            # file but the last month's), then the night's delivery, timed on its own. The night's
            # ingest touches only the raw tables, so it runs here, before the untimed history
            # steps: the full-history scan and the training see the whole warehouse, as before.
            if reuse_warehouse:
                ingested = _earlier_ingest(con, night_tag)
                t.seconds["ingest"] = ingested["seconds"]
                loaded = _ingested(con, night_tag, night=True)["files"]
            else:
                if not night:
                    raise SystemExit(
                        f"no files of the night's month ({_night_month(settings):%Y-%m}, *{night_tag}*) in "
                        f"{settings.landing_dir}: "
                        "a portfolio generated before the monthly files were written; generate it again")
                with t("ingest"):
                    ingested = _summary(ingest_files(con, history, settings, known_bank_codes()))
                loaded = 0
            if night and not loaded:
                with t("ingest_night"):
                    night_ingest = _summary(ingest_files(con, night, settings, known_bank_codes()))
                night_ingest["measured"] = "timed in this run"
            else:
                # loaded by an earlier run (the files left landing), or only in part: the rest is
                # loaded untimed so the night scans the whole month, and no figure is made up;
                # files and rows are then those ingested_files records for the month
                if night:
                    ingest_files(con, night, settings, known_bank_codes())
                night_ingest = _ingested(con, night_tag, night=True)
                night_ingest["measured"] = (
                    f"not measured: {loaded} of the month's files already loaded by an earlier run" if loaded
                    else "not measured: no files of the month in the portfolio")
            rows_ingested = ingested["rows"]
            rows_last_month = _rows_received(con, dates[-2], last)

            if model_from is None:
                # indicators over the whole history, then the model trained on it
                with t("scan_full_history"):
                    full = scan(con, dates, settings.features)
                with t("train"):
                    run_ = train(con, Registry(settings.models_dir), settings.models, settings.features)
            else:
                full = run_ = None
                shutil.copytree(model_from, settings.models_dir, dirs_exist_ok=True)
                if look_back:
                    scan(con, dates[-1 - look_back:-1], settings.features)  # the policy's look-back, untimed
            # one night: the last month-end again (recomputed and replaced)
            with t("scan_incremental"):
                scan(con, [last], settings.features)
            registry = Registry(settings.models_dir)
            if look_back:
                score(con, registry, dates[-1 - look_back:-1], settings.models)  # the policy's look-back, untimed
            with t("score"):
                scored = score(con, registry, [last], settings.models)
            with QueueStore.from_settings(settings) as store, t("flags"):
                flags = refresh_queue(con, store, last, settings)
            # the night's figures, kept before the pandas peer runs: at national scale the peer's
            # frames are the run's largest, and a run stopped there still leaves them
            _write_json(data_dir / "bench" / "night.json", {
                "scale": out["scale"], "seconds": dict(t.seconds), "peak_rss_bytes_by_step": dict(t.peak_bytes),
                "night_ingest": night_ingest, "flagged": flags["flagged"]})

            # side by side: the same indicators in pandas and in Yocho's family SQL
            compared = dates[-min(peer_dates, len(dates)):]
            thresholds = threshold_values(settings.features.thresholds)
            peer_input = pandas_peer.load(con, compared, thresholds)  # untimed: reading the raw tables
            with t("peer_pandas"):
                peer = pandas_peer.compute(peer_input)
            del peer_input
            with t("peer_yocho"):
                compute(con, compared, settings.features.thresholds,
                        families=[Family(f) for f in pandas_peer.FAMILIES],
                        business_dates_per_pass=settings.features.business_dates_per_pass)
            yocho_values = con.execute(
                "SELECT business_key, as_of, indicator_id, value, available, fired FROM indicator_results "
                "WHERE indicator_id IN ?", [list(pandas_peer.INDICATORS)]).df()
            agreement = pandas_peer.compare(peer, yocho_values)

    s = t.seconds
    rows_per_s = rows_ingested / s["ingest"] if s["ingest"] else None
    ingest_month = s.get("ingest_night")
    nightly_steps = ("scan_incremental", "score", "flags")
    memory_steps = (("ingest_night",) if ingest_month is not None else ()) + nightly_steps
    out.update({
        "generated": {"files": len(files), "night_files": len(night), "misplaced_files": len(misplaced),
                      "rows_per_feed": gen.rows_per_feed if gen else None,
                      "generate_seconds": s.get("generate")},
        "ingest": {**ingested, "seconds": s["ingest"], "rows_per_second": rows_per_s,
                   "measured": "from ingested_files of an earlier run" if reuse_warehouse else "timed in this run"},
        "indicators": {
            "full_history": None if full is None else {
                "dates": len(dates), "seconds": s["scan_full_history"], "rows_written": full.rows_written,
                "businesses": full.businesses},
            "incremental_night": {"dates": 1, "as_of": last.isoformat(), "seconds": s["scan_incremental"]},
        },
        "training": None if run_ is None else {"seconds": s["train"], "version": run_.summary().get("version")},
        "scoring": {"as_of": last.isoformat(), "seconds": s["score"], "rows": scored.rows_written},
        "flags": {"as_of": last.isoformat(), "seconds": s["flags"], "flagged": flags["flagged"],
                  "opened": flags["applied"]["opened"]},
        "nightly": {
            "month": _night_month(settings).strftime("%Y-%m"),
            "rows_received_last_month": rows_last_month,
            "ingest_one_month_seconds": ingest_month,
            "ingest_one_month_files": night_ingest["files"],
            "ingest_one_month_rows": night_ingest["rows"],
            "ingest_one_month_rows_quarantined": night_ingest["rows_quarantined"],
            "ingest_one_month_files_rejected": night_ingest["files_rejected"],
            "ingest_one_month_measured": night_ingest["measured"],
            "indicators_seconds": s["scan_incremental"], "score_seconds": s["score"], "flags_seconds": s["flags"],
            "total_seconds": (ingest_month or 0) + sum(s[k] for k in nightly_steps),
            "peak_rss_bytes": max(t.peak_bytes[k] for k in memory_steps),
        },
        "peer": {
            "indicators": list(pandas_peer.INDICATORS), "families_yocho": list(pandas_peer.FAMILIES),
            "dates": len(compared), "pandas_seconds": s["peer_pandas"], "yocho_seconds": s["peer_yocho"],
            "ratio": s["peer_pandas"] / s["peer_yocho"] if s["peer_yocho"] else None,
            "agreement": agreement,
        },
        "memory": {**mem.result(), "peak_rss_bytes_by_step": t.peak_bytes},
    })
    (data_dir / "bench").mkdir(parents=True, exist_ok=True)
    _write_json(data_dir / "bench" / "results.json", out)
    (data_dir / "bench" / "results.md").write_text(markdown_row(out) + "\n", encoding="utf-8")
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return out


def generate_only(businesses: int, months: int, data_dir: Path, seed: int = 7) -> float:
    from yocho.generator import generate

    work = data_dir / "bench" / "work"
    if work.exists():
        shutil.rmtree(work)
    settings = _settings(work, businesses, months, seed, None, 3)
    started = time.perf_counter()
    generate(settings.generator, settings.data_dir)
    return time.perf_counter() - started


def _gib(n: float) -> str:
    return f"{n / 2**30:.2f} GiB"


MARKDOWN_HEADER = ("| scale | ingest rows/s | indicators, full history | indicators, one night | train | score | "
                   "flags | nightly scan | peak RSS, night | peak RSS, run | DuckDB limit | pandas / Yocho | agree |\n"
                   "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")


def _seconds(part: dict | None) -> str:
    return "not run" if part is None else f"{part['seconds']:.1f} s"


def _nightly_total(r: dict) -> str:
    n = r["nightly"]
    return f"{n['total_seconds']:.1f} s" + ("" if n["ingest_one_month_seconds"] is not None
                                            else " (ingest not measured)")


def markdown_row(r: dict) -> str:
    p = r["peer"]
    agree = "yes" if p["agreement"]["mismatches"] == 0 else f"{p['agreement']['mismatches']} mismatches"
    return (f"| {r['scale']['businesses']:,} × {r['scale']['months']} | {r['ingest']['rows_per_second']:,.0f} | "
            f"{_seconds(r['indicators']['full_history'])} | {r['indicators']['incremental_night']['seconds']:.1f} s | "
            f"{_seconds(r['training'])} | {r['scoring']['seconds']:.1f} s | {r['flags']['seconds']:.1f} s | "
            f"{_nightly_total(r)} | {_gib(r['nightly']['peak_rss_bytes'])} | "
            f"{_gib(r['memory']['peak_rss_bytes'])} | "
            f"{r['duckdb']['memory_limit']} | {p['ratio']:.1f}× | {agree} |")


def table(r: dict) -> str:
    m = r["machine"]
    full = r["indicators"]["full_history"]
    n = r["nightly"]
    by_step = r["memory"]["peak_rss_bytes_by_step"]
    lines = [
        f"machine: {m['cpu_model']} — {m['cpu_count']} CPUs ({m['cpus_usable']} usable), {_gib(m['ram_bytes'])} RAM, "
        f"Python {m['python']}, " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v)
        + f"; load average {m['load_average']}",
        f"scale: {r['scale']['businesses']:,} businesses × {r['scale']['months']} months; "
        f"DuckDB memory_limit {r['duckdb']['memory_limit']}, threads {r['duckdb']['threads']}",
        "",
        f"{'measurement':<44}{'value':>22}",
        f"{'ingest, history (all but the month)':<44}{r['ingest']['rows_per_second']:>18,.0f} r/s"
        f"   ({r['ingest']['rows']:,} rows, {r['ingest']['seconds']:.2f} s)",
        f"{'indicators, full history':<44}" + (f"{full['seconds']:>20.2f} s   ({full['dates']} month-ends, "
                                              f"{full['rows_written']:,} values)" if full else f"{'not run':>22}"),
        f"{'indicators, incremental night':<44}{r['indicators']['incremental_night']['seconds']:>20.2f} s",
        f"{'training (once)':<44}" + (f"{r['training']['seconds']:>20.2f} s" if r["training"]
                                      else f"{'not run':>22}   (model from {r['options']['model_from']})"),
        f"{'scoring, last month-end':<44}{r['scoring']['seconds']:>20.2f} s",
        f"{'flags into the queue':<44}{r['flags']['seconds']:>20.2f} s   ({r['flags']['flagged']:,} flagged)",
        f"{'ingest, the month ' + n['month'] + ' (the night)':<44}"
        + (f"{n['ingest_one_month_seconds']:>20.2f} s" if n["ingest_one_month_seconds"] is not None
           else f"{'not measured':>22}")
        + f"   ({n['ingest_one_month_files']:,} files, {n['ingest_one_month_rows']:,} rows)",
        f"{'whole nightly scan':<44}{n['total_seconds']:>20.2f} s"
        + ("" if n["ingest_one_month_seconds"] is not None else "   (without the ingest: not measured)"),
        f"{'peak RSS, nightly steps':<44}{_gib(r['nightly']['peak_rss_bytes']):>22}",
        f"{'peak RSS, whole run (process + children)':<44}{_gib(r['memory']['peak_rss_bytes']):>22}",
        "   by step: " + ", ".join(f"{k} {_gib(v)}" for k, v in by_step.items()),
        f"{'pandas peer':<44}{r['peer']['pandas_seconds']:>20.2f} s   ({r['peer']['dates']} month-ends)",
        f"{'Yocho, same families':<44}{r['peer']['yocho_seconds']:>20.2f} s",
        f"{'ratio pandas / Yocho':<44}{r['peer']['ratio']:>21.1f}×",
        f"{'peer agreement':<44}{r['peer']['agreement']['mismatches']:>12,} mismatches in "
        f"{r['peer']['agreement']['rows_compared']:,} values",
        "",
        MARKDOWN_HEADER,
        markdown_row(r),
    ]
    return "\n".join(lines)


def _write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--businesses", type=int, default=20_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="where the portfolio and results go (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--memory-limit", default=None, help="DuckDB memory_limit (default: the settings')")
    parser.add_argument("--peer-dates", type=int, default=12, help="month-ends the pandas peer is compared on")
    parser.add_argument("--test-months", type=int, default=3, help="months held out by the training backtest")
    parser.add_argument("--keep", action="store_true", help="keep the generated portfolio and warehouse")
    parser.add_argument("--generate-only", action="store_true",
                        help="only generate the portfolio into <data-dir>/bench/work (for a later --reuse-portfolio)")
    parser.add_argument("--reuse-portfolio", action="store_true",
                        help="ingest the portfolio already generated in <data-dir>/bench/work instead of generating")
    parser.add_argument("--model-from", type=Path, default=None,
                        help="the models folder of an earlier run (kept with --keep): skips the full-history "
                             "scan and the training, scores with that champion")
    parser.add_argument("--reuse-warehouse", action="store_true",
                        help="skip the ingest: the warehouse in <data-dir>/bench/work is already loaded by an "
                             "earlier run; ingest figures come from its ingested_files")
    parser.add_argument("--look-back", type=int, default=SCORED_MONTHS - 1,
                        help="month-ends before the last scored (untimed) for the flag policy's look-back")
    args = parser.parse_args(argv)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="yocho-bench-"))
    if args.generate_only:
        seconds = generate_only(args.businesses, args.months, data_dir, args.seed)
        print(f"generated {args.businesses:,} businesses × {args.months} months in {seconds:.0f} s "
              f"into {data_dir / 'bench' / 'work'}")
        return 0
    result = run(args.businesses, args.months, data_dir, seed=args.seed, memory_limit=args.memory_limit,
                 peer_dates=args.peer_dates, test_months=args.test_months, keep=args.keep,
                 reuse_portfolio=args.reuse_portfolio, model_from=args.model_from, look_back=args.look_back,
                 reuse_warehouse=args.reuse_warehouse)
    print(table(result))
    print(f"\nresults: {data_dir / 'bench' / 'results.json'}")
    return 0 if result["peer"]["agreement"]["mismatches"] == 0 else 1
