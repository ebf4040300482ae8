"""The flag policy on hand-worked histories, then flags_as_of on the generated portfolio.

Defaults throughout: a critical sign or band high (10%) or above enters; a flag is released
after release_months = 3 consecutive scanned months below watch (3%) with no critical sign.
M[0] .. M[8] are the month-ends January to September 2025.
"""
from __future__ import annotations

import json
import shutil
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from features.scan import month_ends, scan
from models.registry import Registry
from models.score import score
from signals.flags import SCHEMA, TRIGGERS, MissingScores, flags_as_of, routing_facts
from signals.phases import PHASES
from tests.conftest import LAST_SCAN
from tests.signals import A, B, Book, C, M
from yocho.contract import FEEDS
from yocho.settings import Settings, SignalSettings
from yocho.warehouse import pit
from yocho.warehouse.db import warehouse


def _known(book: Book, *keys: str) -> Book:
    for i, key in enumerate(keys):
        book.know(key, "bank_0116", f"L{i}", date(2024, 12, 1))
    return book


def test_enters_on_a_critical_sign_whatever_the_score():
    book = _known(Book(), A, B, C)
    book.month(M[0], {A: "low", B: "low", C: "watch"},
               {A: ["rep_dpd_90", "fin_operating_loss"], B: ["acc_failed_debits", "rep_restructured"], C: []})
    flagged = book.flagged(M[0])
    # high signs that are not critical (B: failed debits, a restructuring) or a watch band (C) alone
    # do not open a case: failed debits are followed by an event less often than the high band is
    assert set(flagged) == {A}
    row = flagged[A]
    assert row["trigger"] == "critical_sign"
    assert row["critical_signs"] == ["rep_dpd_90"]
    assert row["band"] == "low" and row["first_sign_on"] == M[0] and row["as_of"] == M[0]


def test_enters_on_the_flag_band_or_above():
    book = _known(Book(), A, B, C)
    book.month(M[0], {A: "high", B: "watch", C: "very_high"}, {B: ["acc_failed_debits"], C: ["rep_dpd_30"]})
    flagged = book.flagged(M[0])
    assert set(flagged) == {A, C}
    assert flagged[A]["trigger"] == "score" and flagged[A]["critical_signs"] == []
    assert flagged[C]["trigger"] == "both" and flagged[C]["critical_signs"] == ["rep_dpd_30"]
    # the band that opens a case is a setting
    strict = Settings(duckdb_memory_limit="1GB", signals=SignalSettings(flag_band="very_high"))
    assert set(book.flagged(M[0], strict)) == {C}


def test_stays_flagged_through_a_dip_and_is_released_after_release_months():
    book = _known(Book(), A)
    # high, low, low, watch (not calm: the calm run starts again), low, low, low
    for month, band_name in zip(M[:7], ["high", "low", "low", "watch", "low", "low", "low"], strict=True):
        book.month(month, {A: band_name})
    held = {m: A in book.flagged(m) for m in M[:7]}
    assert held == {M[0]: True, M[1]: True, M[2]: True, M[3]: True, M[4]: True, M[5]: True, M[6]: False}
    row = book.flagged(M[2])[A]
    assert row["band"] == "low" and row["trigger"] == "score"   # what opened the case
    assert row["first_sign_on"] == M[0]                       # the last troubled run: January alone
    # a shorter release period releases earlier
    quick = Settings(duckdb_memory_limit="1GB", signals=SignalSettings(release_months=2))
    assert A in book.flagged(M[1], quick) and A not in book.flagged(M[2], quick)


def test_a_critical_sign_in_a_low_month_keeps_the_flag_and_can_reopen_it():
    book = _known(Book(), A)
    book.month(M[0], {A: "very_high"})
    book.month(M[1], {A: "low"}).month(M[2], {A: "low"}, {A: ["acc_tax_stopped"]})
    book.month(M[3], {A: "low"}).month(M[4], {A: "low"}).month(M[5], {A: "low"})
    assert A in book.flagged(M[4])           # the critical month is an entry: calm since then only 2 months
    row = book.flagged(M[2])[A]
    assert row["trigger"] == "critical_sign" and row["critical_signs"] == ["acc_tax_stopped"]
    assert A not in book.flagged(M[5])


