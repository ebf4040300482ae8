"""The `yocho` command: the entry point that builds the settings and passes them down."""
from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from yocho import data_folder
from yocho.cli_digest import digest_command
from yocho.cli_users import users_app
from yocho.settings import Settings, load_settings

# rich_markup_mode=None: click's plain help. Typer's rich help (0.29) printed "<bool>" after every
# flag, --help included, as if each took a value; the plain help shows value types for options
# that take one only. Sub-command groups (users) inherit it.
app = typer.Typer(help="Yocho (予兆): early-warning monitoring of small-business borrowers.", no_args_is_help=True,
                  rich_markup_mode=None)
app.add_typer(users_app, name="users")
app.command("digest")(digest_command)
# Wide enough for the summary tables when output goes to a file or CI log.
console = Console(width=None if os.isatty(1) else 140)
# Refusals and notes: on stderr, apart from the tables a caller may keep.
err = Console(stderr=True, width=None if os.isatty(2) else 140)


def _settings(data_dir: Path | None, **generator: object) -> Settings:
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
    # Prefect's temporary server gets 20 s to start by default; on a loaded 2-core machine
    # (another yocho command, a test run) it takes longer, and the command died with
    # "Timed out while attempting to connect to ephemeral Prefect API server".
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "300")


@contextmanager
def _holding(settings: Settings, command: str, check: Callable[[], None] | None = None) -> Iterator[None]:
    """The data directory for this command alone (yocho.runlock): a second command on it
    exits at once with one line naming the first. `check` runs once the folder is held,
    before anything is written to it but the lock."""
    from yocho import prefect_server
    from yocho.runlock import Busy, exclusive

    try:
        with exclusive(settings.data_dir, command):
            if check is not None:
                check()
            # before any flow starts Prefect's temporary server: the folder's own Prefect
            # home, and a watchdog that stops the server if this command is killed
            prefect_server.use_home_in(settings.data_dir)
            prefect_server.stop_with_this_process()
            yield
    except Busy as exc:
        console.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None


DataDir = typer.Option(None, "--data-dir", help="Where landing, archive and warehouse live (default: YOCHO_DATA_DIR or ./data).")
# Commands that read a warehouse: given no folder they look for one (yocho/data_folder.py).
ReadDataDir = typer.Option(
    None, "--data-dir", help="Data folder holding the warehouse (default: YOCHO_DATA_DIR; else the folder the last "
    "demo or ingest under ./data wrote, ./data or data/demo, the first holding a warehouse).")


def _refuse(message: object, code: int = 1) -> typer.Exit:
    """Say why on stderr, in one line; the Exit to raise."""
    err.print(f"[red]{message}[/red]", soft_wrap=True, highlight=False)
    return typer.Exit(code)


@contextmanager
def _reading(data_dir: Path | None, command: str) -> Iterator[Settings]:
    """The settings of a command that reads the warehouse, its folder held (_holding): the
    folder given, or the one found. Where it holds no warehouse the command stops at once with
    one line naming the folders looked in and --data-dir, and creates nothing: no warehouse,
    and not even the folder where it does not exist."""
    base = load_settings()
    found = data_folder.resolve(base, data_dir)
    settings, looked = found.settings, data_folder.looked_in(base, data_dir)

    def check() -> None:
        try:
            data_folder.require_warehouse(settings, looked)
        except data_folder.NoData as exc:
            raise _refuse(exc) from None

    if not settings.data_dir.is_dir():
        check()
    with _holding(settings, command, check):
        if found.note:
            err.print(found.note, soft_wrap=True, highlight=False)
        yield settings


@app.command()
def generate(
    data_dir: Path | None = DataDir,
    businesses: int | None = typer.Option(None, help="Number of businesses."),
    months: int | None = typer.Option(None, help="Months of history."),
    seed: int | None = typer.Option(None, help="Random seed (same seed, same files)."),
) -> None:
    """Write a synthetic portfolio into the landing area, as institutions would send it."""
    settings = _settings(data_dir, businesses=businesses, months=months, seed=seed)
    with _holding(settings, "generate"):
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
def ingest(data_dir: Path | None = DataDir) -> None:
    """Ingest every new file in the landing area (the Prefect ingest flow)."""
    settings = _settings(data_dir)
    with _holding(settings, "ingest"):
        _ingest(settings)
        _print_summary(settings)


