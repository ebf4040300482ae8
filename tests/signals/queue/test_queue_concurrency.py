"""Two reviewers moving the same case: the second gets a conflict, never a silent overwrite."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from signals.queue import Conflict, QueueStore, State
from signals.queue.schema import transitions

A = "7000012050002"


def test_a_stale_version_is_a_conflict_across_two_sessions(store, people, make_flags, work, queue_url, clock):
    case_id = work.open(make_flags(make_flags.row(A, institutions=[("bank_0116", "L1"), ("cga_13", "G1")])))[A]
    with QueueStore(queue_url, clock=clock, password_params=store.password_params) as other:
        seen_by_bank = store.get_case(people.bank_a, case_id)
        seen_by_cga = other.get_case(people.cga, case_id)
        assert seen_by_bank.version == seen_by_cga.version == 1
        store.transition(people.bank_a, case_id, State.UNDER_REVIEW, expected_version=seen_by_bank.version)
        with pytest.raises(Conflict, match="changed by someone else"):
            other.transition(people.cga, case_id, State.DISMISSED, expected_version=seen_by_cga.version,
                             note="対象外", reason_code="already_supported")
        case = other.get_case(people.cga, case_id)
    assert (case.state, case.version) == (State.UNDER_REVIEW, 2)
    assert [h.to_state for h in case.history] == [State.NEW, State.UNDER_REVIEW]


def test_simultaneous_moves_one_wins_one_conflicts(store, people, make_flags, work, queue_url, clock):
    case_id = work.open(make_flags(make_flags.row(A, institutions=[("bank_0116", "L1"), ("cga_13", "G1")])))[A]
    stores = [QueueStore(queue_url, clock=clock, password_params=store.password_params) for _ in range(2)]
    moves = [(people.bank_a, State.UNDER_REVIEW, None), (people.cga, State.DISMISSED, "重複")]
    barrier = threading.Barrier(2)
    outcomes: list[object] = [None, None]

    def act(i: int) -> None:
        user, target, note = moves[i]
        barrier.wait()
        try:
            code = "already_supported" if target is State.DISMISSED else None
            outcomes[i] = stores[i].transition(user, case_id, target, expected_version=1, note=note,
                                               reason_code=code).state
        except Conflict as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=act, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for s in stores:
        s.close()
    conflicts = [o for o in outcomes if isinstance(o, Conflict)]
    winners = [o for o in outcomes if isinstance(o, State)]
    assert len(conflicts) == 1 and len(winners) == 1
    case = store.get_case(people.admin, case_id)
    assert (case.state, case.version) == (winners[0], 2)
    with store.engine.connect() as conn:
        moved = conn.execute(select(transitions.c.to_state).where(transitions.c.case_id == case_id,
                                                                  transitions.c.from_state.is_not(None))).all()
    assert [m.to_state for m in moved] == [winners[0].value]
