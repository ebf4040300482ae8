"""The council's support after an accepted referral in the web app: council intake records the
next stage through the case page's form (CSRF, Japanese messages), everyone in scope sees the
timeline, and the referring bank's page carries the stages and dates but never the council's
notes; the KPI page shows the council's report and the did-it-work section."""
from __future__ import annotations

import re
from typing import Any

import duckdb

from signals.queue import State
from tests.webapp.conftest import Seeded, as_user
from webapp.i18n import translate

NOTE = "代表者と面談、資金繰り表を受領（内部メモ）"


def _accepted(seeded: Seeded) -> int:
    """A4: referred by bank A to 石川県's council, accepted by it on 2026-11-24."""
    case_id = seeded.case_ids["A4"]
    council = seeded.users["council"]
    case = seeded.store.get_case(council, case_id)
    seeded.store.transition(council, case_id, State.ACCEPTED, expected_version=case.version)
    return case_id


def _flash(b: Any, path: str) -> str:
    found = re.search(r'class="flash flash-(\w+)"[^>]*>([^<]*)<', b.client.get(path).text)
    return f"{found.group(1)}: {found.group(2)}" if found else ""


def test_the_council_records_stages_and_the_bank_sees_them_without_notes(app: Any, seeded: Seeded) -> None:
    case_id = _accepted(seeded)
    path = f"/cases/{case_id}"
    council = as_user(app, "council")
    page = council.client.get(path).text
    assert 'data-testid="stage-form"' in page and translate("ja", "stage_record") in page
    for stage, measures, note in (("pre_consultation", [], NOTE),
                                  ("management_improvement", ["value_up"], "Vアップで計画策定"),
                                  ("plan_agreed", [], "全行同意")):
        done = council.post(f"{path}/stages", {"stage": stage, "stage_on": "2026-11-24", "measures": measures,
                                               "note": note}, token_from=path)
        assert done.status_code == 303 and done.headers["location"].endswith("#support")
    assert "「金融機関調整成立（計画合意）」を記録しました" in _flash(council, path)
    page = council.client.get(path).text
    assert NOTE in page and "バリューアップ支援事業（Vアップ）" in page
    bank = as_user(app, "bank_a").client.get(path).text
    timeline = bank[bank.index('data-testid="stage-timeline"'):]
    assert [m for m in re.findall(r'data-stage="(\w+)"', timeline)] == [
        "pre_consultation", "management_improvement", "plan_agreed"]
    assert "バリューアップ支援事業（Vアップ）" in bank and "金融機関調整成立" in bank
    for hidden in (NOTE, "Vアップで計画策定", "全行同意", translate("ja", "col_council_note")):
        assert hidden not in bank
    assert 'data-testid="stage-form"' not in bank
    english = as_user(app, "bank_a").client.get(f"{path}?lang=en").text
    assert "Plan agreed with the lenders" in english and "全行同意" not in english


def test_the_stage_form_needs_the_csrf_token_and_says_what_is_wrong_in_japanese(app: Any, seeded: Seeded) -> None:
    case_id = _accepted(seeded)
    path = f"/cases/{case_id}"
    council = as_user(app, "council")
    forged = council.client.post(f"{path}/stages", data={"stage": "pre_consultation", "stage_on": "2026-11-24"},
                                 follow_redirects=False)
    assert forged.status_code == 403
    future = council.post(f"{path}/stages", {"stage": "pre_consultation", "stage_on": "2026-12-24"},
                          token_from=path)
    assert future.status_code == 303 and "未来の日付は記録できません" in _flash(council, path)
    wrong = council.post(f"{path}/stages", {"stage": "earnings_improvement", "stage_on": "2026-11-24",
                                            "measures": ["dds"]}, token_from=path)
    assert wrong.status_code == 303 and "施策" in _flash(council, path)
    assert seeded.store.stage_timeline(seeded.users["council"], case_id) == []
    # a bank posting the form is refused by the store, whatever the page offered
    bank = as_user(app, "bank_a")
    refused = bank.post(f"{path}/stages", {"stage": "pre_consultation", "stage_on": "2026-11-24"}, token_from=path)
    assert refused.status_code == 403
    assert seeded.store.stage_timeline(seeded.users["council"], case_id) == []


def test_the_kpi_page_shows_the_council_report_and_the_caveat(app: Any, seeded: Seeded) -> None:
    case_id = _accepted(seeded)
    council_user = seeded.users["council"]
    seeded.store.record_stage(council_user, case_id, "management_improvement", on=seeded.store.today(),
                              measures=["405"])
    seeded.store.record_stage(council_user, case_id, "plan_agreed", on=seeded.store.today())
    for who in ("council", "admin"):  # no warehouse yet: the page says so
        assert translate("ja", "followup_unavailable") in as_user(app, who).client.get("/kpis").text
    path = seeded.settings.warehouse_path  # a warehouse whose scores end a month before the plan
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE risk_scores (business_key VARCHAR, as_of DATE, probability DOUBLE, "
                    "signs_fired INTEGER)")
        con.execute("INSERT INTO risk_scores VALUES (?, DATE '2026-10-31', 0.3, 2)",
                    [seeded.store.get_case(council_user, case_id).business_key])
    for who in ("council", "admin"):
        page = as_user(app, who).client.get("/kpis").text
        consultations = page[page.index('data-testid="kpi-consultations"'):]
        assert "2026年度第3四半期" in consultations[:2000]  # accepted 2026-11-24: FY2026 Q3
        assert 'data-testid="kpi-durations"' in page
        assert translate("ja", "followup_caveat")[:40] in page
        assert "12か月後のデータはまだありません" in page
        # the council is told why it sees no comparison group; the others see one
        assert ('data-testid="followup-council"' in page) is (who == "council")
    admin = as_user(app, "admin").client.get("/kpis?lang=en").text
    assert 'data-testid="kpi-council-breakdown"' in admin and "observational comparison" in admin
