"""The demo's closing paragraphs, on a small hand-made night whose answers are known."""
from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime

import pytest
from rich.console import Console

from signals.queue import QueueStore, seed_demo_users
from signals.queue.kpis import early_share
from tests.signals.queue.conftest import AS_OF, BANK_A, FAST_SCRYPT, flag_row, flags_frame
from yocho.demo_summary import english, figures, japanese, month_cases_by_phase, print_closing, queue_admin

TRAINING = {
    "model": "boosted",
    "backtest": {"scorecard": {"roc_auc": 0.61}, "boosted": {"roc_auc": 0.6831, "median_lead_months_top_3%": 2.0,
                                                             "test_positives": 300}},
    "watchlist": {"rankings": {"model": {"events": 206, "caught": 150, "median_lead_months": 5.0},
                               "flag_policy": {"events": 206, "caught": 194, "median_lead_months": 3.0}}},
}


def _row(key: str, phase: str, first_event_on: str | None, priority: float) -> dict:
    row = flag_row(key, phase=phase, priority=priority, monthly_budget=4, in_event=first_event_on is not None)
    document = json.loads(row["evidence"])
    document["deterioration"] = {"first_event_on": first_event_on,
                                 "first_event_type": "restructuring" if first_event_on else None}
    row["evidence"] = json.dumps(document, ensure_ascii=False)
    return row


@pytest.fixture
def night(tmp_path) -> tuple[QueueStore, dict]:
    """Five flagged businesses for one bank with a budget of four: two 事業再生 already in an
    event, one 経営改善 already in one and one not, one 収益力改善 not; the lowest priority waits."""
    store = QueueStore(f"sqlite:///{tmp_path / 'queue.sqlite'}", password_params=FAST_SCRYPT,
                       clock=lambda: datetime(2026, 11, 24, 1, tzinfo=UTC))
    seed_demo_users(store, [(BANK_A, "北陸第一銀行")])
    frame = flags_frame(
        _row("7000012050002", "revitalisation", "2026-08-03", 0.9),
        _row("4000012090001", "revitalisation", "2026-10-31", 0.8),  # the day it is opened: late too
        _row("5100012050002", "management_improvement", "2026-09-15", 0.7),
        _row("3000012010001", "management_improvement", None, 0.6),
        _row("2000012010002", "profitability", None, 0.1),  # below the line
    )
    applied = store.apply_flags(frame, AS_OF, 6)
    flags = {"as_of": AS_OF.isoformat(), "flagged": frame.height, "budgets": [asdict(b) for b in applied.budgets]}
    yield store, flags
    store.close()


def test_the_figures_come_from_the_night_the_queue_and_the_training(night):
    store, flags = night
    found = figures(TRAINING, flags, store)
    assert (found.flagged, found.budget, found.opened, found.waiting) == (5, 4, 4, 1)
    assert (found.auc, found.lead_months, found.lead_events, found.lead_caught) == (0.6831, 3.0, 206, 194)
    assert found.lead_from_watchlist
    assert (found.early.opened, found.early.early, found.early.share) == (4, 1, 0.25)
    assert [(p.phase, p.cases, p.late) for p in found.phases] == [
        ("management_improvement", 2, 1), ("revitalisation", 2, 2)]
    # the same figure as the KPI page's, and the phases' late cases are its complement
    admin = queue_admin(store)
    assert admin is not None and early_share(store, admin) == found.early
    assert sum(p.late for p in found.phases) == found.early.opened - found.early.early
    # another month opened nothing
    assert month_cases_by_phase(store, date(2026, 11, 30)) == ()


def test_the_paragraphs_say_what_the_figures_mean(night):
    store, flags = night
    found = figures(TRAINING, flags, store)
    ja, en = japanese(found), english(found)
    assert "フラグが立った 5 先のうち、月間審査枠 4 件の範囲で 4 件の案件を開きました" in ja
    assert "枠を超えた 1 先は捨てずに順位付きで待機" in ja and "約 1 か月分" in ja
    assert "悪化事象 206 件のうち 194 件" in ja and "中央値 3 か月前" in ja
    assert "AUC 0.68 とは" in ja and "100回中 68 回" in ja
    assert "今月開いた案件 4 件のうち" in ja and "1 件（25%）" in ja and "残る 3 件はすでに悪化事象の中" in ja
    assert "事業再生では 2 件中 2 件" in ja and "経営改善では 2 件中 1 件" in ja
    assert "4 cases were opened within the monthly review budget of 4" in en
    assert "The other 1 business is not dropped: it waits below the line, ranked" in en
    assert "about 1 month of today's budget" in en
    assert "caught 194 ahead of time, a median of 3 months before the event" in en
    assert "the model ranks the first higher 68 times in 100" in en
    assert "of the 4 cases opened this month, 1 (25%) were opened before any deterioration event" in en
    assert "2 of the 2 revitalisation cases" in en and "1 of the 2 management improvement cases" in en


def test_many_waiting_businesses_read_as_plural(night):
    store, flags = night
    many = {**flags, "budgets": [{**flags["budgets"][0], "waiting": 9}]}
    assert "The other 9 businesses are not dropped: they wait below the line" in english(figures(TRAINING, many, store))
    assert "about 3 months of today's budget" in english(figures(TRAINING, many, store))


def test_without_the_generators_truth_the_lead_is_the_models_top_scores(night):
    store, flags = night
    found = figures({**TRAINING, "watchlist": {}}, flags, store)
    assert (found.lead_months, found.lead_from_watchlist) == (2.0, False)
    assert "スコア上位3%の先は、悪化事象の中央値 2 か月前" in japanese(found)
    assert "the top 3% of scores came a median of 2 months before the event" in english(found)


def test_printed_under_one_heading(night):
    store, flags = night
    console = Console(record=True, width=200)
    print_closing(console, TRAINING, flags, store)
    text = console.export_text()
    assert text.startswith("この結果の意味 / What these figures mean for an association")
    assert "早期着手率" in text and "Early share" in text
