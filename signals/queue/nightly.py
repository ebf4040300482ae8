"""What the nightly job does to the queue: bring a night's flags into cases, and wake snoozed
cases.

`flag_rows` checks the flags frame (signals.flags.flags_as_of) before any transaction;
`apply` then upserts cases, snapshots, institutions, the watch list and the review budgets
on the connection it is handed, in batches of keys for the IN lists. The store owns the
transaction and wakes snoozed cases in it afterwards, so a whole night lands or nothing does.
The audit rows written here name the `SYSTEM` actor: no person made these moves.
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection, bindparam, delete, insert, select, text, update

from signals.phases import PHASES
from signals.queue.actors import ensure_institutions
from signals.queue.batches import CHUNK, chunks
from signals.queue.lifecycle import CLOSED_STATES, OPEN_STATES, InvalidInput, State, rule_for
from signals.queue.months import add_months
from signals.queue.schema import (
    OWNER_INSTITUTIONS,
    case_institutions,
    cases,
    evidence_snapshots,
    review_budgets,
    transitions,
    waiting_entries,
)
from signals.queue.scope import _values
from signals.queue.watchlist import CANDIDATE_SCHEMA, BudgetLine, Drawn, budgets_of, draw_the_line
from yocho.prefectures import is_prefecture

SYSTEM = "system"  # the actor name of the nightly job in the audit log

# The columns `signals.flags.flags_as_of` returns, and what apply_flags reads from them.
FLAG_COLUMNS = (
    "business_key", "as_of", "institutions", "trigger", "critical_signs", "probability", "band",
    "portfolio_share", "in_event", "phase", "phase_reason_ja", "phase_reason_en", "priority",
    "priority_rank", "lead_institution_id", "monitored", "monthly_budget", "first_sign_on", "evidence",
)
TRIGGERS = frozenset({"critical_sign", "score", "both"})


@dataclass(frozen=True)
class ApplyResult:
    opened: int = 0
    updated: int = 0  # open cases that received an update snapshot
    suppressed_by_cooldown: int = 0
    unchanged: int = 0  # open cases that already had this night's snapshot
    woken: int = 0  # snoozed cases woken (snooze over, or a new critical sign)
    waiting: int = 0  # new entries kept below the line of their lead institution's budget
    # Per lead institution, by institution id: a report beside the counts (results compare
    # by their counts alone).
    budgets: tuple[BudgetLine, ...] = field(default=(), compare=False)


# ---------------------------------------------------------------------------- flags input

@dataclass
class _Flag:
    business_key: str
    institutions: set[tuple[str, str]]
    values: dict[str, Any]  # case columns
    critical_signs: list[str]
    evidence: str


def _float(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _business_name(document: Any) -> str | None:
    """The trade name (商号) the evidence document carries (signals/sql/evidence.sql), if any."""
    name = document.get("business_name") if isinstance(document, dict) else None
    return (name.strip()[:200] or None) if isinstance(name, str) else None


def _prefecture(document: Any) -> int | None:
    """The business's prefecture code (1-47) the evidence document carries, if any."""
    code = document.get("prefecture_code") if isinstance(document, dict) else None
    return code if is_prefecture(code) else None


def _first_event(document: Any, as_of: date) -> dict[str, Any]:
    """first_event_on and events_as_of from the evidence document's `deterioration`
    (signals/sql/evidence.sql): the date of the business's first deterioration event as of the
    night (None: none), and the night, when the document says; nothing when it does not."""
    facts = document.get("deterioration") if isinstance(document, dict) else None
    if not isinstance(facts, dict):
        return {"first_event_on": None, "events_as_of": None}
    try:
        first = date.fromisoformat(str(facts["first_event_on"])[:10]) if facts.get("first_event_on") else None
    except ValueError:
        return {"first_event_on": None, "events_as_of": None}
    return {"first_event_on": first, "events_as_of": as_of}


