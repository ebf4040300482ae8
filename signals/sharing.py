"""What one institution may see of another's data in a shared case (docs/queue.md, "Sharing").

A case's evidence snapshot (signals/sql/evidence.sql) is built from every institution's rows
about the business and is stored verbatim, append-only. What a viewer is *shown* of it is
decided here, by `scoped_evidence(document, viewer, case_institutions)`, which the queue store
applies to every snapshot it hands out (`QueueStore.get_case`), so no page or export can show
more.

The rules, for a viewer acting for institution V on a case whose institutions are I:

- I ⊆ {V} (nobody else reports the business): the document in full, less the per-institution
  series (only V's own would be there anyway).
- Otherwise a new document is built from what may cross (an allow list, never a deny list):
  - the platform's own score: probability, band, portfolio share, model version, the score
    series, and which signs fired in which month (`sign_history`);
  - every fired sign, with its id, names, family and severity: the aggregated fact "this is
    reported about the business" (e.g. 90+ days past due) without saying by whom;
  - inside a sign's figures, only records attributed to V (a dict naming V as its `bank`,
    `institution`, `institution_id` or `lender`, a 4-digit lender code c counting as bank_c;
    a string such as `loan:V:L1` or `V:L1`);
    the sign's value and its other figures (a maximum, an amount, a note, another lender's
    loan id, debtor class or observation) are withheld when any record is another
    institution's or cannot be attributed, and `other_institutions: "reported"` says so;
  - the model's top factors with their names and contributions, without their values;
  - the monthly loan, arrears and deposit series of V only (`series_by_institution`); the
    cross-institution totals are never shown. A snapshot without per-institution series
    shows none.
- An administrator sees every document in full; council intake sees a referral as the
  referring institution does (its consent covers its own records); a council-owned manual
  referral has no institution evidence at all.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

ATTRIBUTION_KEYS = ("bank", "institution", "institution_id", "lender")
_INSTITUTION = re.compile(r"^(?:[a-z]+:)?((?:bank|cga)_[A-Za-z0-9]+)(?:[:/]|$)")
OTHERS = "other_institutions"
REPORTED = "reported"  # another institution reports this sign; its details are withheld
SCORE_KEYS = ("business_key", "as_of", "model_version", "probability", "band", "portfolio_share", "score")
SIGN_KEYS = ("indicator_id", "id", "indicator", "name_ja", "name_en", "family", "severity", "fired")
FACTOR_KEYS = ("kind", "indicator", "indicator_id", "name_ja", "name_en", "ja", "en", "contribution", "fired")
SERIES_KEYS = ("loan_balance_jpy", "max_days_past_due", "deposit_balance_jpy", "inflow_jpy", "failed_debits")


def owner_of(item: Any) -> str | None:
    """The institution a record is attributed to, or None."""
    if isinstance(item, dict):
        for key in ATTRIBUTION_KEYS:
            value = item.get(key)
            if key == "lender" and isinstance(value, str) and value.isdigit():
                return f"bank_{value}"  # 統一金融機関コード: bank_0116 is code 0116
            if isinstance(value, str) and value:
                found = _INSTITUTION.match(value)
                return found.group(1) if found else value
        return None
    if isinstance(item, str):
        found = _INSTITUTION.match(item)
        return found.group(1) if found else None
    return None


def _owners(value: Any) -> tuple[set[str], bool]:
    """Institutions the records inside `value` are attributed to, and whether it holds any
    figure attributed to nobody."""
    owner = owner_of(value)
    if owner is not None:
        return {owner}, False
    if isinstance(value, dict):
        found: set[str] = set()
        loose = False
        for item in value.values():
            owners, unattributed = _owners(item)
            found |= owners
            loose |= unattributed
        return found, loose
    if isinstance(value, list):
        found, loose = set(), False
        for item in value:
            owners, unattributed = _owners(item)
            found |= owners
            loose |= unattributed
        return found, loose
    return set(), value is not None


def _own_records(value: Any, viewer: str) -> Any:
    """Only the records of `value` attributed to `viewer` (lists and dicts walked), or None."""
    if owner_of(value) is not None:
        return value if owner_of(value) == viewer else None
    if isinstance(value, list):
        kept = [r for r in (_own_records(item, viewer) for item in value) if r not in (None, [], {})]
        return kept or None
    if isinstance(value, dict):
        kept = {k: r for k, r in ((k, _own_records(v, viewer)) for k, v in value.items()) if r not in (None, [], {})}
        return kept or None
    return None


def _sign(raw: Any, viewer: str) -> Any:
    if not isinstance(raw, dict):
        return None
    out = {k: raw[k] for k in SIGN_KEYS if k in raw}
    details = raw.get("evidence")
    owners, loose = _owners(details)
    if owners == {viewer} and not loose:
        out["value"] = raw.get("value")
        out["evidence"] = details
        return out
    own = _own_records(details, viewer)
    shown = own if isinstance(own, dict) else ({"records": own} if own else {})
    out["value"] = None
    out["evidence"] = {**shown, OTHERS: REPORTED}
    return out


def scoped_evidence(document: str, viewer: str | None, case_institutions: Iterable[str]) -> str:
    """The evidence JSON `viewer` (an institution id; None: withhold every institution's
    records) may see of a case shared by `case_institutions`. Returns JSON text."""
    try:
        data = json.loads(document)
    except (TypeError, ValueError):
        return "{}"
    if not isinstance(data, dict):
        return "{}"
    sharers = set(case_institutions)
    by_institution = data.get("series_by_institution")
    own_series = next((s for s in by_institution or [] if isinstance(s, dict)
                       and s.get("institution_id") == viewer), None) if viewer else None
    if viewer is not None and sharers <= {viewer}:
        full = {k: v for k, v in data.items() if k != "series_by_institution"}
        if own_series is not None:
            full["series_by_institution"] = [own_series]
        return json.dumps(full, ensure_ascii=False)
    out: dict[str, Any] = {k: data[k] for k in SCORE_KEYS if k in data}
    out["signs"] = [s for s in (_sign(raw, viewer or "") for raw in data.get("signs") or []) if s is not None]
    out["top_factors"] = [{k: f[k] for k in FACTOR_KEYS if k in f}
                          for f in data.get("top_factors") or [] if isinstance(f, dict)]
    series = data.get("series") if isinstance(data.get("series"), dict) else {}
    shown: dict[str, Any] = {name: (own_series or {}).get(name, []) for name in SERIES_KEYS}
    shown["score"] = series.get("score", [])
    out["series"] = shown
    if own_series is not None:
        out["series_by_institution"] = [own_series]
    out["sign_history"] = data.get("sign_history", [])
    out["shared_with_other_institutions"] = True
    return json.dumps(out, ensure_ascii=False)


__all__ = ["OTHERS", "REPORTED", "owner_of", "scoped_evidence"]