def _ingest(settings: Settings) -> tuple[list[dict], float]:
    _quiet_network()
    from flows.ingest import ingest as ingest_flow

    started = time.perf_counter()
    outcomes = ingest_flow(settings)
    elapsed = time.perf_counter() - started
    data_folder.remember(settings.data_dir)  # the folder later commands use when given none
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
    if summary.misplaced_files:
        misplaced = Table(title="misplaced files left in landing (not ingested)")
        for name in ("path", "reason", "first seen", "last seen"):
            misplaced.add_column(name)
        for path, reason, first_seen, last_seen in summary.misplaced_files:
            misplaced.add_row(path, reason, f"{first_seen:%Y-%m-%d %H:%M}", f"{last_seen:%Y-%m-%d %H:%M}")
        console.print(misplaced)
    console.print(f"validation report: {report}")


@app.command()
def summary(data_dir: Path | None = ReadDataDir) -> None:
    """Print what the warehouse holds and write the validation report."""
    with _reading(data_dir, "summary") as settings:
        _print_summary(settings)


@app.command("scan")
def scan_command(
    data_dir: Path | None = ReadDataDir,
    as_of: str | None = typer.Option(None, "--as-of", help="As-of date YYYY-MM-DD (default: last month-end)."),
    history: int = typer.Option(1, help="Also compute the month-ends before it: this many dates in all."),
) -> None:
    """Compute the warning-sign indicators as of a date and print how many businesses fire each."""
    from features.scan import last_month_end

    with _reading(data_dir, "scan") as settings:
        _scan(settings, date.fromisoformat(as_of) if as_of else last_month_end(settings.effective_today()), history)


def _scan(settings: Settings, as_of: date, history: int) -> dict:
    _quiet_network()
    from features.scan import month_ends
    from flows.scan import scan_flow

    # the month-ends before it, then the date itself (which need not be a month-end)
    dates = month_ends(as_of, history)[:-1] + [as_of]
    started = time.perf_counter()
    summary = scan_flow(dates, settings)
    elapsed = time.perf_counter() - started
    table = Table(title=f"warning signs as of {summary['as_of'][-1]} — {summary['businesses']:,} businesses")
    for name in ("family", "indicator", "指標", "severity", "fired", "available"):
        table.add_column(name, justify="right" if name in ("fired", "available") else "left")
    for c in summary["counts"]:
        table.add_row(c["family"], c["indicator_id"], c["ja"], c["severity"], f"{c['fired']:,}", f"{c['available']:,}")
    console.print(table)
    console.print(
        f"computed {len(summary['as_of'])} as-of date(s), {summary['rows_written']:,} indicator values in {elapsed:.1f}s"
    )
    return summary


def _print_sign_rates(settings: Settings) -> None:
    from features.evaluate import any_sign_rates, sign_rates_before_events
    from features.quality import WEAK_HEALTHY_RATE, WEAK_LIFT, sign_quality
    from yocho.warehouse.db import warehouse

    with warehouse(settings, read_only=True) as con:
        families = sign_rates_before_events(con)
        overall = any_sign_rates(con)
        quality = sign_quality(con)
    table = Table(title="signs 6–12 months before a deterioration event vs businesses without one")
    for name in ("family", "系統", "before event", "no event", "ratio"):
        table.add_column(name, justify="left" if name in ("family", "系統") else "right")

    def fmt(v):
        return "" if v is None else f"{v:.1%}"

    for r in families.iter_rows(named=True):
        table.add_row(r["family"], r["ja"], fmt(r["rate_before_event"]), fmt(r["rate_no_event"]),
                      "" if r["ratio"] is None else f"{r['ratio']:.1f}×")
    console.print(table)
    for r in overall.iter_rows(named=True):
        console.print(f"{r['grp']}: {r['rows']:,} business-months, high/critical sign {r['serious_rate']:.1%}, "
                      f"any sign {r['any_rate']:.1%}, mean signs fired {r['mean_signs']:.2f}")
    weak = quality.filter(quality["weak"].fill_null(False))
    console.print(f"weak signs (弱い): {weak.height} of {quality.height} fire for more than {WEAK_HEALTHY_RATE:.0%} of "
                  f"healthy business-months or have a lift below {WEAK_LIFT:g}× — yocho indicators --quality "
                  f"--data-dir {settings.data_dir}", soft_wrap=True)


