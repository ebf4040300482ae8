"""The monthly review budget in apply_flags: new entries beyond it wait, ranked; re-applying a
night or the next month never opens more than the budget; a dismissal discounts the next
months' ranking; the waiting list is scoped like cases."""
from __future__ import annotations

from datetime import date

import polars as pl
import pytest
from sqlalchemy import func, select

from signals.budget import DISMISSAL_DISCOUNT
from signals.queue import CaseQuery, Forbidden, State
from signals.queue.schema import cases, review_budgets, waiting_entries
from signals.queue.watchlist import budget_status, waiting_page
from tests.signals.queue.conftest import AS_OF, BANK_A, BANK_B, CGA, flag_row

A, B, C = "7000012050002", "4000012090001", "1010001000006"
NOV, DEC = date(2026, 11, 30), date(2026, 12, 31)


def _bulk(n: int, *, budget: int, as_of: date = AS_OF, institutions: int = 1, offset: int = 0) -> pl.DataFrame:
    """n flagged businesses over `institutions` banks (round robin), each with `budget`; every
    seventh has a critical sign; priorities distinct and unrelated to the key order."""
    one = flag_row("9000000000000", as_of=as_of)
    banks = [f"bank_{1000 + i:04d}" for i in range(institutions)]
    i = pl.int_range(offset, offset + n, eager=True)
    bank = pl.Series([banks[k % institutions] for k in range(offset, offset + n)])
    frame = pl.DataFrame({
        "business_key": (i + 9_000_000_000_000).cast(pl.Utf8),
        "lead_institution_id": bank,
        "priority": ((i * 7919) % 100_003).cast(pl.Float64) / 100_003,
        "probability": ((i * 104_729) % 99_991).cast(pl.Float64) / 99_991,
        "critical_signs": pl.Series([["rep_dpd_90"] if k % 7 == 0 else [] for k in range(offset, offset + n)],
                                    dtype=pl.List(pl.Utf8)),
    }).with_columns(
        trigger=pl.when(pl.col("critical_signs").list.len() > 0).then(pl.lit("both")).otherwise(pl.lit("score")),
        institutions=pl.struct(institution_id=pl.col("lead_institution_id"), local_id=pl.col("business_key"))
        .implode().over(pl.col("business_key")),
    )
    constant = {k: v for k, v in one.items() if k not in frame.columns}
    frame = frame.with_columns(**{k: pl.lit(v) for k, v in constant.items()
                                  if k not in ("monitored", "monthly_budget", "evidence")},
                               monitored=pl.lit(budget * 100, dtype=pl.Int64),
                               monthly_budget=pl.lit(budget, dtype=pl.Int64),
                               evidence=pl.lit('{"signs": []}'))
    from signals.flags import SCHEMA
    return frame.select([pl.col(name).cast(dtype) for name, dtype in SCHEMA.items()])


def _ranking_order(frame: pl.DataFrame) -> list[str]:
    return (frame.with_columns(critical=pl.col("critical_signs").list.len() > 0)
            .sort(["critical", "priority", "probability", "business_key"], descending=[True, True, True, False])
            ["business_key"].to_list())


def _waiting(store, as_of: date) -> list[tuple[str, int, str]]:
    with store.engine.connect() as conn:
        return conn.execute(select(waiting_entries.c.business_key, waiting_entries.c.rank,
                                   waiting_entries.c.lead_institution_id)
                            .where(waiting_entries.c.as_of == as_of).order_by(waiting_entries.c.rank)).tuples().all()


def test_a_budget_of_30_opens_30_and_keeps_the_rest_ranked(store, people):
    frame = _bulk(5_000, budget=30)
    result = store.apply_flags(frame, AS_OF, 6)
    assert (result.opened, result.waiting) == (30, 4_970)
    [line] = result.budgets
    assert (line.institution_id, line.monitored, line.budget, line.opened, line.used, line.waiting) == (
        "bank_1000", 3_000, 30, 30, 30, 4_970)
    order = _ranking_order(frame)
    opened = {c.business_key for c in store.all_cases(people.admin)}
    assert opened == set(order[:30])
    # critical-sign entries first: 715 of the 5,000 have one, so all 30 opened have one
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(cases).where(cases.c.trigger == "both")).scalar_one() == 30
        assert conn.execute(select(cases.c.budget_institution_id).distinct()).scalars().all() == ["bank_1000"]
    waiting = _waiting(store, AS_OF)
    assert [rank for _, rank, _ in waiting] == list(range(1, 4_971))
    assert [key for key, _, _ in waiting] == order[30:]

    # The same night again opens nothing and stores the same list.
    again = store.apply_flags(frame, AS_OF, 6)
    assert (again.opened, again.unchanged, again.waiting) == (0, 30, 4_970)
    assert _waiting(store, AS_OF) == waiting

    # The next month: the 30 open cases get their update; at most 30 new ones open, the best
    # of those still waiting.
    nov = frame.with_columns(as_of=pl.lit(NOV))
    result = store.apply_flags(nov, NOV, 6)
    assert (result.opened, result.updated, result.waiting) == (30, 30, 4_940)
    assert {c.business_key for c in store.all_cases(people.admin, CaseQuery(states=(State.NEW,)))} == set(order[:60])
    assert len(_waiting(store, AS_OF)) == 4_970  # an earlier night's list is kept as it was