def test_first_sign_on_is_the_start_of_the_current_troubled_run():
    book = _known(Book(), A)
    book.month(M[0], {A: "watch"}).month(M[1], {A: "low"})
    book.month(M[2], {A: "watch"}).month(M[3], {A: "low"}, {A: ["acc_failed_debits"]})  # a high sign is trouble too
    book.month(M[4], {A: "high"})
    assert book.flagged(M[4])[A]["first_sign_on"] == M[2]


def test_a_month_after_as_of_never_changes_the_result():
    book = _known(Book(), A, B)
    book.month(M[0], {A: "high", B: "low"}).month(M[1], {A: "low", B: "low"}, {B: ["rep_dpd_90"]})
    before = book.flags(M[1])
    # later months, a late-arriving institution and rows received after the date
    book.month(M[2], {A: "low", B: "very_high"}, {A: ["acc_failed_debits"]}).month(M[3], {A: "low", B: "low"})
    book.know(A, "bank_0117", "LATE", date(2025, 3, 5))
    book.add("loans", "bank_0116", dict(loan_id="X", local_id="L0", corporate_number=A, month=date(2025, 2, 1),
                                        balance_jpy=9, scheduled_jpy=1, paid_jpy=0, days_past_due=95,
                                        restructured=True, received_on=date(2025, 3, 10)))
    assert_frame_equal(book.flags(M[1]), before)
    assert set(before["business_key"]) == {A, B}


def test_one_row_per_business_with_every_institution_that_knows_it():
    book = Book()
    book.know(A, "bank_0116", "0116-A", date(2024, 12, 1)).know(A, "bank_0117", "0117-A", date(2025, 1, 10))
    book.know(A, "cga_13", "G-A", date(2025, 1, 20)).know(A, "bank_0116", "0116-A2", date(2025, 1, 5))
    book.know(A, "bank_0118", "0118-A", date(2025, 2, 3))  # known only after the date
    book.know("bank_0119:S1", "bank_0119", "S1", date(2025, 1, 3))  # a sole proprietor: no 法人番号
    book.month(M[0], {A: "very_high", "bank_0119:S1": "high"})
    frame = book.flags(M[0])
    assert frame.height == 2 and frame["business_key"].n_unique() == 2
    rows = {r["business_key"]: r for r in frame.iter_rows(named=True)}
    assert rows[A]["institutions"] == [
        {"institution_id": "bank_0116", "local_id": "0116-A"}, {"institution_id": "bank_0116", "local_id": "0116-A2"},
        {"institution_id": "bank_0117", "local_id": "0117-A"}, {"institution_id": "cga_13", "local_id": "G-A"}]
    assert rows["bank_0119:S1"]["institutions"] == [{"institution_id": "bank_0119", "local_id": "S1"}]


def test_in_event_businesses_are_flagged_and_routed_late():
    book = _known(Book(), A)
    book.score(A, M[0], "very_high", in_event=True).sign(A, M[0], "rep_dpd_30")
    row = book.flagged(M[0])[A]
    assert row["in_event"] and row["phase"] in ("revitalisation", "rechallenge")


def test_the_frame_has_exactly_the_agreed_columns_even_when_empty():
    book = _known(Book(), A)
    book.month(M[0], {A: "low"})
    frame = book.flags(M[0])
    assert frame.is_empty() and frame.schema == pl.Schema(SCHEMA)
    book.month(M[1], {A: "high"})
    assert book.flags(M[1]).schema == pl.Schema(SCHEMA)


def test_refuses_a_date_without_scores_and_inconsistent_settings():
    book = _known(Book(), A)
    book.month(M[0], {A: "high"})
    with pytest.raises(MissingScores):
        book.flags(M[1])
    with pytest.raises(ValueError, match="release_band"):
        book.flags(M[0], Settings(signals=SignalSettings(flag_band="watch", release_band="high")))
    with pytest.raises(ValueError, match="critical_signs"):
        book.flags(M[0], Settings(signals=SignalSettings(critical_signs=("rep_dpd_9O",))))


# --- the generated portfolio ---------------------------------------------------------------

