"""Human-readable records of a training run: the model card and the evaluation report."""
from __future__ import annotations

from features.catalog import indicators, measures
from models.drift import level
from models.registry import ModelCard

METRICS = (
    ("roc_auc", "ROC AUC", "{:.3f}"),
    ("pr_auc", "PR AUC", "{:.3f}"),
    ("brier", "Brier score", "{:.4f}"),
    ("calibration_error", "calibration error (mean gap, predicted vs observed)", "{:.2%}"),
    ("base_rate", "base rate (held out)", "{:.2%}"),
    ("recall_top_1%", "recall, top 1% each month", "{:.1%}"),
    ("recall_top_3%", "recall, top 3% each month", "{:.1%}"),
    ("recall_top_5%", "recall, top 5% each month", "{:.1%}"),
    ("median_lead_months_top_3%", "median lead, first top-3% flag to event (months)", "{:.0f}"),
    ("train_rows", "backtest training rows", "{:,.0f}"),
    ("test_rows", "held-out rows (businesses in the portfolio at each date)", "{:,.0f}"),
    ("test_positives", "held-out rows followed by an event", "{:,.0f}"),
    ("test_businesses", "held-out businesses", "{:,.0f}"),
    ("test_months", "held-out as-of months", "{:,.0f}"),
)


def rests_on(metrics: dict) -> str:
    """What the backtest figures rest on, said next to them."""
    if metrics.get("test_rows") is None:
        return ""
    return (f"Each held-out figure rests on {metrics['test_rows']:,.0f} rows — the businesses still in the portfolio "
            f"at each of {metrics.get('test_months', 0):,.0f} as-of months, "
            f"{metrics.get('test_businesses', 0):,.0f} businesses — of which "
            f"{metrics.get('test_positives', 0):,.0f} were followed by an event within 12 months.")


def months_lines(months: list[dict]) -> list[str]:
    """The chosen model's backtest per held-out as-of month."""
    if not months:
        return []
    lines = ["| as-of month | rows | followed by an event | ROC AUC | PR AUC | recall, top 3% | precision, top 3% |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {m['as_of']} | {m['rows']:,} | {m['positives']:,} | {_fmt(m.get('roc_auc'), '{:.3f}')} | "
              f"{_fmt(m.get('pr_auc'), '{:.3f}')} | {_fmt(m.get('recall_top_3%'), '{:.1%}')} | "
              f"{_fmt(m.get('precision_top_3%'), '{:.1%}')} |" for m in months]
    return lines


def _fmt(value: float | None, pattern: str) -> str:
    return "—" if value is None else pattern.format(value)


def metrics_table(candidates: dict[str, dict[str, float]]) -> list[str]:
    names = list(candidates)
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for key, label, pattern in METRICS:
        lines.append(f"| {label} | " + " | ".join(_fmt(candidates[n].get(key), pattern) for n in names) + " |")
    return lines


def calibration_lines(calibration: list[dict]) -> list[str]:
    lines = ["| bin | rows | predicted | observed | probability range |", "|---:|---:|---:|---:|---|"]
    lines += [f"| {c['bin'] + 1} | {c['n']:,} | {c['predicted']:.2%} | {c['observed']:.2%} | "
              f"{c['p_min']:.2%} – {c['p_max']:.2%} |" for c in calibration]
    return lines


def _feature_name(column: str) -> str:
    indicator = indicators().get(column.removesuffix("__fired")) or measures().get(column)
    suffix = " (fired)" if column.endswith("__fired") else ""
    return f"{indicator.ja} / {indicator.en}{suffix}" if indicator else column


def drift_lines(score_psi: float | None, top: list[dict]) -> list[str]:
    lines = ["| feature | PSI | reading |", "|---|---:|---|"]
    if score_psi is not None:
        lines.append(f"| **risk score** | {score_psi:.3f} | {level(score_psi)} |")
    lines += [f"| {d['feature']} — {_feature_name(d['feature'])} | {d['psi']:.3f} | {d['level']} |" for d in top]
    return lines


WATCHLIST_NAMES = {
    "model": "model (held-out backtest scores)",
    "flag_policy": "flag policy (critical sign or band, in queue order)",
    "true_risk": "true risk (generator's latent health and hazard)",
    "foresight": "perfect foresight (knows the event)",
}


