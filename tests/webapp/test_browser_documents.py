"""In a real Chromium (the fixtures of test_browser.py, a server of its own): the association's
analyst leading a case asks a bank for the trial balance and the cash-flow plan; the bank's
reviewer finds them on 依頼された資料 and records the trial balance as sent; the analyst sees it
received in the evidence and the cash-flow plan outstanding, then overdue. Screenshots go to
test-artifacts/screenshots/."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from tests.webapp.conftest import AS_OF, BANK_A, CGA, Business, flags_frame
from tests.webapp.test_browser import (  # noqa: F401 - the fixtures, for this module's own server
    LiveServer,
    live_server,
    login,
    open_browser,
    playwright_instance,
    screenshots_dir,
    shot,
)

LED = Business("D2", "9000080000008", [(CGA, "G-0808"), (BANK_A, "A-0808")], 0.25, "high", ["rep_dpd_30"],
               "management_improvement", AS_OF - timedelta(days=60), 0.5)


def test_the_association_asks_a_bank_for_documents_and_sees_them_arrive(
        live_server: LiveServer,  # noqa: F811 - the fixture imported above
        open_browser: Any) -> None:  # noqa: F811
    seeded = live_server.seeded
    seeded.store.apply_flags(flags_frame(AS_OF, [LED]), AS_OF, 6)
    case_id = next(c.id for c in seeded.store.all_cases(seeded.users["cga"]) if c.business_key == LED.key)
    analyst = open_browser("documents-analyst")
    login(analyst, live_server, "cga")
    analyst.goto(live_server.url(f"/cases/{case_id}"))
    form = analyst.locator("[data-testid=request-form]")
    form.locator("select[name=institution_id]").select_option(BANK_A)
    form.locator("input[value=trial_balance]").check()
    form.locator("input[value=cash_flow_plan]").check()
    form.locator("input[name=due_on]").fill("2026-12-01")
    form.locator("button[type=submit]").click()
    analyst.wait_for_load_state()
    assert "2件の資料を" in analyst.inner_text(".flash-ok")
    assert analyst.inner_text("[data-testid=documents-outstanding]") == "未着 2件（うち期限超過 0件）"
    shot(analyst, "40-documents-requested-by-the-association")

    bank = open_browser("documents-bank")
    login(bank, live_server, "bank_a")
    assert bank.inner_text("[data-testid=documents-count]") == "2"
    bank.click("[data-testid=documents-link]")
    bank.wait_for_url(live_server.url("/documents"))
    rows = bank.locator("[data-testid=documents] tbody tr")
    assert rows.count() == 2 and "最新の試算表" in bank.inner_text("[data-testid=documents]")
    shot(bank, "41-documents-requested-of-the-bank")
    row = bank.locator("tr[data-document=trial_balance]")
    row.locator("summary").click()
    row.locator("input[name=reference]").fill("文書番号 HK-2026-118")
    row.locator("button[type=submit]").click()
    bank.wait_for_url(live_server.url("/documents"))
    assert "資料の送付を記録しました" in bank.inner_text(".flash-ok")
    assert bank.locator("[data-testid=documents] tbody tr").count() == 1
    assert bank.inner_text("[data-testid=documents-count]") == "1"

    analyst.goto(live_server.url(f"/cases/{case_id}"))
    lines = analyst.inner_text("[data-testid=evidence-documents]")
    assert "2026年11月24日 北陸第一銀行より最新の試算表を受領（文書番号 HK-2026-118）" in lines
    assert analyst.inner_text("[data-testid=documents-outstanding]") == "未着 1件（うち期限超過 0件）"
    shot(analyst, "42-documents-received-in-the-evidence")
    # past the due date: the cash-flow plan is overdue on the analyst's case page
    seeded.clock.set_day(date(2026, 12, 3))
    login(analyst, live_server, "cga")
    analyst.goto(live_server.url(f"/cases/{case_id}#documents"))
    assert analyst.inner_text("[data-testid=documents-outstanding]") == "未着 1件（うち期限超過 1件）"
    assert analyst.locator("tr[data-document=cash_flow_plan] [data-testid=document-overdue]").count() == 1
    assert analyst.locator("tr[data-document=trial_balance] [data-testid=document-status]").inner_text() == "受領済"
    shot(analyst, "43-documents-one-overdue")