@app.command()
def train(
    data_dir: Path | None = ReadDataDir,
    until: str | None = typer.Option(
        None, "--until", help="Train on the history known on this date (YYYY-MM-DD) only: rows whose 12-month "
        "outcome was observed by then, events reported by then. Later months can then be scored out of time."),
) -> None:
    """Backtest the candidate models on the scanned history, register the best and decide promotion."""
    with _reading(data_dir, "train") as settings:
        _train(settings, date.fromisoformat(until) if until else None)


def _train(settings: Settings, until: date | None = None) -> dict:
    _quiet_network()
    from flows.train import train_flow

    started = time.perf_counter()
    summary = train_flow(settings, until)
    elapsed = time.perf_counter() - started
    table = Table(title="backtest on held-out months")
    names = list(summary["backtest"])
    table.add_column("metric")
    for name in names:
        table.add_column(name, justify="right")
    for key in ("roc_auc", "pr_auc", "brier", "base_rate", "recall_top_1%", "recall_top_3%", "recall_top_5%",
                "median_lead_months_top_3%", "test_rows", "test_positives", "test_businesses", "test_months"):
        table.add_row(key, *[_number(summary["backtest"][n].get(key)) for n in names])
    console.print(table)
    console.print("held-out rows are the businesses still in the portfolio at each as-of month; "
                  f"month by month in the report below{' (trained on the history known on ' + str(until) + ')' if until else ''}")
    console.print(
        f"registered {summary['version']} ({summary['training_rows']:,} training rows): "
        f"{'promoted to champion' if summary['promoted'] else 'not promoted'} — {summary['reason']}; "
        f"score PSI against the latest month {summary['score_psi']:.3f}"
    )
    console.print(f"trained in {elapsed:.1f}s; report {summary['report']}; model card {summary['folder']}/card.md")
    _print_watchlist(summary.get("watchlist") or {})
    return summary


def _print_watchlist(watchlist: dict) -> None:
    """The model and the flag policy against the best possible ranking at the monthly review
    budget (synthetic data only: the generator's truth is in the data folder)."""
    if not watchlist:
        return
    from models.report import WATCHLIST_NAMES

    table = Table(title=f"watch list at the monthly review budget ({watchlist['budget_share']:.1%} of monitored "
                        f"businesses a month, entries kept 12 months; events {watchlist['events_from']} … "
                        f"{watchlist['events_until']})")
    for column in ("ranking", "events", "recall", "median lead (months)", "precision", "recall / true risk"):
        table.add_column(column, justify="left" if column == "ranking" else "right")
    for name, f in watchlist["rankings"].items():
        table.add_row(WATCHLIST_NAMES.get(name, name), f"{f['events']:,}",
                      *[("—" if f.get(k) is None else pattern.format(f[k])) for k, pattern in (
                          ("recall", "{:.1%}"), ("median_lead_months", "{:.0f}"), ("precision", "{:.1%}"),
                          ("recall_share_of_true_risk", "{:.0%}"))])
    console.print(table)


def _number(value: object) -> str:
    if value is None:
        return "—"
    return f"{value:.4f}" if isinstance(value, float) and abs(value) < 1 else f"{value:,.0f}"


@app.command("score")
def score_command(
    data_dir: Path | None = ReadDataDir,
    as_of: str | None = typer.Option(None, "--as-of", help="As-of date YYYY-MM-DD (default: last month-end)."),
    history: int = typer.Option(1, help="Also score the month-ends before it: this many dates in all."),
) -> None:
    """Score every business with the champion model as of a date (indicators are computed first if missing)."""
    from features.scan import last_month_end

    with _reading(data_dir, "score") as settings:
        _score(settings, date.fromisoformat(as_of) if as_of else last_month_end(settings.effective_today()), history)


