"""The owner's consent on record, and what it lets the council read.

Before a bank or an association refers a business to its prefecture's SME Revitalization
Council, it records the consent it obtained (`ConsentRecord`, on the move to consent_obtained):
how (書面 / 電子), the date, who obtained it (the acting user), from whom (the representative's
name and title as typed), the consent document's reference, and which categories of
information the council may read (`CATEGORIES`). A referral without that record is refused
(`check_referable`), and a withdrawal of consent (`withdraw`) hides the case from the council at
once: the council's scope (signals/queue/scope.py) requires consent on record and not
withdrawn, and the council is told only that the referral was withdrawn (`consent_withdrawals`).

What the council reads of a referral's evidence is the referring institution's view
(signals/sharing.py) narrowed by the categories shared (`shared_evidence`), in the store's
read (signals/queue/worklist.py), so no page or export can show more:

- the platform's score (probability, band, portfolio share, model version, score series) and
  the business's name and key are always shown: they are what the referral is about;
- 予兆と根拠 (`signs`): the warning signs and the figures behind them, the model's factors, the
  months each sign fired, the critical signs and the recommended phase's reason. Without it no
  sign is shown at all;
- 財務 (`financials`), 返済状況 (`repayment`), 口座動向 (`accounts`): the data of that kind — a
  sign or factor of that family (財務諸表 / 返済状況 / 預金口座の動き) is shown only when its
  category is shared too; the loan and arrears series and the first deterioration event
  need 返済状況, the deposit, inflow and failed-debit series 口座動向. Signs of the other
  families (保証, 定性, 複数機関) need 予兆と根拠 only.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Connection, insert, select, update

from signals.queue.actors import User
from signals.queue.lifecycle import (
    CONSENT_CATEGORIES,
    INSTITUTION_ROLES,
    Conflict,
    Forbidden,
    InvalidInput,
    Role,
    State,
)
from signals.queue.schema import cases, consent_withdrawals, transitions, users
from signals.queue.scope import case_to_change

METHODS: dict[str, tuple[str, str]] = {"written": ("書面", "In writing"), "electronic": ("電子", "Electronic")}
CATEGORIES = CONSENT_CATEGORIES
WITHDRAWN = "consent_withdrawn"  # the reason code of a withdrawal's audit row
# The sign families each data category governs; a sign of any other family needs `signs` only.
FAMILY_CATEGORY = {"financials": "financials", "repayment": "repayment", "accounts": "accounts"}
SERIES_CATEGORY = {"loan_balance_jpy": "repayment", "max_days_past_due": "repayment",
                   "deposit_balance_jpy": "accounts", "inflow_jpy": "accounts", "failed_debits": "accounts"}
ALWAYS = ("business_key", "business_name", "as_of", "model_version", "probability", "band", "portfolio_share",
          "score", "shared_with_other_institutions")
MAX_TEXT = 200


def clean_text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


@dataclass(frozen=True)
class ConsentRecord:
    """The consent a reviewer records with the move to consent_obtained."""
    method: str  # written | electronic
    obtained_on: date
    obtained_from: str  # the representative's name and title, as typed
    document_ref: str  # 文書番号 or file reference
    shared: tuple[str, ...]  # codes of CATEGORIES the council may read

    @classmethod
    def of(cls, *, method: str | None, obtained_on: date | None, obtained_from: str | None,
           document_ref: str | None, shared: Iterable[str] | None) -> ConsentRecord:
        """The record, checked: every field is required; messages say in Japanese what is missing."""
        method = (method or "").strip()
        if method not in METHODS:
            raise InvalidInput("同意の取得方法（書面 / 電子）を選んでください (choose how consent was obtained)")
        if obtained_on is None:
            raise InvalidInput("同意の取得日を入力してください (the date consent was obtained is required)")
        who = clean_text(obtained_from)
        if not who:
            raise InvalidInput("同意者（代表者の氏名・役職）を入力してください (whom consent was obtained from is required)")
        ref = clean_text(document_ref)
        if not ref:
            raise InvalidInput("同意書の文書番号またはファイル参照を入力してください (the consent document's reference is required)")
        if len(who) > MAX_TEXT or len(ref) > MAX_TEXT:
            raise InvalidInput(f"同意者と文書番号は{MAX_TEXT}文字以内です (at most {MAX_TEXT} characters)")
        chosen = sorted({c.strip() for c in shared or () if c and c.strip()})
        unknown = [c for c in chosen if c not in CATEGORIES]
        if unknown:
            raise InvalidInput(f"共有できる情報の区分ではありません: {', '.join(unknown)} (unknown category)")
        if not chosen:
            raise InvalidInput("協議会と共有する情報を一つ以上選んでください (choose what the council may read)")
        return cls(method, obtained_on, who, ref, tuple(c for c in CATEGORIES if c in chosen))

    def columns(self, actor: User) -> dict[str, Any]:
        return {"consent_on": self.obtained_on, "consent_recorded_by": actor.id, "consent_method": self.method,
                "consent_from": self.obtained_from, "consent_document_ref": self.document_ref,
                "consent_shared": list(self.shared), "consent_withdrawn_on": None}


def check_referable(row: Any) -> None:
    """Refuse a referral of a case without the consent on record (the data layer's guard; the
    web app offers the referral only after the consent step)."""
    if (row.consent_on is None or row.consent_withdrawn_on is not None or not row.consent_method
            or not row.consent_from or not row.consent_document_ref or not row.consent_shared):
        raise InvalidInput("本人同意の記録（取得方法・取得日・同意者・文書番号・共有する情報）がないため協議会へ紹介できません "
                           "(a referral needs the owner's consent on record)")


# ---------------------------------------------------------------------------- what the council reads

@cache
def _families() -> dict[str, str]:
    """indicator or measure id -> its family, from the catalog."""
    from features.catalog import indicators, measures

    return {i: item.family.value for i, item in {**indicators(), **measures()}.items()}


def _allowed(indicator: Any, family: Any, shared: frozenset[str]) -> bool:
    if "signs" not in shared:
        return False
    family = family or _families().get(str(indicator or ""))
    category = FAMILY_CATEGORY.get(str(family or ""))
    return category is None or category in shared


def allowed_indicator(indicator: str, shared: frozenset[str]) -> bool:
    return _allowed(indicator, None, shared)


def shared_evidence(document: str, shared: Iterable[str] | None) -> str:
    """The evidence JSON (already as the referring institution sees it) narrowed to the
    categories the consent shares with the council; an allow list: anything not named here
    is dropped."""
    try:
        data = json.loads(document)
    except (TypeError, ValueError):
        return "{}"
    if not isinstance(data, dict):
        return "{}"
    chosen = frozenset(shared or ())
    out: dict[str, Any] = {k: data[k] for k in ALWAYS if k in data and k != "series"}
    out["signs"] = [s for s in data.get("signs") or []
                    if isinstance(s, dict) and _allowed(s.get("indicator_id") or s.get("id"), s.get("family"), chosen)]
    out["top_factors"] = [f for f in data.get("top_factors") or [] if isinstance(f, dict)
                          and _allowed(f.get("indicator") or f.get("indicator_id"), f.get("family"), chosen)]
    out["sign_history"] = [
        {"month": h.get("month"), "signs": [i for i in h.get("signs") or [] if allowed_indicator(i, chosen)]}
        for h in data.get("sign_history") or [] if isinstance(h, dict)] if "signs" in chosen else []
    series = data.get("series") if isinstance(data.get("series"), dict) else {}
    out["series"] = {name: (values if name == "score" or SERIES_CATEGORY[name] in chosen else [])
                     for name, values in series.items() if name in SERIES_CATEGORY or name == "score"}
    if "series_by_institution" in data:
        out["series_by_institution"] = [
            {k: v for k, v in item.items() if k == "institution_id" or SERIES_CATEGORY.get(k) in chosen}
            for item in data.get("series_by_institution") or [] if isinstance(item, dict)]
    if "repayment" in chosen and "deterioration" in data:
        out["deterioration"] = data["deterioration"]
    return json.dumps(out, ensure_ascii=False)


def shared_critical_signs(signs: Iterable[str], shared: Iterable[str] | None) -> list[str]:
    chosen = frozenset(shared or ())
    return [s for s in signs if allowed_indicator(s, chosen)]


# ---------------------------------------------------------------------------- withdrawal

WITHDRAWABLE = frozenset({State.CONSENT_OBTAINED, State.REFERRED, State.ACCEPTED, State.DECLINED})
_CLEARED = {"consent_on": None, "consent_method": None, "consent_from": None, "consent_document_ref": None,
            "consent_shared": None, "consent_note": None, "route": None, "referred_on": None, "referred_by": None,
            "referring_institution_id": None, "referral_phase": None}


def withdraw(conn: Connection, actor: User, case_id: int, *, expected_version: int, note: str | None,
             today: date, now: datetime) -> None:
    """The owner withdrew consent (the referring institution records it): the council no
    longer sees the case, from this transaction on. A case not yet decided by the council
    (consent_obtained, referred) goes back to under_review with its consent and referral
    cleared; one the council accepted or declined keeps its state, marked withdrawn. Either
    way one audit row (reason code `consent_withdrawn`) and, when the case had been
    referred, one `consent_withdrawals` row for the council."""
    if actor.role not in INSTITUTION_ROLES:
        raise Forbidden("only the referring bank or association records a withdrawal of consent")
    row = case_to_change(conn, actor, case_id, expected_version)
    state = State(row.state)
    if state not in WITHDRAWABLE or row.consent_on is None or row.consent_withdrawn_on is not None:
        raise InvalidInput("この案件には撤回できる本人同意の記録がありません (no consent on record to withdraw)")
    recorder = conn.execute(select(users.c.institution_id).where(users.c.id == row.consent_recorded_by)
                            ).scalar_one_or_none()
    holder = row.referring_institution_id or recorder
    if holder != actor.institution_id:
        raise Forbidden("同意の撤回は同意を記録した（紹介した）機関だけが記録できます "
                        "(only the institution that recorded the consent records its withdrawal)")
    values: dict[str, Any] = {"consent_withdrawn_on": today, "version": cases.c.version + 1, "updated_at": now}
    target = state
    if state in (State.CONSENT_OBTAINED, State.REFERRED):
        target = State.UNDER_REVIEW
        values |= {**_CLEARED, "state": target.value}
    moved = conn.execute(update(cases).where(cases.c.id == case_id, cases.c.version == expected_version,
                                             cases.c.state == state.value).values(**values))
    if moved.rowcount != 1:
        raise Conflict(f"case {case_id} was changed by someone else; reload it")
    summary = (f"本人同意の撤回（{row.consent_on.isoformat()} {METHODS.get(row.consent_method or '', ('—',))[0]}・"
               f"{row.consent_from or '—'}・{row.consent_document_ref or '—'}）")
    conn.execute(insert(transitions).values(
        case_id=case_id, at=now, actor_user_id=actor.id, actor=actor.username, actor_role=actor.role.value,
        from_state=state.value, to_state=target.value, note=f"{summary}: {note}" if note else summary,
        reason_code=WITHDRAWN))
    if row.council_id and row.referred_on is not None:
        conn.execute(insert(consent_withdrawals).values(
            case_id=case_id, council_id=row.council_id, referred_on=row.referred_on, withdrawn_on=today, at=now,
            withdrawn_by=actor.id))


@dataclass(frozen=True)
class WithdrawnReferral:
    """What a council is told of a referral withdrawn: its number and two dates, nothing more."""
    case_id: int
    referred_on: date | None
    withdrawn_on: date


def withdrawn_referrals(conn: Connection, actor: User, limit: int = 100) -> list[WithdrawnReferral]:
    """The referrals to the actor's council that were withdrawn, newest first (council intake
    only; an administrator sees every council's)."""
    query = select(consent_withdrawals).order_by(consent_withdrawals.c.id.desc()).limit(limit)
    if actor.role is Role.COUNCIL_INTAKE:
        query = query.where(consent_withdrawals.c.council_id == actor.institution_id)
    elif actor.role is not Role.ADMIN:
        raise Forbidden("withdrawn referrals are the council's list")
    return [WithdrawnReferral(r.case_id, r.referred_on, r.withdrawn_on) for r in conn.execute(query)]
