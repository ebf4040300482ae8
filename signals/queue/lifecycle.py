"""The referral case lifecycle: states, roles, and which role may move a case from which
state to which. Pure rules, no database: `signals.queue.store` applies them inside the
transaction that changes the case and appends the audit row.

    new ─► under_review ─► consent_obtained ─► referred ─► accepted (事前相談)
     │          │  ▲               │                  └──► declined
     │          │  └── snoozed ◄───┤   (snoozed wakes back to under_review)
     └──────────┴──────────────────┴──► dismissed

The table `TRANSITIONS` is the single place that says who may do what; docs/queue.md shows
it as a table.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    NEW = "new"
    UNDER_REVIEW = "under_review"
    CONSENT_OBTAINED = "consent_obtained"
    REFERRED = "referred"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    DISMISSED = "dismissed"
    SNOOZED = "snoozed"


class Role(StrEnum):
    BANK_REVIEWER = "bank_reviewer"
    CGA_ANALYST = "cga_analyst"
    COUNCIL_INTAKE = "council_intake"
    ADMIN = "admin"


class Route(StrEnum):
    """How a referral reached the council, as the council's own reports count them."""
    BANK = "bank"  # 金融機関: referred by a bank reviewer
    CGA = "cga"  # 信用保証協会: referred by a guarantee association analyst
    PROFESSIONAL = "professional"  # 士業: registered by hand by council intake
    OTHER = "other"  # その他: registered by hand by council intake


STATE_JA: dict[State, str] = {
    State.NEW: "新規",
    State.UNDER_REVIEW: "検討中",
    State.CONSENT_OBTAINED: "同意取得済",
    State.REFERRED: "協議会へ紹介済",
    State.ACCEPTED: "受付（事前相談）",
    State.DECLINED: "不受理",
    State.DISMISSED: "対象外",
    State.SNOOZED: "保留",
}
ROLE_JA: dict[Role, str] = {
    Role.BANK_REVIEWER: "金融機関 審査担当",
    Role.CGA_ANALYST: "信用保証協会 分析担当",
    Role.COUNCIL_INTAKE: "活性化協議会 受付担当",
    Role.ADMIN: "管理者",
}
ROUTE_JA: dict[Route, str] = {
    Route.BANK: "金融機関",
    Route.CGA: "信用保証協会",
    Route.PROFESSIONAL: "士業",
    Route.OTHER: "その他",
}
# Routes council intake may register by hand; bank and CGA referrals come through the queue.
MANUAL_ROUTES = frozenset({Route.PROFESSIONAL, Route.OTHER})

# A case in one of these states holds its business: at most one per business_key (a partial
# unique index enforces it), and the nightly flags append evidence to it.
OPEN_STATES = frozenset({State.NEW, State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, State.SNOOZED})
# Decided; a business with a case closed within the cooldown is not flagged again unless a
# new critical sign fires.
CLOSED_STATES = frozenset({State.ACCEPTED, State.DECLINED, State.DISMISSED})
# What council intake sees: cases referred to it, with the owner's consent recorded.
COUNCIL_STATES = frozenset({State.REFERRED, State.ACCEPTED, State.DECLINED})

REVIEWERS = frozenset({Role.BANK_REVIEWER, Role.CGA_ANALYST})
COUNCIL = frozenset({Role.COUNCIL_INTAKE})
# Roles tied to one institution (bank or CGA) that scope them.
INSTITUTION_ROLES = REVIEWERS


class QueueError(Exception):
    """Base of every error the queue raises on purpose; its message is safe to show."""


class NotFound(QueueError):
    """No such case, or not visible to the acting user (the two are not distinguished)."""


class Forbidden(QueueError):
    """The acting user's role may not do this (or the user is disabled)."""


class IllegalTransition(QueueError):
    """The lifecycle has no such move from the case's current state."""


class Conflict(QueueError):
    """Someone changed the case since the acting user read it (optimistic concurrency), or
    the business already has an open case."""


class InvalidInput(QueueError, ValueError):
    """A required reason, date or field is missing or wrong."""


class DismissReason(StrEnum):
    """Why a reviewer dismissed a case (対象外の理由), recorded as `transitions.reason_code`
    so the reasons can be counted (KPIs, how similar cases ended) rather than read."""
    TEMPORARY = "temporary"  # a one-off: a seasonal dip, a delayed payment already made good
    ALREADY_SUPPORTED = "already_supported"  # the bank or another supporter is already on it
    DATA_ERROR = "data_error"  # the sign comes from a wrong or misattributed record
    HEALTHY = "healthy"  # the reviewer knows the business and finds it sound
    OTHER = "other"  # anything else, described in the note