def _score(settings: Settings, as_of: date, history: int) -> dict:
    _quiet_network()
    from features.scan import month_ends
    from flows.score import score_flow

    dates = month_ends(as_of, history)[:-1] + [as_of]
    started = time.perf_counter()
    summary = score_flow(dates, settings)
    elapsed = time.perf_counter() - started
    table = Table(title=f"risk bands as of {summary['as_of'][-1]} — model {summary['model_version']}")
    for name in ("band", "区分", "probability from", "businesses", "already in an event", "share", "mean probability"):
        table.add_column(name, justify="left" if name in ("band", "区分") else "right")
    for b in summary["bands"]:
        table.add_row(b["band"], b["ja"], f"{b['lower_bound']:.0%}", f"{b['businesses']:,}", f"{b['in_event']:,}",
                      f"{b['share']:.1%}",
                      "" if b["mean_probability"] is None else f"{b['mean_probability']:.1%}")
    console.print(table)
    console.print(f"scored {summary['rows_written']:,} business-dates in {elapsed:.1f}s")
    return summary


# Month-ends the demo scores: enough history for the flag policy's release rule.
SCORED_MONTHS = 6


def _demo_users(settings: Settings) -> None:
    from signals.queue import QueueStore, seed_demo_users
    from yocho.generator.institutions import REGIONAL_BANKS, institutions

    # each bank with its home prefecture (the registry a referral of a business without a
    # prefecture is routed by); the association's follows from its id. The demo users then
    # include the council of each of those prefectures and its intake user.
    homes = {f"bank_{code}": prefecture for code, _, prefecture in REGIONAL_BANKS}
    with QueueStore.from_settings(settings) as store:
        users = seed_demo_users(store, [(i.id, i.name, homes.get(i.id))
                                        for i in institutions(settings.generator.banks)])
    table = Table(title="demo logins for the review web app")
    for name in ("user", "password", "role", "institution"):
        table.add_column(name)
    for u in users:
        table.add_row(u.username, u.password, u.role.value, u.institution_id or "")
    console.print(table)


def _demo_inbox(settings: Settings) -> None:
    """What the night put in each demo user's inbox (受信箱). E-mail stays off in the demo
    (notifications.enabled): `yocho digest --dry-run` shows what would be sent."""
    from signals.queue import QueueStore
    from signals.queue.auth import list_accounts
    from signals.queue.notifications import unread_count

    with QueueStore.from_settings(settings) as store:
        unread = {a.user.username: unread_count(store, a.user) for a in list_accounts(store) if a.user.active}
    shown = ", ".join(f"{name} {n}" for name, n in sorted(unread.items()) if n)
    console.print(f"inbox (受信箱) unread after the night: {shown or 'none'}; e-mail digests are off in the demo "
                  "(yocho digest --dry-run shows what they would say)", soft_wrap=True, highlight=False)

def _demo_referrals(settings: Settings, as_of: date) -> None:
    """A few new cases referred with the owner's consent to the councils of their prefectures,
    a few days after the night; some accepted, with the support stages that followed."""
    from signals.queue import QueueStore
    from yocho.demo_referrals import refer_demo_cases
    from yocho.demo_support import DemoClock, support_demo_cases

    referred_on = as_of + timedelta(days=3)
    clock = DemoClock(referred_on)  # never later than the real now
    with QueueStore(settings.queue_url, clock=clock) as store:
        referred = refer_demo_cases(store)
        supported = support_demo_cases(store, clock, referred, store.today())
        names = {i.id: i.name for i in store.list_institutions(_demo_admin(store))}
    table = Table(title="demo referrals (本人同意を記録して協議会へ紹介): each goes to its prefecture's council")
    for name in ("case", "business", "referred by", "council (協議会)", "shared (共有する情報)", "routed by"):
        table.add_column(name)
    for r in referred:
        table.add_row(f"#{r.case_id}", r.business_name or r.business_key, r.referred_by,
                      names.get(r.council_id, r.council_id), ", ".join(r.shared),
                      "lead institution's prefecture" if r.notice else "business's prefecture")
    console.print(table)
    console.print(f"{len(referred)} referrals at {len({r.council_id for r in referred})} councils; log in as "
                  "intake.council_<NN> (password demo-intake.council_<NN>) to see one council's intake")
    for s in supported:
        console.print(f"council support (協議会の支援): case #{s.case_id} at {names.get(s.council_id, s.council_id)}: "
                      + " → ".join(s.stages), soft_wrap=True, highlight=False)


