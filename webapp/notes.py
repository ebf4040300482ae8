"""The notes the nightly job writes in a case's audit log, in the page's language.

The nightly job (signals/queue/nightly.py, actor `system`) writes each note in a fixed form —
`flagged as of 2026-10-31 (both)`, `snooze over (2026-12-01)`, `新たな重大予兆: rep_dpd_90, ...` —
and the audit log is append-only, so notes already stored keep that form for good. The page
reads those forms as codes and writes them out with i18n keys; a reviewer's own note is shown
as they typed it, and a system note of another form too.
"""
from __future__ import annotations

import re

from webapp.formatting import Formatter
from webapp.i18n import Translator

SYSTEM = "system"  # signals.queue.nightly.SYSTEM, the nightly job's actor name
_FLAGGED = re.compile(r"^flagged as of (\d{4}-\d{2}-\d{2}) \((\w+)\)$")
_SNOOZE_OVER = re.compile(r"^snooze over \((\d{4}-\d{2}-\d{2})\)$")
_NEW_CRITICAL = re.compile(r"^新たな重大予兆: (.+)$")


def audit_note(note: str | None, actor: str, actor_role: str | None, t: Translator, f: Formatter) -> str:
    """The note of one audit row as the page shows it."""
    if not note:
        return ""
    if actor != SYSTEM or actor_role:
        return note
    found = _FLAGGED.match(note)
    if found:
        return t("note_flagged", date=f.date(found.group(1)), trigger=t.trigger(found.group(2)))
    found = _SNOOZE_OVER.match(note)
    if found:
        return t("note_snooze_over", date=f.date(found.group(1)))
    found = _NEW_CRITICAL.match(note)
    if found:
        names = [t.indicator(s.strip()) for s in found.group(1).split(",") if s.strip()]
        return t("note_new_critical", signs=("、" if t.lang == "ja" else ", ").join(names))
    return note
