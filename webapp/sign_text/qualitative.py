"""定性情報 (observations recorded by relationship managers): one sentence per sign, the same
for every observation code, from the figures features/sql/qualitative.sql keeps: the
observations received by the date, newest first, each weighted by its age (half-life)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from features.catalog import Family, by_family
from webapp.sign_text.words import Evidence, SignText, Table, Words, number


def observations(e: Evidence, w: Words) -> SignText:
    records = e.records("observations")
    latest = max(records, key=lambda r: str(r.get("observed_on") or ""))
    note = latest.get("note")
    quoted = w.pick(f"「{note}」", f"“{note}”") if note else ""
    who = w.institution(latest.get("institution")) if latest.get("institution") else ""
    if len(records) == 1:
        sentence = w.pick(f"{w.day(latest.get('observed_on'))}に{who + 'の' if who else ''}担当者が記録{quoted}",
                          f"Recorded by {who or 'a relationship manager'} on {w.day(latest.get('observed_on'))}"
                          + (f": {quoted}" if quoted else ""))
    else:
        sentence = w.pick(f"担当者の記録が{w.count(len(records), 'record')}（最新 {w.day(latest.get('observed_on'))}{quoted}）",
                          f"{w.count(len(records), 'record')} by relationship managers (latest "
                          f"{w.day(latest.get('observed_on'))}{': ' + quoted if quoted else ''})")
    notes = ()
    weight, half_life = e.opt_num("weight"), e.opt_num("half_life_months")
    if weight is not None and half_life is not None:
        notes = (w.pick(f"古い記録ほど軽く数えた件数 {weight:.2f}（半減期 {w.count(half_life, 'month')}）。",
                        f"Counted with older records weighing less: {weight:.2f} (half-life {w.count(half_life, 'month')})."),)
    table = None
    if len(records) > 1:
        table = Table((w.pick("記録日", "Observed"), w.pick("機関", "Institution"), w.pick("メモ", "Note")),
                      tuple(_row(w, r) for r in records))
    return SignText(sentence, table, notes)


def _row(w: Words, record: Mapping[str, Any]) -> tuple[str, str, str]:
    note = record.get("note")
    return (w.day(record.get("observed_on")), w.institution(record.get("institution")) if record.get("institution") else "—",
            str(note) if note and number(note) is None else "—")


TEMPLATES: dict[str, Callable[[Evidence, Words], SignText]] = {
    indicator.id: observations for indicator in by_family(Family.QUALITATIVE)
}