def _demo_documents(settings: Settings) -> None:
    """On a few cases an association leads, its analyst asks a bank for documents (資料依頼)."""
    from signals.queue import QueueStore
    from yocho.demo_documents import request_demo_documents

    with QueueStore.from_settings(settings) as store:
        made = request_demo_documents(store)
        names = {i.id: i.name for i in store.list_institutions(_demo_admin(store))}
    table = Table(title="demo document requests (資料依頼): the association leads, a bank is asked")
    for name in ("case", "business", "lead (主担当)", "asked (依頼先)", "received", "outstanding", "overdue"):
        table.add_column(name)
    for r in made:
        table.add_row(f"#{r.case_id}", r.business_name or r.business_key, names.get(r.lead, r.lead),
                      names.get(r.asked, r.asked), str(r.received), str(r.outstanding), str(r.overdue))
    console.print(table)
    console.print(f"{len(made)} cases with document requests; log in as reviewer.<bank id> and open 依頼された資料 "
                  "to see what a bank is asked for", soft_wrap=True, highlight=False)


def _demo_admin(store):  # noqa: ANN001, ANN202 - the demo admin, logged in
    from signals.queue import authenticate
    from signals.queue.auth import demo_password

    return authenticate(store, "admin", demo_password("admin"))


@app.command("flags")
def flags_command(
    data_dir: Path | None = ReadDataDir,
    as_of: str | None = typer.Option(None, "--as-of", help="As-of date YYYY-MM-DD (default: last month-end)."),
) -> None:
    """Flag businesses as of a date and bring them into the referral queue (needs scores for that date)."""
    from features.scan import last_month_end

    with _reading(data_dir, "flags") as settings:
        _flags(settings, date.fromisoformat(as_of) if as_of else last_month_end(settings.effective_today()))


def _require_scores(settings: Settings, as_of: date) -> None:
    """Exit at once when the date has no risk scores. The flow says the same, but only after
    Prefect's temporary server has started and its task has been retried: 92 s on a busy machine."""
    import duckdb

    from yocho.warehouse.db import warehouse

    with warehouse(settings, read_only=True) as con:
        try:
            scored = [d for (d,) in con.execute("SELECT DISTINCT as_of FROM risk_scores ORDER BY as_of").fetchall()]
        except duckdb.CatalogException:  # a warehouse from before risk scores existed
            scored = []
    if as_of in scored:
        return
    again = f"--as-of {as_of} --data-dir {settings.data_dir}"
    known = (f"; scored dates: {scored[0]} … {scored[-1]} ({len(scored)}), e.g. yocho flags --as-of {scored[-1]} "
             f"--data-dir {settings.data_dir}") if scored else ""
    raise _refuse(f"no risk scores as of {as_of} in {settings.warehouse_path}: score that date first "
                  f"(yocho score {again}){known}")


def _flags(settings: Settings, as_of: date) -> dict:
    _require_scores(settings, as_of)
    _quiet_network()
    from flows.flags import flags_flow

    started = time.perf_counter()
    summary = flags_flow(as_of, settings)
    elapsed = time.perf_counter() - started
    table = Table(title=f"flagged as of {summary['as_of']}: {summary['flagged']:,} businesses, by recommended phase")
    for name in ("phase", "支援フェーズ", "businesses", "critical sign", "score", "both", "already in an event"):
        table.add_column(name, justify="left" if name in ("phase", "支援フェーズ") else "right")
    for p in summary["by_phase"]:
        table.add_row(p["phase"], p["ja"], *[f"{p[k]:,}" for k in ("businesses", "critical_sign", "score", "both",
                                                                     "in_event")])
    console.print(table)
    _print_budgets(summary)
    a = summary["applied"]
    console.print(f"referral queue: {a['opened']:,} opened within the monthly review budgets, "
                  f"{a['waiting']:,} waiting below the line, {a['updated']:,} updated, "
                  f"{a['suppressed_by_cooldown']:,} held back by the cool-down ({elapsed:.1f}s)")
    return summary


def _print_budgets(summary: dict) -> None:
    """One row per lead institution: its monitored book, monthly review budget, new cases
    opened against it and new entries waiting below the line."""
    table = Table(title=f"monthly review budget (月間審査枠) as of {summary['as_of']}")
    for name in ("institution", "monitored", "budget", "opened tonight", "opened this month", "waiting (枠外)"):
        table.add_column(name, justify="left" if name == "institution" else "right")
    for b in summary.get("budgets", []):
        table.add_row(b["institution_id"], *[f"{b[k]:,}" for k in ("monitored", "budget", "opened", "used",
                                                                     "waiting")])
    console.print(table)