DISMISS_REASON_JA: dict[DismissReason, str] = {
    DismissReason.TEMPORARY: "一時的な要因",
    DismissReason.ALREADY_SUPPORTED: "既に対応中",
    DismissReason.DATA_ERROR: "データの誤り",
    DismissReason.HEALTHY: "事業は健全",
    DismissReason.OTHER: "その他（記述）",
}
# The coded reasons a move takes, by target state, with their Japanese labels.
REASON_CODES: dict[State, dict[str, str]] = {
    State.DISMISSED: {reason.value: label for reason, label in DISMISS_REASON_JA.items()},
}
# What the owner's consent may let the council read (signals/queue/consent.py applies them):
# code -> (Japanese, English). Here, below the schema, so that its upgrade step names them too.
CONSENT_CATEGORIES: dict[str, tuple[str, str]] = {
    "financials": ("財務", "Financials"),
    "repayment": ("返済状況", "Repayment"),
    "accounts": ("口座動向", "Account activity"),
    "signs": ("予兆と根拠", "Warning signs and their evidence"),
}
# Codes that say nothing by themselves: the note must describe the reason.
CODES_NEEDING_NOTE = frozenset({DismissReason.OTHER.value})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    note_required: bool = False  # a reason in the audit note
    reason_code_required: bool = False  # one of REASON_CODES[to_state], in the audit row
    snooze_until_required: bool = False
    consent_on_required: bool = False
    system: bool = False  # the nightly job may also make this move (waking a snoozed case)


_WORKING = (State.NEW, State.UNDER_REVIEW, State.CONSENT_OBTAINED)

TRANSITIONS: dict[tuple[State, State], Rule] = {
    (State.NEW, State.UNDER_REVIEW): Rule(REVIEWERS),
    (State.UNDER_REVIEW, State.CONSENT_OBTAINED): Rule(REVIEWERS, consent_on_required=True),
    (State.CONSENT_OBTAINED, State.REFERRED): Rule(REVIEWERS),
    (State.REFERRED, State.ACCEPTED): Rule(COUNCIL),
    (State.REFERRED, State.DECLINED): Rule(COUNCIL, note_required=True),
    # A dismissal is coded (REASON_CODES); its note is free text, required for その他.
    **{(s, State.DISMISSED): Rule(REVIEWERS, reason_code_required=True) for s in _WORKING},
    **{(s, State.SNOOZED): Rule(REVIEWERS, note_required=True, snooze_until_required=True) for s in _WORKING},
    (State.SNOOZED, State.UNDER_REVIEW): Rule(REVIEWERS, system=True),
}


def rule_for(from_state: State, to_state: State, role: Role | None) -> Rule:
    """The rule for a move, or the error that refuses it. role None is the nightly job."""
    rule = TRANSITIONS.get((from_state, to_state))
    if rule is None:
        raise IllegalTransition(
            f"illegal transition {from_state.value} → {to_state.value} "
            f"({STATE_JA[from_state]} → {STATE_JA[to_state]})"
        )
    if role is None:
        if not rule.system:
            raise Forbidden(f"the nightly job may not move a case {from_state.value} → {to_state.value}")
    elif role not in rule.roles:
        raise Forbidden(f"role {role.value} may not move a case {from_state.value} → {to_state.value}")
    return rule


def check_reason_code(rule: Rule, to_state: State, code: str | None, note: str | None) -> str | None:
    """The reason code a move records (None for a move without codes), or InvalidInput with a
    message a reviewer can act on: a dismissal needs one of the declared codes, and その他
    needs its description in the note."""
    code = (code or "").strip() or None
    codes = REASON_CODES.get(to_state, {})
    if code is None:
        if rule.reason_code_required:
            listed = " / ".join(f"{label} ({value})" for value, label in codes.items())
            raise InvalidInput(f"理由を選んでください: {listed} "
                               f"(a reason code is required to move a case to {to_state.value})")
        return None
    if code not in codes:
        if not codes:
            raise InvalidInput(f"a move to {to_state.value} takes no reason code")
        raise InvalidInput(f"理由コード {code!r} はありません: {', '.join(codes)} "
                           f"(unknown reason code for {to_state.value})")
    if code in CODES_NEEDING_NOTE and not (note or "").strip():
        raise InvalidInput(f"「{codes[code]}」を選んだときは理由を記述してください "
                           "(describe the reason in the note)")
    return code


def allowed_targets(from_state: State, role: Role) -> list[State]:
    """The states this role may move a case to from from_state (for the web app's buttons)."""
    return [to for (fr, to), rule in TRANSITIONS.items() if fr == from_state and role in rule.roles]