@pytest.fixture(scope="module")
def portfolio(trained, tmp_path_factory):
    """The trained warehouse, copied, scored at the last 12 month-ends; flags as of the last."""
    settings = trained.settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("flags")})
    shutil.copy(trained.settings.warehouse_path, settings.warehouse_path)
    shutil.copytree(trained.settings.models_dir, settings.models_dir)
    with warehouse(settings) as con:
        score(con, Registry(settings.models_dir), month_ends(LAST_SCAN, 12), settings.models)
        flags = flags_as_of(con, LAST_SCAN, settings)
    return settings, flags


def test_generated_portfolio_flags_are_sensible(portfolio):
    settings, flags = portfolio
    with warehouse(settings, read_only=True) as con:
        scored = con.execute("SELECT count(*) FROM risk_scores WHERE as_of = ?", [LAST_SCAN]).fetchone()[0]
        entering = {k for (k,) in con.execute(
            """SELECT business_key FROM risk_scores WHERE as_of = $d AND band IN ('high', 'very_high')
               UNION SELECT business_key FROM indicator_values WHERE as_of = $d AND fired AND indicator_id IN $ids""",
            {"d": LAST_SCAN, "ids": list(settings.signals.critical_signs)}).fetchall()}
    counts = flags.group_by("phase", "trigger").len().sort("phase", "trigger")
    print(f"\n{flags.height} of {scored} businesses flagged as of {LAST_SCAN}\n{counts}")
    assert flags.schema == pl.Schema(SCHEMA)
    assert 0.01 * scored < flags.height < 0.3 * scored
    assert flags["business_key"].is_unique().all()
    assert entering <= set(flags["business_key"])           # everyone meeting the entry rule is in
    assert set(flags["phase"]) <= set(PHASES) and set(flags["trigger"]) <= set(TRIGGERS)
    assert flags["phase_reason_ja"].str.len_chars().min() > 0 and flags["phase_reason_en"].str.len_chars().min() > 0
    assert flags["institutions"].list.len().min() >= 1
    assert (flags["first_sign_on"] <= LAST_SCAN).all() and flags["first_sign_on"].null_count() == 0
    # the lead institution is one of the business's institutions, ranks run 1..n within it
    assert flags.select(pl.col("lead_institution_id").is_in(
        pl.col("institutions").list.eval(pl.element().struct.field("institution_id")).explode()).all()).item()
    ranks = flags.group_by("lead_institution_id").agg(pl.col("priority_rank").sort(), pl.len())
    for row in ranks.iter_rows(named=True):
        assert row["priority_rank"] == list(range(1, row["len"] + 1))
    # a critical sign firing at the date is an entry that month, so it is the trigger
    critical_now = flags.filter(pl.col("critical_signs").list.len() > 0)
    assert critical_now.height > 0 and set(critical_now["trigger"]) <= {"critical_sign", "both"}
    assert set(critical_now["critical_signs"].explode()) <= set(settings.signals.critical_signs)
    high_now = flags.filter(pl.col("band").is_in(["high", "very_high"]))
    assert high_now.height > 0 and set(high_now["trigger"]) <= {"score", "both"}
    for text in flags["evidence"]:
        assert json.loads(text)["as_of"] == LAST_SCAN.isoformat()


def _as_of(con, t: date, settings: Settings) -> dict[str, pl.DataFrame]:
    flags = flags_as_of(con, t, settings)
    return {
        "flags": flags,
        "routing": routing_facts(con, t, flags).sort("business_key"),
        "scores": con.execute("SELECT business_key, probability, band, portfolio_rank, in_event, top_factors "
                              "FROM risk_scores WHERE as_of = ? ORDER BY business_key", [t]).pl(),
        "identity": con.execute("SELECT institution_id, local_id, business_key FROM business_identity").pl(),
    }