@app.command()
def serve(
    data_dir: Path | None = ReadDataDir,
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    insecure_demo_secret: bool = typer.Option(
        False, "--insecure-demo-secret",
        help="No YOCHO_QUEUE__SECRET_KEY: sign sessions with a random key of this process (a local demo on "
             "127.0.0.1 only; everyone is logged out when it stops)."),
) -> None:
    """Run the review web app over the referral queue (settings.queue_url)."""
    from webapp.app import serve as run_server
    from webapp.security import LOOPBACK, InsecureSecret, session_secret

    base = load_settings()
    found = data_folder.resolve(base, data_dir)
    settings = found.settings
    try:
        # the web app's own refusals come first: they say what to set, whatever the folder
        session_secret(settings.queue.secret_key, insecure_demo_secret=insecure_demo_secret)
        if not insecure_demo_secret or host in LOOPBACK:
            # an empty queue would be created, and served with nobody able to log in
            data_folder.require_queue(settings, data_folder.looked_in(base, data_dir))
        if found.note:
            err.print(found.note, soft_wrap=True, highlight=False)
        run_server(settings, host=host, port=port, insecure_demo_secret=insecure_demo_secret)
    except InsecureSecret as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    except data_folder.NoData as exc:
        raise _refuse(exc) from None


@app.command()
def demo(
    data_dir: Path = typer.Option(
        data_folder.DEMO_DIR, "--data-dir",
        help="Demo data folder. Everything in it is deleted first; a folder the demo did not write is refused "
             "(without --force)."),
    businesses: int | None = typer.Option(
        None, help="Number of businesses (default 20,000); e.g. 2000 for a quicker, smaller demo."),
    months: int | None = typer.Option(None, help="Months of history (default 36)."),
    force: bool = typer.Option(
        False, "--force", "--yes",
        help="Clear --data-dir even if it holds files a demo did not write (they are deleted)."),
) -> None:
    """The whole job on a synthetic portfolio, end to end, in one folder (data/demo).

    Generates the files three banks and a credit guarantee association would send (20,000
    businesses x 36 months; cp932 and UTF-8 CSV, Parquet), ingests them into the DuckDB warehouse
    with the quarantine and validation report, scans every month-end for warning signs, trains
    and backtests the risk models and registers the champion, scores the last six month-ends,
    flags businesses into the referral queue within each institution's monthly review budget,
    and creates demo logins for the review web app (yocho serve --insecure-demo-secret).

    About 9 minutes and 8 GB of memory at its peak on a 2-core machine, over an hour on a fully
    busy one; --businesses 2000 is quicker. The folder's contents are deleted first (its Prefect
    home, .prefect, is kept). A folder that is not empty and was not written by a demo is refused
    unless --force (--yes) is given.
    """
    settings = _settings(data_dir, businesses=businesses, months=months)
    blocking = data_folder.may_clear(settings.data_dir)
    if blocking and not force:
        shown = ", ".join(blocking[:5]) + (f" and {len(blocking) - 5} more" if len(blocking) > 5 else "")
        raise _refuse(f"refusing to clear {settings.data_dir}: it holds files a demo did not write ({shown}), and "
                      "the demo deletes everything in its folder. Give a new or empty --data-dir, or --force to "
                      "delete them")
    with _holding(settings, "demo"):
        _demo(settings)


