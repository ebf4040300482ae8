"""The monthly review budget in the web app: the worklist's budget line, the page of entries
waiting below the line, and who may see them (the lead institution's reviewers only)."""
from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl

from tests.webapp.conftest import BANK_A, CGA, Business, Seeded, as_user, flags_frame
from yocho.contract import corporate_number_check_digit

NOV = date(2026, 11, 30)


def key(n: int) -> str:
    base = f"6200{n:08d}"
    return f"{corporate_number_check_digit(base)}{base}"


def november(seeded: Seeded, waiting: int, budget: int = 2) -> list[Business]:
    """A November night: bank A leads `budget + waiting` new businesses with a budget of `budget`."""
    new = [Business(f"W{n}", key(n), [(BANK_A, f"W-{n:04d}"), (CGA, f"GW-{n}")], 0.12 + n / 10_000, "high",
                    ["fin_operating_loss"], "profitability", date(2026, 8, 31), 0.10 + n / 10_000)
           for n in range(budget + waiting)]
    frame = flags_frame(NOV, new).with_columns(monthly_budget=pl.lit(budget, dtype=pl.Int64),
                                               monitored=pl.lit(budget * 67, dtype=pl.Int64))
    result = seeded.store.apply_flags(frame, NOV, 6)
    assert (result.opened, result.waiting) == (budget, waiting)
    return sorted(new, key=lambda b: -b.priority)


def rows(html: str) -> list[str]:
    return [part.split('"', 1)[0] for part in html.split('data-business-key="')[1:]]


def test_the_worklist_shows_this_months_budget_and_the_waiting_count(app: Any, seeded: Seeded) -> None:
    november(seeded, waiting=7)
    page = as_user(app, "bank_a").client.get("/cases").text
    assert "今月の審査枠 2件 / 新規 2件 / 枠外で待機中 7件" in page
    assert "2026-11-30時点・監視先 134社" in page and 'href="/waiting"' in page
    english = as_user(app, "bank_a").client.get("/cases?lang=en").text
    assert "This month&#39;s review budget 2 / new cases 2 / waiting below the line 7" in english
    # another bank's reviewer: its own budget from October, nothing of bank A's
    other = as_user(app, "bank_b").client.get("/cases").text
    assert "枠外で待機中 7件" not in other and 'href="/waiting"' not in other
    admin = as_user(app, "admin").client.get("/cases").text  # counts over every institution, no list
    assert "枠外で待機中 7件" in admin and 'href="/waiting"' not in admin


def test_the_waiting_page_lists_the_entries_by_rank_with_paging(app: Any, seeded: Seeded) -> None:
    ranked = november(seeded, waiting=30)
    reviewer = as_user(app, "bank_a").client
    first = reviewer.get("/waiting?page_size=25")
    assert first.status_code == 200
    assert rows(first.text) == [b.key for b in ranked[2:27]]
    assert "30件中 1–25件" in first.text and "W-0029" in first.text  # the reviewer's own customer number
    second = reviewer.get("/waiting?page=2&page_size=25").text
    assert rows(second) == [b.key for b in ranked[27:]]
    assert rows(reviewer.get("/waiting?page=9&page_size=25").text) == rows(second)  # past the end: the last


def test_waiting_entries_are_hidden_from_other_institutions_and_the_council(app: Any, seeded: Seeded) -> None:
    november(seeded, waiting=5)
    # the association shares these businesses but does not lead them: its list is empty
    cga = as_user(app, "cga").client.get("/waiting")
    assert cga.status_code == 200 and rows(cga.text) == [] and "枠外で待機中の先はありません" in cga.text
    assert rows(as_user(app, "bank_b").client.get("/waiting").text) == []
    for outsider in ("council", "admin"):
        response = as_user(app, outsider).client.get("/waiting")
        assert response.status_code == 403 and key(3) not in response.text
    council = as_user(app, "council").client.get("/council").text
    assert key(3) not in council and "枠外で待機中" not in council