def test_generated_portfolio_flags_as_of_a_past_date_ignore_everything_after_it(portfolio, tmp_path):
    """Scores, flags and routing facts as of September on two copies of the warehouse: one with
    October in it, and one holding only what was received by September (every later row
    deleted, the point-in-time layer rebuilt from what is left). September is scanned and
    scored again on both, by the same code; the earlier months are the history the flags read.
    The same frames."""
    settings, _ = portfolio
    t = date(2026, 9, 30)
    copies = {name: settings.model_copy(update={"data_dir": tmp_path / name}) for name in ("full", "cut")}
    got = {}
    for name, copy in copies.items():
        copy.data_dir.mkdir()
        shutil.copy(settings.warehouse_path, copy.warehouse_path)
        with warehouse(copy) as con:
            con.execute("DELETE FROM risk_scores WHERE as_of >= ?", [t])
            con.execute("DELETE FROM indicator_values WHERE as_of >= ?", [t])
            if name == "cut":
                later = sum(con.execute(f"SELECT count(*) FROM {f.table} WHERE received_on > ?", [t]).fetchone()[0]
                            for f in FEEDS.values())
                assert later > 1_000  # October's deliveries: the test means something only if much arrives after T
                for feed in FEEDS.values():
                    con.execute(f"DELETE FROM {feed.table} WHERE received_on > ?", [t])
                pit.rebuild(con)  # valid_to, the identity and the activity are derived from the rows
            scan(con, [t], copy.features)
            score(con, Registry(settings.models_dir), [t], copy.models)
            got[name] = _as_of(con, t, copy)
    full, without = got["full"], got["cut"]
    # The identity is the one thing not kept as of a date (a 法人番号 learnt later joins the earlier
    # rows too): the test needs every customer number known by T keyed the same in both.
    rekeyed = full["identity"].join(without["identity"], on=["institution_id", "local_id"], suffix="_cut").filter(
        pl.col("business_key") != pl.col("business_key_cut"))
    assert rekeyed.is_empty(), rekeyed
    assert full["flags"].height > 0 and full["routing"].height == full["flags"].height
    assert full["routing"]["operating_cf_jpy"].null_count() < full["routing"].height
    for name in ("scores", "flags", "routing"):
        assert_frame_equal(full[name], without[name], check_exact=False, rel_tol=1e-9)


def test_evidence_built_in_small_batches_is_the_same(portfolio, monkeypatch):
    """Evidence documents are built a batch of flagged businesses at a time (bounded memory
    at national scale); the batch size must not change a single document."""
    settings, flags = portfolio
    monkeypatch.setattr("signals.evidence.SNAPSHOT_BATCH", 7)
    with warehouse(settings, read_only=True) as con:
        again = flags_as_of(con, LAST_SCAN, settings)
    assert flags.height > 5 * 7  # many batches
    assert_frame_equal(again, flags)


def test_a_self_declared_business_row_makes_no_institution_of_the_case():
    """One `business` row carrying another bank's borrower's 法人番号 (or a statement, or an
    observation) does not put the sender among the case's institutions; a loan or an account
    (a bank) or a guarantee (an association) does."""
    book = Book()
    book.know(A, "bank_0116", "0116-A", date(2024, 12, 1))
    book.know(A, "bank_0666", "SPY-1", date(2024, 12, 2), relationship=False)
    book.add("observations", "bank_0666", dict(observation_id="O1", local_id="SPY-1", corporate_number=A,
                                               observed_on=date(2024, 12, 3), code="litigation",
                                               received_on=date(2024, 12, 3)))
    book.know(A, "cga_99", "G-SPY", date(2024, 12, 2), relationship=False)
    book.know(A, "cga_13", "G-A", date(2024, 12, 5))
    book.add("loans", "bank_0117", dict(loan_id="L7", local_id="0117-A", corporate_number=A,
                                        month=date(2024, 12, 1), balance_jpy=5, scheduled_jpy=1, paid_jpy=1,
                                        days_past_due=0, restructured=False, received_on=date(2024, 12, 20)))
    book.month(M[0], {A: "very_high"})
    row = book.flagged(M[0])[A]
    assert row["institutions"] == [
        {"institution_id": "bank_0116", "local_id": "0116-A"}, {"institution_id": "bank_0117", "local_id": "0117-A"},
        {"institution_id": "cga_13", "local_id": "G-A"}]
    assert row["lead_institution_id"] == "bank_0117"


def test_flags_leave_nothing_on_the_connection():
    """Each step gets its inputs as arguments: no temp table or registered frame is left behind
    (nor expected from an earlier step)."""
    book = _known(Book(), A, B)
    book.month(M[0], {A: "very_high", B: "low"}, {B: ["rep_dpd_90"]})

    def relations() -> set[str]:
        return {name for (name,) in book.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary "
            "UNION ALL SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal").fetchall()}

    before = relations()
    assert set(book.flagged(M[0])) == {A, B}
    assert relations() == before
