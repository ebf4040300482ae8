"""保証協会の情報 (the guarantee association's records): a sentence per sign from the figures
features/sql/guarantee.sql keeps."""
from __future__ import annotations

from collections.abc import Callable

from webapp.sign_text.words import Evidence, SignText, Table, Words
from yocho.contract import GUARANTEE_STATUSES, INCIDENT_TYPES

INCIDENT_TYPES_EN = {
    "delinquency": "delinquency", "restructuring_request": "request to restructure", "dishonoured_bill": "dishonoured bill",
    "whereabouts_unknown": "whereabouts unknown", "legal_filing": "bankruptcy or similar filing", "death": "death",
    "other": "other",
}
GUARANTEE_STATUSES_EN = {
    "normal": "normal", "delinquent": "delinquent", "restructured": "restructured", "subrogated": "subrogated",
    "repaid": "repaid",
}


def incident_type(w: Words, code: object) -> str:
    code = str(code or "")
    return w.pick(INCIDENT_TYPES.get(code, code), INCIDENT_TYPES_EN.get(code, code))


def guarantee_status(w: Words, code: object) -> str:
    code = str(code or "")
    return w.pick(GUARANTEE_STATUSES.get(code, code), GUARANTEE_STATUSES_EN.get(code, code))


def incident_reported(e: Evidence, w: Words) -> SignText:
    reports = e.num("reports")
    latest = []
    if e.get("latest_on"):
        latest.append(w.day(e.get("latest_on")))
    if e.get("latest_type"):
        latest.append(incident_type(w, e.get("latest_type")))
    tail = w.pick(f"（最新：{'、'.join(latest)}）", f" (latest: {', '.join(latest)})") if latest else ""
    return SignText(w.pick(f"保証協会への事故報告が{w.count(reports, 'report')}{tail}",
                           f"{w.count(reports, 'report')} of incidents to the guarantee association{tail}"))


def subrogation_requested(e: Evidence, w: Words) -> SignText:
    amount, requests = w.yen(e.need("amount_jpy")), e.opt_num("requests") or 1
    latest = e.get("latest_requested_on")
    tail = w.pick(f"（最新の請求 {w.day(latest)}）", f" (latest on {w.day(latest)})") if latest else ""
    return SignText(w.pick(f"代位弁済の請求が{w.count(requests, 'request')}、計 {amount}{tail}",
                           f"Subrogation requested: {w.count(requests, 'request')}, {amount} in all{tail}"))


def guarantee_adverse_status(e: Evidence, w: Words) -> SignText:
    guarantees = [str(g) for g in e.need("guarantees")]
    month = e.get("month")
    rows = []
    for item in guarantees:
        guarantee_id, _, status = item.rpartition(":")
        rows.append((guarantee_id or item, guarantee_status(w, status)))
    statuses = w.join(sorted({status for _, status in rows}))
    at = w.pick(f"{w.month(month)}時点で", f" in {w.month(month)}") if month else ""
    table = Table((w.pick("保証番号", "Guarantee"), w.pick("状態", "Status")), tuple(rows)) if len(rows) > 1 else None
    return SignText(w.pick(f"{at}保証{w.count(len(rows), 'guarantee')}が{statuses}",
                           f"{w.count(len(rows), 'guarantee')} {statuses}{at}"), table)


TEMPLATES: dict[str, Callable[[Evidence, Words], SignText]] = {
    "cga_incident_reported": incident_reported,
    "cga_subrogation_requested": subrogation_requested,
    "cga_guarantee_adverse_status": guarantee_adverse_status,
}
