"""Who is still in the portfolio: the monitored universe of features.pit on hand-made rows.

A business is in the universe at T when a row about it was received by T, not every
institution that sent rows has an exit in force at T, and its latest row was received no
more than `inactive_after_months` (15) months before T. Outcome events and exits are never
rows of activity. Every expectation below is worked out by hand from the dates in the rows.
"""
from __future__ import annotations

from datetime import date

import pytest

from features import pit
from features.catalog import Family
from tests.features.tiny import Tiny

CN = "7000012050002"    # valid 法人番号s
CN2 = "5100012050002"


def _master(local_id: str, received: date, cn: str | None = CN) -> dict:
    return dict(local_id=local_id, corporate_number=cn, name="テスト商事", entity_type="corporation",
                jsic_division="E", prefecture_code=13, received_on=received)


def _exit(local_id: str, exited: date, received: date, kind: str = "repaid", cn: str | None = CN) -> dict:
    return dict(local_id=local_id, corporate_number=cn, exit_type=kind, exited_on=exited, received_on=received)


def _event(event_id: str, local_id: str, occurred: date, received: date, cn: str | None = CN) -> dict:
    return dict(event_id=event_id, local_id=local_id, corporate_number=cn, event_type="dpd90",
                occurred_on=occurred, received_on=received)


def _universe(tiny: Tiny, *as_of: date, shard: tuple[int, int] | None = None, **kwargs) -> set[tuple[str, date]]:
    pit.prepare(tiny.con, list(as_of), shard, **kwargs)
    return set(tiny.con.execute("SELECT business_key, as_of FROM universe").fetchall())


def test_a_business_leaves_from_its_exit_once_every_institution_has_exited():
    tiny = Tiny().add("business", "bank_0116", _master("A1", date(2024, 1, 10)))
    tiny.add("business", "cga_01", _master("G1", date(2024, 1, 15)))
    tiny.add("exits", "bank_0116", _exit("A1", date(2024, 3, 15), date(2024, 3, 20), "refinanced_elsewhere"))
    tiny.add("exits", "cga_01", _exit("G1", date(2024, 5, 10), date(2024, 5, 12), "closed"))
    dates = [date(2024, 2, 29), date(2024, 3, 31),   # both hold it; then the bank has left, not the association
             date(2024, 5, 10), date(2024, 5, 11),   # the association's exit happened but is not known yet
             date(2024, 5, 12), date(2024, 5, 31)]   # known on 05-12: nobody holds it any more
    got = _universe(tiny, *dates)
    assert sorted(d for _, d in got) == dates[:4]
    assert {k for k, _ in got} == {CN}


def test_an_exit_counts_from_exited_on_even_when_announced_earlier():
    tiny = Tiny().add("business", "bank_0116", _master("A1", date(2024, 1, 10)))
    tiny.add("exits", "bank_0116", _exit("A1", date(2024, 6, 30), date(2024, 6, 10)))
    got = _universe(tiny, date(2024, 6, 15), date(2024, 6, 29), date(2024, 6, 30))
    assert got == {(CN, date(2024, 6, 15)), (CN, date(2024, 6, 29))}


def test_an_exit_received_after_t_is_not_known_at_t():
    tiny = Tiny().add("business", "bank_0116", _master("A1", date(2024, 1, 10)))
    tiny.add("exits", "bank_0116", _exit("A1", date(2024, 3, 15), date(2024, 4, 20)))
    got = _universe(tiny, date(2024, 3, 31), date(2024, 4, 19), date(2024, 4, 20))
    assert got == {(CN, date(2024, 3, 31)), (CN, date(2024, 4, 19))}


def test_a_business_that_comes_back_re_enters_on_its_new_rows():
    # the last rows and the exit arrive in the same extract (04-10): the exit is in force;
    # a new master record on 2024-08-05 brings the business back
    tiny = Tiny().add("business", "bank_0116", _master("A1", date(2024, 1, 10)), _master("A1", date(2024, 4, 10)),
                      _master("A1", date(2024, 8, 5)))
    tiny.add("exits", "bank_0116", _exit("A1", date(2024, 3, 31), date(2024, 4, 10)))
    got = _universe(tiny, date(2024, 3, 31), date(2024, 4, 10), date(2024, 8, 4), date(2024, 8, 5), date(2024, 9, 30))
    assert got == {(CN, date(2024, 3, 31)), (CN, date(2024, 8, 5)), (CN, date(2024, 9, 30))}


def test_a_second_exit_after_coming_back_ends_it_again():
    tiny = Tiny().add("business", "bank_0116", _master("A1", date(2024, 1, 10)), _master("A1", date(2024, 8, 5)))
    tiny.add("exits", "bank_0116", _exit("A1", date(2024, 3, 31), date(2024, 4, 10)),
             _exit("A1", date(2024, 10, 31), date(2024, 11, 12), "closed"))
    got = _universe(tiny, date(2024, 4, 30), date(2024, 9, 30), date(2024, 11, 30))
    assert got == {(CN, date(2024, 9, 30))}