def watchlist_lines(watchlist: dict) -> list[str]:
    """The model and the flag policy against the best possible ranking at the monthly review
    budget; nothing without the generator's truth (models/budget_comparison.py)."""
    if not watchlist:
        return []
    w = watchlist
    lines = [
        "## At the monthly review budget, against the best possible ranking",
        "",
        f"Each month-end from {w['list_from']} to {w['list_until']} ({w['list_months']} months) a review team adds "
        f"the top {w['budget_share']:.1%} of the monitored businesses (about {w['mean_monitored']:,}) not already "
        "on its watch list; an entry stays 12 months. Recall: the businesses whose first deterioration event "
        f"fell in {w['events_from']} … {w['events_until']} that entered the list in the 12 months before it; "
        "lead: months from entry to event; precision: new entries followed by an event within 12 months. "
        "Same budget, months, businesses and events for every ranking; the generator's truth is read for "
        "this comparison only (models/budget_comparison.py).",
        "",
        "| ranking | events | caught | recall | median lead (months) | precision of new entries | "
        "recall / true-risk recall |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, f in w["rankings"].items():
        lines.append(f"| {WATCHLIST_NAMES.get(name, name)} | {f['events']:,} | {f['caught']:,} | "
                     f"{_fmt(f.get('recall'), '{:.1%}')} | {_fmt(f.get('median_lead_months'), '{:.0f}')} | "
                     f"{_fmt(f.get('precision'), '{:.1%}')} | {_fmt(f.get('recall_share_of_true_risk'), '{:.0%}')} |")
    return [*lines, ""]


def card_markdown(card: ModelCard) -> str:
    """The model card: what the model is for, what it was trained on, how well it did."""
    lines = [
        f"# Model card — {card.version}",
        "",
        "**Purpose.** Probability that a borrower has a deterioration event (条件変更, 延滞90日以上, 代位弁済, "
        "破綻・法的整理, 要管理先以下への格下げ) within 12 months of the as-of date, from the warning-sign "
        "indicators known by that date. For ranking borrowers for early review and referral to the "
        "中小企業活性化協議会; not for credit decisions on its own.",
        "",
        "| | |",
        "|---|---|",
        f"| model | {card.model} |",
        f"| trained at | {card.trained_at} |",
        f"| training as-of dates | {card.training_from} … {card.training_until} |",
        f"| training rows / businesses / rows followed by an event | {card.training_rows:,} / {card.businesses:,} / "
        f"{card.positives:,} |",
        f"| backtest | trained on as-of dates before {card.backtest_train_until}, "
        f"held out from {card.backtest_from} (12-month label embargo between) |",
        f"| data fingerprint | `{card.data_fingerprint}` |",
        f"| code version | `{card.code_version}` |",
        f"| packages | {', '.join(f'{k} {v}' for k, v in card.packages.items())} |",
        f"| trained on the history known on | {card.trained_until or 'every labelled date'} |",
        f"| features | {len(card.features)} panel columns: {sum(c.endswith('__fired') for c in card.features)} signs' "
        f"fired flags, {sum(not c.endswith('__fired') for c in card.features)} values (signs' values and measures) |",
        "",
        "## Backtest on held-out months",
        "",
        *metrics_table(card.candidates or {card.model: card.metrics}),
        "",
        rests_on(card.metrics),
        "",
        f"### {card.model}, month by month",
        "",
        *months_lines(card.backtest_months),
        "",
        f"The registered model is **{card.model}**, refitted on every labelled as-of date.",
        "",
        *watchlist_lines(card.watchlist),
        "## Calibration on held-out months",
        "",
        *calibration_lines(card.calibration),
        "",
        "## Explanations",
        "",
        card.explanation,
        "",
        "## Drift: training window against the latest month",
        "",
        *drift_lines(card.drift_score_psi, card.drift_top),
        "",
        "## Indicator thresholds in force",
        "",
        ", ".join(f"`{k}` = {v:g}" for k, v in sorted(card.thresholds.items())),
        "",
        "## Limits",
        "",
        "- Trained on the institutions' own history as ingested; a portfolio unlike it (other regions, "
        "industries, feeds) needs its own training run.",
        "- Missing feeds are a state the model has learnt, not imputed values: a borrower whose deposit "
        "account is held elsewhere scores from the signs that are available.",
        "- Financial statements arrive months after the fiscal year ends; their signs lag.",
    ]
    return "\n".join(lines) + "\n"


def training_markdown(card: ModelCard, promoted: bool, reason: str, champion: str | None,
                      drift_features: list[dict], sign_quality: list[str] | None = None) -> str:
    """The evaluation report of one training run, written to a file and as a Prefect artifact."""
    lines = [
        f"# Training run {card.version}",
        "",
        f"- champion decision: **{'promoted' if promoted else 'not promoted'}** ({reason}); "
        f"previous champion: {champion or 'none'}",
        f"- training as-of dates {card.training_from} … {card.training_until}: {card.training_rows:,} rows, "
        f"{card.businesses:,} businesses; {card.positives:,} rows ({card.positives / max(card.training_rows, 1):.1%}) "
        "followed by an event within 12 months",
        f"- backtest: trained before {card.backtest_train_until}, held out from {card.backtest_from}",
        "",
        "## Backtest",
        "",
        *metrics_table(card.candidates or {card.model: card.metrics}),
        "",
        rests_on(card.metrics),
        "",
        f"### {card.model}, month by month",
        "",
        *months_lines(card.backtest_months),
        "",
        *watchlist_lines(card.watchlist),
        f"## Calibration of {card.model} on held-out months",
        "",
        *calibration_lines(card.calibration),
        "",
        "## Drift (PSI, training window against the latest month)",
        "",
        *drift_lines(card.drift_score_psi, drift_features),
    ]
    if sign_quality:
        # which warning signs separate on this history (features/quality.py): the same labels
        lines += ["", "## Warning signs: which come before events (兆候の識別力)", "", *sign_quality]
    return "\n".join(lines) + "\n"