def _demo(settings: Settings) -> None:
    from yocho.prefect_server import HOME_DIR
    from yocho.runlock import LOCK_FILE

    # recreated, but the lock this run holds stays where the next command will look for it,
    # and Prefect's home stays (a new one costs its server seconds of migrations)
    for entry in settings.data_dir.iterdir():
        if entry.name not in (LOCK_FILE, HOME_DIR):
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    # first: a demo stopped part-way leaves a folder the next demo may clear
    data_folder.mark_as_demo(settings.data_dir)
    started = time.perf_counter()
    _generate(settings)
    _ingest(settings)
    _print_summary(settings)
    # Scan the history up to the month after the generated data ends, when its last
    # monthly deliveries have arrived.
    from features.scan import month_end

    following = (settings.generator.end_month.replace(day=28) + timedelta(days=4)).replace(day=1)
    last = month_end(following)
    _scan(settings, last, min(settings.features.history_months, settings.generator.months))
    _print_sign_rates(settings)
    training = _train(settings)
    # the flag policy's hysteresis looks back over the months before the date
    _score(settings, last, SCORED_MONTHS)
    _demo_users(settings)  # first, so the queue knows the institutions by name
    flags = _flags(settings, last)
    _demo_referrals(settings, last)
    _demo_documents(settings)
    _demo_inbox(settings)
    from yocho.demo_summary import print_demo_closing

    print_demo_closing(console, settings, training, flags)
    console.print(f"[bold]demo finished in {time.perf_counter() - started:.1f}s[/bold]; data in {settings.data_dir}")
    console.print(f"review web app: python3 run.py yocho serve --data-dir {settings.data_dir} --insecure-demo-secret , "
                  "then open http://127.0.0.1:8000/ and log in with one of the demo users above (for a real "
                  "deployment set YOCHO_QUEUE__SECRET_KEY instead: docs/webapp.md)")


@app.command("indicators")
def indicators_command(
    quality: bool = typer.Option(
        False, "--quality", help="Instead of the catalog, measure every sign on a data folder's warehouse (read "
        "only): how often it fired 6-12 months before a deterioration event and for healthy businesses, its lift "
        "and 12-month precision; weak signs marked (features/quality.py)."),
    data_dir: Path | None = ReadDataDir,
) -> None:
    """Print the indicator catalog as markdown (docs/indicators.md is this output), or with --quality how well
    each sign separates on a warehouse."""
    if not quality:
        from features.catalog_doc import render_markdown

        print(render_markdown(), end="")
        return
    with _reading(data_dir, "indicators --quality") as settings:
        _print_quality(settings)


def _fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


def _fmt_lift(value: float | None) -> str:
    return "—" if value is None else ("∞" if value == float("inf") else f"{value:.2f}×")


def _print_quality(settings: Settings) -> None:
    from features.quality import WEAK_HEALTHY_RATE, WEAK_LIFT, sign_quality
    from yocho.warehouse.db import warehouse

    with warehouse(settings, read_only=True) as con:
        frame = sign_quality(con)
    table = Table(title="兆候の識別力 / how well each warning sign separates (sorted by lift)")
    # short headers: the footer says what each rate is over
    columns = ("indicator", "指標", "severity", "rows", "6–12m before", "healthy", "lift", "precision",
               "fired", "base", "判定")
    for name in columns:
        # the id is what a reader looks up in docs/indicators.md: never cut short; the name wraps
        table.add_column(name, justify="left" if name in ("indicator", "指標", "severity", "判定") else "right",
                         no_wrap=name in ("indicator", "判定"), overflow="fold",
                         min_width={"indicator": 34, "判定": 11, "precision": 9}.get(name))
    for r in frame.iter_rows(named=True):
        verdict = "—" if r["weak"] is None else ("[yellow]弱い / weak[/yellow]" if r["weak"] else "")
        table.add_row(r["indicator_id"], r["ja"], r["severity"], f"{r['rows']:,}", _fmt_rate(r["before_rate"]),
                      _fmt_rate(r["healthy_rate"]), _fmt_lift(r["lift"]), _fmt_rate(r["precision"]),
                      f"{r['fired_rows']:,}", _fmt_rate(r["base_rate"]), verdict)
    console.print(table)
    weak = int(frame["weak"].fill_null(False).sum())
    console.print(
        f"{weak} of {frame.height} signs weak (弱い): firing for more than {WEAK_HEALTHY_RATE:.0%} of healthy "
        f"business-months or a lift below {WEAK_LIFT:g}×. 6–12m before: firing rate among business-months whose "
        "first deterioration event came 6–12 months later; healthy: among those with no event within the 12 "
        "months after, all observed; lift: their ratio; precision: share of firings (outcome observed) followed "
        "by an event within 12 months; base: the same share over all business-months where the sign is "
        "available; rows: business-months where the sign could be computed. Business-months already in an "
        "event are left out (docs/signals.md, \"Measuring the signs\").",
        soft_wrap=True)


@app.command()
def contract() -> None:
    """Print the data contract as markdown (docs/data-contract.md is this output)."""
    from yocho.contract_doc import render_markdown

    print(render_markdown(), end="")


if __name__ == "__main__":
    app()
