"""他機関での兆候 (signs at several institutions): a sentence per sign from the figures
features/sql/cross_institution.sql keeps. That file describes what each institution shows in
short English phrases ("loan L1 (2026-09): 37 days past due"); they are read back here into
the reader's language."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from webapp.sign_text.guarantee import guarantee_status, incident_type
from webapp.sign_text.repayment import debtor_class
from webapp.sign_text.words import Evidence, SignText, Table, Words

_LOAN = re.compile(r"^loan (?P<loan>\S+) \((?P<month>\d{4}-\d{2})\): (?P<what>.+)$")
_DPD = re.compile(r"(\d+) days past due")
_DEBITS = re.compile(r"^failed direct debits: (?P<n>\d+) \((?P<months>.*)\)$")
_INCIDENT = re.compile(r"^incident (?P<type>\w+) on (?P<day>\d{4}-\d{2}-\d{2})(?: \(lender (?P<lender>\w*)\))?$")
_GUARANTEE = re.compile(r"^guarantee (?P<id>\S+) (?P<status>\w+) \((?P<month>\d{4}-\d{2})\)$")


def shown(w: Words, phrase: str) -> str:
    """One phrase of what an institution shows, in the reader's language."""
    found = _LOAN.match(phrase)
    if found:
        parts = []
        dpd = _DPD.search(found["what"])
        if dpd:
            parts.append(w.pick(f"{dpd.group(1)}日延滞", f"{dpd.group(1)} days past due"))
        if "restructured" in found["what"]:
            parts.append(w.pick("条件変更", "restructured"))
        return w.pick(f"貸出 {found['loan']}（{w.month(found['month'])}）：{'・'.join(parts)}",
                      f"loan {found['loan']} ({w.month(found['month'])}): {', '.join(parts)}")
    found = _DEBITS.match(phrase)
    if found:
        months = [m.split()[0] for m in found["months"].split(",") if m.strip()]
        when = w.months(months) if months else ""
        return w.pick(f"口座振替不能 {w.count(found['n'], 'debit')}（{when}）", f"{w.count(found['n'], 'debit')} ({when})")
    found = _INCIDENT.match(phrase)
    if found:
        return w.pick(f"事故報告：{incident_type(w, found['type'])}（{w.day(found['day'])}）",
                      f"incident: {incident_type(w, found['type'])} ({w.day(found['day'])})")
    found = _GUARANTEE.match(phrase)
    if found:
        return w.pick(f"保証 {found['id']}：{guarantee_status(w, found['status'])}（{w.month(found['month'])}）",
                      f"guarantee {found['id']}: {guarantee_status(w, found['status'])} ({w.month(found['month'])})")
    return w.pick("返済等の異常", "adverse repayment record")


def adverse_at_multiple(e: Evidence, w: Words) -> SignText:
    institutions = e.records("institutions")
    known = e.get("known_institutions") or []
    of = w.pick(f"（取引のある{w.count(len(known), 'institution')}のうち）", f" (of {w.count(len(known), 'institution')} it deals with)"
                ) if known else ""
    names = w.join(w.institution(r.get("institution")) for r in institutions)
    rows = tuple((w.institution(r.get("institution")), w.join(shown(w, str(p)) for p in _phrases(r))) for r in institutions)
    return SignText(w.pick(f"{w.count(len(institutions), 'institution')}で返済等の異常{of}：{names}",
                           f"Adverse repayment records at {w.count(len(institutions), 'institution')}{of}: {names}"),
                    Table((w.pick("機関", "Institution"), w.pick("内容", "What it shows")), rows))


def _phrases(record: Mapping[str, Any]) -> list[Any]:
    shows = record.get("shows")
    return list(shows) if isinstance(shows, list) else []


def watch_class_elsewhere(e: Evidence, w: Words) -> SignText:
    classified = e.records("classified_by")
    others = e.get("other_institutions") or []
    rows = tuple((w.institution(r.get("institution")), debtor_class(w, r.get("debtor_class")),
                  w.day(r.get("classified_on")) if r.get("classified_on") else "—") for r in classified)
    also = w.pick(f"（ほかに区分していない取引機関 {w.count(len(others), 'institution')}）",
                  f" ({w.count(len(others), 'institution')} dealing with it have not)") if others else ""
    return SignText(w.pick(f"{w.count(len(classified), 'bank')}が要注意先以下に区分{also}",
                           f"{w.count(len(classified), 'bank')} classify it as watch or worse{also}"),
                    Table((w.pick("機関", "Institution"), w.pick("債務者区分", "Classification"), w.pick("判定日", "Decided")),
                          rows))


TEMPLATES: dict[str, Callable[[Evidence, Words], SignText]] = {
    "x_adverse_at_multiple_institutions": adverse_at_multiple,
    "x_watch_class_elsewhere": watch_class_elsewhere,
}