def test_a_night_earlier_in_the_same_month_counts_against_its_budget(store, people):
    mid = date(2026, 10, 15)
    assert store.apply_flags(_bulk(50, budget=10, as_of=mid), mid, 6).opened == 10
    result = store.apply_flags(_bulk(50, budget=10, offset=50), AS_OF, 6)
    assert (result.opened, result.waiting) == (0, 50)
    assert result.budgets[0].used == 10


def test_no_more_than_the_sum_of_budgets_over_many_institutions(store, people):
    frame = _bulk(12_000, budget=40, institutions=10)
    result = store.apply_flags(frame, AS_OF, 6)
    assert result.opened == 400 and result.waiting == 11_600
    assert {line.institution_id: (line.opened, line.waiting) for line in result.budgets} == {
        f"bank_{1000 + i:04d}": (40, 1_160) for i in range(10)}
    waiting = pl.DataFrame(_waiting(store, AS_OF), schema=["business_key", "rank", "lead"], orient="row")
    assert waiting.group_by("lead").agg(pl.col("rank").sort()).sort("lead")["rank"].to_list() == [
        list(range(1, 1_161))] * 10
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(review_budgets)).scalar_one() == 10


@pytest.mark.slow
def test_150000_flagged_rows_over_10_institutions_open_no_more_than_the_budgets(store, people, queue_url):
    if not queue_url.startswith("sqlite"):
        pytest.skip("one backend is enough for the volume")
    frame = _bulk(150_000, budget=225, institutions=10)
    result = store.apply_flags(frame, AS_OF, 6)
    assert (result.opened, result.waiting) == (2_250, 147_750)
    nov = frame.with_columns(as_of=pl.lit(NOV))
    result = store.apply_flags(nov, NOV, 6)
    assert (result.opened, result.updated) == (2_250, 2_250)
    assert sum(line.used for line in result.budgets) <= 10 * 225


def test_a_business_without_a_lead_institution_waits(store, people, make_flags):
    frame = make_flags(make_flags.row(A, institutions=[]), B)
    result = store.apply_flags(frame, AS_OF, 6)
    assert (result.opened, result.waiting) == (1, 1)
    assert _waiting(store, AS_OF) == [(A, 1, None)]


def _dismiss(store, work, people, key: str, **row) -> None:
    ids = work.open(flags(key, **row))
    work.move(ids[key], State.DISMISSED)


def flags(*rows, as_of: date = AS_OF, budget: int = 1, **common) -> pl.DataFrame:
    from tests.signals.queue.conftest import flags_frame
    items = [flag_row(r, **common) if isinstance(r, str) else r for r in rows]
    frame = flags_frame(*items).with_columns(as_of=pl.lit(as_of), monthly_budget=pl.lit(budget, dtype=pl.Int64))
    return frame


def test_a_dismissed_business_reenters_with_half_its_priority(store, people, work):
    _dismiss(store, work, people, A, probability=0.20, priority=0.5)
    # Flagged again (no cool-down here): A's 0.5 counts 0.25, below B's 0.3; B takes the one place.
    result = store.apply_flags(flags(flag_row(A, priority=0.5, probability=0.25, as_of=DEC),
                                     flag_row(B, priority=0.3, probability=0.25, as_of=DEC), as_of=DEC), DEC, 0)
    assert (result.opened, result.waiting) == (1, 1)
    assert [c.business_key for c in store.all_cases(people.admin, CaseQuery(states=(State.NEW,)))] == [B]
    with store.engine.connect() as conn:
        row = conn.execute(select(waiting_entries).where(waiting_entries.c.as_of == DEC)).one()
    assert (row.business_key, row.rank, row.dismissal_discount) == (A, 1, True)
    assert row.ranking_priority == pytest.approx(0.5 * DISMISSAL_DISCOUNT) and row.priority == pytest.approx(0.5)


