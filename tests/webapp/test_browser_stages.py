# ruff: noqa: F811 - the browser fixtures are imported from test_browser.py and requested by name
"""The council's support after an accepted referral in a real browser (Chromium, as in
test_browser.py): 石川県's council accepts bank A's referral A4 and records 事前相談 →
経営改善支援 (Vアップ) → 計画合意 with its notes; bank A sees the stage timeline without the
notes; the KPI page shows the council's tables and says the 12/24-month follow-up is not
available yet. Screenshots under test-artifacts/screenshots/."""
from __future__ import annotations

from typing import Any

import pytest

from tests.webapp.test_browser import (  # noqa: F401 - fixtures used by name
    LiveServer,
    live_server,
    login,
    open_browser,
    playwright_instance,
    screenshots_dir,
    shot,
)

pytestmark = pytest.mark.slow

NOTES = ("社長面談：資金繰り表を受領", "Vアップで計画策定へ", "全行が計画に同意")


def _record(page: Any, stage: str, note: str, measures: tuple[str, ...] = ()) -> None:
    form = page.locator("[data-testid=stage-form] form")
    form.locator("select[name=stage]").select_option(stage)
    for m in measures:
        form.locator(f"input[name=measures][value={m}]").check()
    form.locator("textarea[name=note]").fill(note)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_the_council_records_the_support_and_the_bank_sees_the_timeline(
        live_server: LiveServer, open_browser: Any) -> None:
    case_id = live_server.seeded.case_ids["A4"]
    path = live_server.url(f"/cases/{case_id}")
    council = open_browser("stages-council")
    login(council, live_server, "council")
    council.goto(path)
    council.locator("form[data-target=accepted] button").click()
    council.wait_for_load_state()
    assert "受付" in council.inner_text(".head-badges")
    _record(council, "pre_consultation", NOTES[0])
    _record(council, "management_improvement", NOTES[1], ("value_up",))
    shot(council, "60-council-records-stages")
    _record(council, "plan_agreed", NOTES[2])
    assert "金融機関調整成立（計画合意）」を記録しました" in council.inner_text(".flash-ok")
    timeline = council.inner_text("[data-testid=stage-timeline]")
    assert all(note in timeline for note in NOTES) and "バリューアップ支援事業（Vアップ）" in timeline
    shot(council, "61-council-timeline-with-notes")

    bank = open_browser("stages-bank")
    login(bank, live_server, "bank_a")
    bank.goto(path)
    timeline = bank.inner_text("[data-testid=stage-timeline]")
    assert "事前相談" in timeline and "経営改善支援" in timeline and "金融機関調整成立" in timeline
    assert "バリューアップ支援事業（Vアップ）" in timeline
    page = bank.content()
    assert not any(note in page for note in NOTES) and "協議会メモ" not in page
    assert "金融機関調整成立" in bank.inner_text("[data-testid=support-current]")
    assert bank.locator("[data-testid=stage-form]").count() == 0
    shot(bank, "62-bank-sees-timeline-without-notes")

    council.goto(live_server.url("/kpis"))
    consultations = council.inner_text("[data-testid=kpi-consultations]")
    assert "2026年度第3四半期" in consultations
    durations = council.inner_text("[data-testid=kpi-durations]")
    assert "紹介 → 計画合意" in durations and "0.5か月" in durations  # 14 days
    assert "観察に基づく比較" in council.inner_text("[data-testid=followup-caveat]")
    council.locator("#council-report").scroll_into_view_if_needed()
    shot(council, "63-kpi-council-report")
