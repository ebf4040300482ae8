"""The demo's document requests (yocho/demo_documents.py) on a queue seeded like the demo's."""
from __future__ import annotations

from signals.queue.documents import case_requests, requested_of_me
from tests.signals.queue.conftest import BANK_A, BANK_B, CGA
from yocho.demo_documents import request_demo_documents


def test_the_demo_asks_banks_for_documents_on_the_associations_cases(store, people, work, make_flags):
    work.open(make_flags(
        *(make_flags.row(f"70000{n}000000{n}", institutions=[(CGA, f"G-{n}"), (BANK_A, f"A-{n}")], priority=0.9 - n / 10)
          for n in range(1, 5)),
        make_flags.row("7000090000009", institutions=[(BANK_B, "B-9"), (CGA, "G-9")]),  # bank B leads
    ))
    made = request_demo_documents(store)
    assert len(made) == 3 and {r.lead for r in made} == {CGA} and {r.asked for r in made} == {BANK_A}
    assert [(r.received, r.outstanding, r.overdue) for r in made] == [(0, 2, 2), (1, 1, 0), (2, 0, 0)]
    states = {r.case_id: sorted((q.status, q.overdue) for q in case_requests(store, people.cga, r.case_id))
              for r in made}
    assert [states[r.case_id] for r in made] == [
        [("requested", True)] * 2, [("received", False), ("requested", False)], [("received", False)] * 2]
    assert sorted(r.overdue for r in requested_of_me(store, people.bank_a)) == [False, True, True]
    assert requested_of_me(store, people.bank_b) == []