@pytest.mark.parametrize("change", ["probability", "sign"])
def test_a_dismissed_business_whose_risk_changed_is_ranked_in_full(store, people, work, change):
    _dismiss(store, work, people, A, probability=0.20, priority=0.5, critical_signs=["rep_dpd_90"])
    again = (dict(probability=0.31, critical_signs=["rep_dpd_90"]) if change == "probability"  # > 1.5 x 0.20
             else dict(probability=0.20, critical_signs=["rep_dpd_90", "acc_tax_stopped"]))
    result = store.apply_flags(flags(flag_row(A, priority=0.5, as_of=DEC, **again),
                                     flag_row(B, priority=0.3, as_of=DEC, critical_signs=["rep_dpd_90"]),
                                     as_of=DEC), DEC, 0)
    assert result.opened == 1
    assert [c.business_key for c in store.all_cases(people.admin, CaseQuery(states=(State.NEW,)))] == [A]
    assert [key for key, _, _ in _waiting(store, DEC)] == [B]


def test_a_dismissal_more_than_24_months_old_no_longer_counts(store, people, work, clock):
    _dismiss(store, work, people, A, probability=0.20, priority=0.5)  # dismissed 2026-11-24
    later = date(2028, 11, 30)
    clock.set_day(date(2028, 12, 10))
    result = store.apply_flags(flags(flag_row(A, priority=0.5, as_of=later), flag_row(B, priority=0.3, as_of=later),
                                     as_of=later), later, 0)
    assert result.opened == 1
    assert [c.business_key for c in store.all_cases(people.admin, CaseQuery(states=(State.NEW,)))] == [A]


def test_waiting_entries_are_seen_by_their_lead_institution_only(store, people):
    frame = flags(*(flag_row(f"{7000000000000 + i}", priority=i / 10, institutions=[(BANK_A, f"A-{i}")])
                    for i in range(5)),
                  *(flag_row(f"{8000000000000 + i}", priority=i / 10, institutions=[(CGA, f"G-{i}"), (BANK_B, "x")])
                    for i in range(3)), budget=1)
    store.apply_flags(frame, AS_OF, 6)
    mine = waiting_page(store, people.bank_a, page_size=2)
    assert (mine.total, mine.pages, mine.as_of) == (4, 2, AS_OF)
    assert [(e.rank, e.business_key, e.lead_local_id) for e in mine.items] == [
        (1, "7000000000003", "A-3"), (2, "7000000000002", "A-2")]
    assert [e.rank for e in waiting_page(store, people.bank_a, page=2, page_size=2).items] == [3, 4]
    assert waiting_page(store, people.cga, page_size=10).total == 2
    assert waiting_page(store, people.bank_b).total == 0  # shares a business, does not lead it
    for outsider in (people.council, people.admin):
        with pytest.raises(Forbidden):
            waiting_page(store, outsider)
    assert budget_status(store, people.council) is None
    status = budget_status(store, people.bank_a)
    assert (status.as_of, status.budget, status.opened, status.waiting) == (AS_OF, 1, 1, 4)
    assert budget_status(store, people.bank_b) is None  # leads nothing: no budget set for it
    total = budget_status(store, people.admin)
    assert (total.budget, total.opened, total.waiting) == (2, 2, 6)  # counts only


def test_the_waiting_list_shown_is_the_latest_nights(store, people):
    store.apply_flags(flags(*(flag_row(f"{7000000000000 + i}", priority=i / 10) for i in range(4)), budget=1),
                      AS_OF, 6)
    assert waiting_page(store, people.bank_a).total == 3
    # November: bank A's three waiting businesses all fit its budget; the association leads a new one
    nov = flags(*(flag_row(f"{7000000000000 + i}", priority=i / 10, as_of=NOV) for i in range(4)),
                flag_row("8000000000001", as_of=NOV, institutions=[(CGA, "G-1")]), as_of=NOV, budget=3)
    result = store.apply_flags(nov, NOV, 6)
    assert (result.opened, result.waiting) == (4, 0)
    page = waiting_page(store, people.bank_a)
    assert (page.as_of, page.total, page.items) == (NOV, 0, [])  # not October's list
    status = budget_status(store, people.bank_a)
    assert (status.as_of, status.budget, status.opened, status.waiting) == (NOV, 3, 3, 0)
    # November: no flagged business led by bank B, so no budget line for it
    assert budget_status(store, people.bank_b) is None