def flag_rows(frame: pl.DataFrame, as_of: date) -> dict[str, _Flag]:
    missing = [c for c in FLAG_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInput(f"flags frame lacks columns: {', '.join(missing)}")
    flags: dict[str, _Flag] = {}
    for row in frame.select(FLAG_COLUMNS).iter_rows(named=True):
        key = (row["business_key"] or "").strip()
        if not key:
            raise InvalidInput("flags frame has a row without business_key")
        if row["as_of"] is not None and row["as_of"] != as_of:
            raise InvalidInput(f"flags row {key} is as of {row['as_of']}, not {as_of}")
        if row["phase"] not in PHASES:
            raise InvalidInput(f"flags row {key}: unknown phase {row['phase']!r}")
        if row["trigger"] not in TRIGGERS:
            raise InvalidInput(f"flags row {key}: unknown trigger {row['trigger']!r}")
        evidence = row["evidence"]
        try:
            document = json.loads(evidence)
        except (TypeError, ValueError) as exc:
            raise InvalidInput(f"flags row {key}: evidence is not JSON ({exc})") from None
        insts = {(i["institution_id"], str(i["local_id"])) for i in (row["institutions"] or [])
                 if i and i.get("institution_id") and i.get("local_id") is not None}
        signs = sorted(set(row["critical_signs"] or []))
        values = {
            "trigger": row["trigger"],
            "critical_signs": signs,
            "probability": _float(row["probability"]),
            "band": row["band"],
            "portfolio_share": _float(row["portfolio_share"]),
            "in_event": row["in_event"],
            "phase": row["phase"],
            "phase_reason_ja": row["phase_reason_ja"],
            "phase_reason_en": row["phase_reason_en"],
            "priority": _float(row["priority"]),
            "priority_rank": row["priority_rank"],
            "lead_institution_id": row["lead_institution_id"],
            "first_sign_on": row["first_sign_on"],
            "business_name": _business_name(document),
            "prefecture_code": _prefecture(document),
            **_first_event(document, as_of),
        }
        flag = _Flag(key, insts, values, signs, evidence)
        previous = flags.get(key)
        if previous is not None:
            # One row per business is the contract; if a source repeats a business, keep the
            # more urgent row and the union of institutions and signs.
            keep, other = (flag, previous) if (flag.values["priority"] or -math.inf) > (
                previous.values["priority"] or -math.inf) else (previous, flag)
            keep.institutions |= other.institutions
            keep.critical_signs = sorted(set(keep.critical_signs) | set(other.critical_signs))
            keep.values["critical_signs"] = keep.critical_signs
            firsts = [d for d in (keep.values["first_sign_on"], other.values["first_sign_on"]) if d]
            keep.values["first_sign_on"] = min(firsts) if firsts else None
            flag = keep
        flags[key] = flag
    return flags


def _candidates(rows: dict[str, _Flag], keys: list[str]) -> pl.DataFrame:
    """The new entries among the flags, as the frame signals/queue/watchlist.py ranks."""
    def lead_local(flag: _Flag) -> str | None:
        lead = flag.values["lead_institution_id"]
        return min((local for i, local in flag.institutions if i == lead), default=None)

    flags = [rows[k] for k in keys]
    columns: dict[str, list[Any]] = {
        name: [f.values[name] for f in flags]
        for name in CANDIDATE_SCHEMA if name not in ("business_key", "lead_local_id", "critical_signs")}
    return pl.DataFrame({"business_key": keys, "lead_local_id": [lead_local(f) for f in flags],
                         "critical_signs": [f.critical_signs for f in flags], **columns},
                        schema=CANDIDATE_SCHEMA)


# ---------------------------------------------------------------------------- applying a night

@dataclass(frozen=True)
class Applied:
    """What `apply` wrote, and the snoozed cases it found a new critical sign for: the store
    wakes those in the same transaction (wake), then the ones whose snooze is over."""
    opened: int
    updated: int
    suppressed: int
    unchanged: int
    drawn: Drawn
    wake_on_sign: dict[int, list[str]]  # case id -> the critical signs none of its snapshots had

    def sign_note(self, case_id: int) -> str:
        return "新たな重大予兆: " + ", ".join(self.wake_on_sign[case_id])

    def result(self, woken: int) -> ApplyResult:
        return ApplyResult(self.opened, self.updated, self.suppressed, self.unchanged, woken,
                           len(self.drawn.waiting_rows), self.drawn.lines)


def apply(conn: Connection, rows: dict[str, _Flag], flags: pl.DataFrame, as_of: date, cooldown_months: int,
          now: datetime) -> Applied:
    """Write the night's flags (checked by `flag_rows`) on `conn`; see QueueStore.apply_flags."""
    keys = sorted(rows)
    opened = updated = suppressed = unchanged = 0
    if conn.dialect.name == "postgresql":  # one nightly load at a time
        conn.execute(text("SELECT pg_advisory_xact_lock(7301736)"))
    inst_ids = {i for f in rows.values() for i, _ in f.institutions}
    inst_ids |= {f.values["lead_institution_id"] for f in rows.values() if f.values["lead_institution_id"]}
    ensure_institutions(conn, inst_ids)

    open_cases: dict[str, Any] = {}
    for chunk in chunks(keys):
        for r in conn.execute(select(
                cases.c.id, cases.c.business_key, cases.c.state, cases.c.version,
                cases.c.last_as_of, cases.c.first_sign_on, cases.c.first_event_on, cases.c.events_as_of)
                .where(cases.c.owner == OWNER_INSTITUTIONS,  # never a council-owned referral
                       cases.c.state.in_(_values(OPEN_STATES)), cases.c.business_key.in_(chunk))):
            open_cases[r.business_key] = r
    open_ids = sorted(r.id for r in open_cases.values())
    has_snapshot: set[int] = set()
    known_inst: set[tuple[int, str, str]] = set()
    for chunk in chunks(open_ids):
        has_snapshot.update(conn.execute(select(evidence_snapshots.c.case_id).where(
            evidence_snapshots.c.as_of == as_of, evidence_snapshots.c.case_id.in_(chunk))).scalars())
        known_inst.update(conn.execute(select(
            case_institutions.c.case_id, case_institutions.c.institution_id, case_institutions.c.local_id)
            .where(case_institutions.c.case_id.in_(chunk))).tuples())

    # Cooldown: the latest case of each remaining business closed within the window.
    candidates = [k for k in keys if k not in open_cases]
    closed_signs: dict[str, set[str]] = {}
    if cooldown_months > 0 and candidates:
        cutoff = add_months(as_of, -cooldown_months)
        latest: dict[str, tuple[date, int]] = {}
        for chunk in chunks(candidates):
            for r in conn.execute(select(cases.c.id, cases.c.business_key, cases.c.closed_on).where(
                    cases.c.owner == OWNER_INSTITUTIONS,
                    cases.c.state.in_(_values(CLOSED_STATES)), cases.c.closed_on > cutoff,
                    cases.c.business_key.in_(chunk))):
                if r.business_key not in latest or (r.closed_on, r.id) > latest[r.business_key]:
                    latest[r.business_key] = (r.closed_on, r.id)
        by_case = {case_id: key for key, (_, case_id) in latest.items()}
        closed_signs = {key: set() for key in latest}
        for chunk in chunks(sorted(by_case)):
            for r in conn.execute(select(evidence_snapshots.c.case_id, evidence_snapshots.c.critical_signs)
                                  .where(evidence_snapshots.c.kind == "initial",
                                         evidence_snapshots.c.case_id.in_(chunk))):
                closed_signs[by_case[r.case_id]] = set(r.critical_signs or [])
    entries = []
    for key in candidates:
        if key in closed_signs and not set(rows[key].critical_signs) - closed_signs[key]:
            suppressed += 1
        else:
            entries.append(key)
    drawn = draw_the_line(conn, budgets_of(flags), _candidates(rows, entries), as_of, now)
    to_open = drawn.to_open

    snapshot_rows: list[dict[str, Any]] = []
    inst_rows: list[dict[str, Any]] = []
    audit_rows: list[dict[str, Any]] = []

    def snapshot(case_id: int, flag: _Flag, kind: str) -> None:
        snapshot_rows.append({
            "case_id": case_id, "taken_at": now, "as_of": as_of, "kind": kind,
            "critical_signs": flag.critical_signs, "probability": flag.values["probability"],
            "band": flag.values["band"], "phase": flag.values["phase"], "evidence": flag.evidence,
        })

    def flush() -> None:
        """Write what has been collected so far, a chunk of rows per statement: the night's
        rows are never all in memory at once, and all of them commit in the caller's transaction."""
        for table, collected in ((evidence_snapshots, snapshot_rows), (case_institutions, inst_rows),
                                 (transitions, audit_rows)):
            for chunk in chunks(collected):
                conn.execute(insert(table), list(chunk))
            collected.clear()

    for chunk in chunks(to_open):
        new_rows = [{
            "business_key": key, "owner": OWNER_INSTITUTIONS, "state": State.NEW.value, "version": 1,
            **rows[key].values, "within_capacity": True,
            "budget_institution_id": rows[key].values["lead_institution_id"],
            "flagged_on": as_of, "last_as_of": as_of, "created_at": now, "updated_at": now,
        } for key in chunk]
        inserted = conn.execute(
            insert(cases).returning(cases.c.id, cases.c.business_key),  # keyed by business_key
            new_rows).all()
        for case_id, key in inserted:
            flag = rows[key]
            snapshot(case_id, flag, "initial")
            inst_rows += [{"case_id": case_id, "institution_id": i, "local_id": local, "added_on": as_of}
                          for i, local in sorted(flag.institutions)]
            audit_rows.append({"case_id": case_id, "at": now, "actor_user_id": None, "actor": SYSTEM,
                               "actor_role": None, "from_state": None, "to_state": State.NEW.value,
                               "note": f"flagged as of {as_of.isoformat()} ({flag.values['trigger']})"})
        opened += len(inserted)
        flush()

    # Snoozed cases with a critical sign none of their snapshots had (read before tonight's
    # snapshots are written below).
    snoozed = {case.id: key for key, case in open_cases.items()
               if case.state == State.SNOOZED.value and case.id not in has_snapshot
               and rows[key].critical_signs}
    seen_signs: dict[int, set[str]] = {case_id: set() for case_id in snoozed}
    for chunk in chunks(sorted(snoozed)):
        for r in conn.execute(select(evidence_snapshots.c.case_id, evidence_snapshots.c.critical_signs)
                              .where(evidence_snapshots.c.case_id.in_(chunk))):
            seen_signs[r.case_id] |= set(r.critical_signs or [])
    wake_on_sign = {case_id: sorted(set(rows[key].critical_signs) - seen_signs[case_id])
                    for case_id, key in snoozed.items()}
    wake_on_sign = {case_id: signs for case_id, signs in wake_on_sign.items() if signs}

    case_updates: list[dict[str, Any]] = []
    for key, case in open_cases.items():
        if case.id in has_snapshot:
            unchanged += 1
            continue
        flag = rows[key]
        snapshot(case.id, flag, "update")
        inst_rows += [{"case_id": case.id, "institution_id": i, "local_id": local, "added_on": as_of}
                      for i, local in sorted(flag.institutions) if (case.id, i, local) not in known_inst]
        if case.last_as_of is None or as_of > case.last_as_of:  # not for a late, older night
            values = dict(flag.values)
            firsts = [d for d in (case.first_sign_on, values["first_sign_on"]) if d]
            values["first_sign_on"] = min(firsts) if firsts else None
            # a deterioration event once reported stays the case's, unless a night reports an
            # earlier one; a night whose evidence does not say leaves what is known
            if values["events_as_of"] is None:
                values["first_event_on"], values["events_as_of"] = case.first_event_on, case.events_as_of
            else:
                events = [d for d in (case.first_event_on, values["first_event_on"]) if d]
                values["first_event_on"] = min(events) if events else None
            case_updates.append({"_id": case.id, **values, "last_as_of": as_of, "updated_at": now})
        updated += 1
        if len(snapshot_rows) >= CHUNK:
            flush()
    flush()


    for chunk in chunks(case_updates):
        conn.execute(update(cases).where(cases.c.id == bindparam("_id")), list(chunk))
    conn.execute(delete(waiting_entries).where(waiting_entries.c.as_of == as_of))
    for chunk in chunks(drawn.waiting_rows):
        conn.execute(insert(waiting_entries), list(chunk))
    conn.execute(delete(review_budgets).where(review_budgets.c.as_of == as_of))
    for chunk in chunks(drawn.budget_rows):
        conn.execute(insert(review_budgets), list(chunk))
    return Applied(opened, updated, suppressed, unchanged, drawn, wake_on_sign)


# ---------------------------------------------------------------------------- snoozes

def wake_due(conn: Connection, day: date, now: datetime) -> int:
    """Wake every snoozed case whose snooze is over by `day`."""
    due = sorted(conn.execute(select(cases.c.id).where(
        cases.c.state == State.SNOOZED.value, cases.c.snooze_until <= day)).scalars())
    return wake(conn, due, now, lambda _: f"snooze over ({day.isoformat()})")


def wake(conn: Connection, case_ids: Sequence[int], now: datetime, note: Callable[[int], str]) -> int:
    rule_for(State.SNOOZED, State.UNDER_REVIEW, None)  # the nightly job may do this
    woken: list[int] = []
    for chunk in chunks(case_ids):
        woken += conn.execute(
            update(cases).where(cases.c.id.in_(chunk), cases.c.state == State.SNOOZED.value)
            .values(state=State.UNDER_REVIEW.value, version=cases.c.version + 1, updated_at=now,
                    snooze_until=None, snooze_reason=None)
            .returning(cases.c.id)).scalars().all()
    if woken:
        conn.execute(insert(transitions), [{
            "case_id": case_id, "at": now, "actor_user_id": None, "actor": SYSTEM, "actor_role": None,
            "from_state": State.SNOOZED.value, "to_state": State.UNDER_REVIEW.value, "note": note(case_id),
        } for case_id in sorted(woken)])
    return len(woken)
