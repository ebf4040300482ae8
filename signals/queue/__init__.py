"""The referral queue: flagged businesses become cases that banks and guarantee associations
review and, with the owner's consent, refer to the SME Revitalization Council.

    store = QueueStore.from_settings(settings)          # SQLite file or PostgreSQL
    store.apply_flags(flags_as_of(con, as_of, settings), as_of, settings.signals.cooldown_months)
    user = authenticate(store, "reviewer.bank_0116", password)
    page = store.list_cases(user, CaseQuery(states=(State.NEW,)))
    case = store.get_case(user, page.items[0].id)
    store.transition(user, case.id, State.UNDER_REVIEW, expected_version=case.version)

Every read and write takes the acting user and is scoped by its role (docs/queue.md).
"""
from signals.queue.auth import (
    DEFAULT_SCRYPT,
    AccountEvent,
    DemoUser,
    ScryptParams,
    authenticate,
    bootstrap_admin,
    change_password,
    change_role,
    create_user,
    disable_user,
    hash_password,
    list_account_events,
    list_users,
    load_user,
    open_session,
    record_account_event,
    revoke_session,
    seed_demo_users,
    session_user,
    verify_password,
)
from signals.queue.consent import ConsentRecord
from signals.queue.lifecycle import (
    CLOSED_STATES,
    COUNCIL_STATES,
    OPEN_STATES,
    ROLE_JA,
    ROUTE_JA,
    STATE_JA,
    TRANSITIONS,
    Conflict,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    QueueError,
    Role,
    Route,
    State,
    allowed_targets,
)
from signals.queue.store import (
    ApplyResult,
    AuditEntry,
    CaseDetail,
    CaseInstitution,
    CaseQuery,
    CaseSummary,
    Institution,
    Page,
    QueueStore,
    Snapshot,
    User,
)

__all__ = [
    "AccountEvent", "CLOSED_STATES", "COUNCIL_STATES", "DEFAULT_SCRYPT", "OPEN_STATES", "ROLE_JA", "ROUTE_JA", "STATE_JA",
    "TRANSITIONS", "ApplyResult", "AuditEntry", "CaseDetail", "CaseInstitution", "CaseQuery", "CaseSummary",
    "Conflict", "ConsentRecord", "DemoUser", "Forbidden", "IllegalTransition", "Institution", "InvalidInput", "NotFound", "Page",
    "QueueError", "QueueStore", "Role", "Route", "ScryptParams", "Snapshot", "State", "User", "allowed_targets",
    "authenticate", "bootstrap_admin", "change_password", "change_role", "create_user", "disable_user", "hash_password",
    "list_account_events", "list_users", "load_user", "open_session", "record_account_event", "revoke_session", "seed_demo_users", "session_user",
    "verify_password",
]