def test_inactive_after_fifteen_months_exactly_at_the_boundary():
    # T = 2024-03-31; 15 months before it is 2022-12-31: a row received that day still counts
    tiny = Tiny().add("business", "bank_0116", _master("A1", date(2022, 12, 31)))
    tiny.add("business", "bank_0117", _master("B1", date(2022, 12, 30), cn=CN2))
    T = date(2024, 3, 31)
    assert _universe(tiny, T) == {(CN, T)}
    assert _universe(tiny, date(2024, 3, 30)) == {(CN, date(2024, 3, 30)), (CN2, date(2024, 3, 30))}
    # the setting decides: 16 months keeps both, 12 months neither
    assert _universe(tiny, T, inactive_after_months=16) == {(CN, T), (CN2, T)}
    assert _universe(tiny, T, inactive_after_months=12) == set()
    with pytest.raises(ValueError):
        _universe(tiny, T, inactive_after_months=0)


def test_the_latest_row_of_any_institution_keeps_a_business_active():
    tiny = Tiny().add("business", "bank_0116", _master("A1", date(2022, 1, 10)))
    tiny.add("business", "cga_01", _master("G1", date(2023, 6, 1)))
    T = date(2024, 6, 30)  # 15 months back: 2023-03-30
    assert _universe(tiny, T) == {(CN, T)}
    assert _universe(tiny, date(2024, 9, 30)) == set()  # 2023-06-01 is 16 months before


def test_events_and_exits_are_not_activity():
    tiny = Tiny().add("business", "bank_0116", _master("A1", date(2022, 1, 10)))
    tiny.add("events", "bank_0116", _event("E1", "A1", date(2024, 5, 1), date(2024, 5, 20)))
    tiny.add("exits", "bank_0117", _exit("B1", date(2024, 5, 1), date(2024, 5, 20)))  # the bank never sent rows
    # businesses known only from an event, or only from an exit, are not monitored
    tiny.add("events", "cga_01", _event("E2", "G2", date(2024, 5, 1), date(2024, 5, 20), cn=CN2))
    tiny.add("exits", "bank_0119", _exit("C3", date(2024, 5, 1), date(2024, 5, 20), cn=None))
    T = date(2024, 6, 30)
    # CN's last row is from 2022-01-10: inactive although an event and an exit arrived in May
    assert _universe(tiny, T) == set()
    assert _universe(tiny, date(2023, 4, 10)) == {(CN, date(2023, 4, 10))}
    # nor do they make an institution one that knows the business
    assert set(tiny.con.execute("SELECT business_key, institution_id FROM known_by").fetchall()) == {
        (CN, "bank_0116")}


def test_an_exit_from_an_institution_that_never_sent_rows_changes_nothing():
    tiny = Tiny().add("business", "bank_0116", _master("A1", date(2024, 1, 10)))
    tiny.add("exits", "bank_0117", _exit("B1", date(2024, 2, 1), date(2024, 2, 5)))
    assert _universe(tiny, date(2024, 3, 31)) == {(CN, date(2024, 3, 31))}


def _portfolio() -> Tiny:
    """Twelve businesses, some leaving, some coming back, some going quiet."""
    tiny = Tiny()
    for i in range(12):
        local = f"S{i:02d}"
        rows = [_master(local, date(2023, 1 + i % 6, 10), cn=None)]
        if i % 3 == 0:
            rows.append(_master(local, date(2024, 5, 10), cn=None))
        tiny.add("business", "bank_0116", *rows)
        if i % 2 == 0:
            tiny.add("exits", "bank_0116", _exit(local, date(2024, 2, 28), date(2024, 3, 12), cn=None))
        if i % 4 == 1:
            tiny.add("business", "cga_01", _master(f"G{i:02d}", date(2023, 9, 1), cn=None))
    return tiny


def test_shards_together_are_the_full_universe():
    tiny = _portfolio()
    dates = [date(2024, 1, 31), date(2024, 3, 31), date(2024, 4, 30), date(2024, 6, 30)]
    full = _universe(tiny, *dates)
    shards = [_universe(tiny, *dates, shard=(i, 3)) for i in range(3)]
    assert sum(len(s) for s in shards) == len(full)
    assert set().union(*shards) == full
    # 01-31: all 12 + 3 association businesses; 03-31 and 04-30: the even S have left (exit known
    # 03-12), 6 + 3; 06-30 (15 months back: 2023-03-30): S01 and S07 (last row 2023-02-10) have gone
    # quiet, S00 and S06 came back on 05-10: S03 S05 S09 S11 S00 S06 + 3
    assert len(full) == 15 + 9 + 9 + 9
    assert ("bank_0116:S02", date(2024, 3, 31)) not in full     # exited, known on 03-12
    assert ("bank_0116:S00", date(2024, 6, 30)) in full         # came back on 05-10


def test_left_businesses_get_no_indicators_after_they_leave():
    tiny = Tiny().add("business", "bank_0116", _master("A1", date(2024, 1, 10)))
    tiny.add("business", "bank_0117", _master("B1", date(2024, 1, 10), cn=CN2))
    tiny.add("exits", "bank_0116", _exit("A1", date(2024, 3, 15), date(2024, 3, 20)))
    got = tiny.run(date(2024, 2, 29), date(2024, 3, 31), family=Family.QUALITATIVE)
    assert {(k, d) for k, d, _ in got} == {(CN, date(2024, 2, 29)), (CN2, date(2024, 2, 29)),
                                          (CN2, date(2024, 3, 31))}
