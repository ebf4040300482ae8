"""Ingest from landing to warehouse: quarantine, idempotence, rejection, crash safety."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path

import pytest

from tests.landing_files import bad_corporate_number, corporate_number, write_csv
from yocho.ingest.landing import discover
from yocho.ingest.pipeline import ingest_files
from yocho.ingest.summary import summarise
from yocho.ingest.validate import known_bank_codes
from yocho.settings import Settings
from yocho.warehouse.db import warehouse

JA_HEADER = ["保証番号", "顧客番号", "法人番号", "金融機関コード", "対象年月", "保証残高", "保証状態", "受領日"]


def _good_rows(n: int, start: int = 100) -> list[list[object]]:
    return [
        [f"G{i}", f"C{i:04d}", corporate_number(i), "0116", "令和6年3月", f"{i * 1000:,}", "正常", "令和6年4月15日"]
        for i in range(start, start + n)
    ]


def _ingest(settings: Settings):
    files, misplaced = discover(settings.landing_dir, known_bank_codes())
    with warehouse(settings) as con:
        return ingest_files(con, files, settings, known_bank_codes()), misplaced


def _quarantine(settings: Settings) -> dict[int, list[tuple[str | None, str]]]:
    with warehouse(settings, read_only=True) as con:
        rows = con.execute(
            "SELECT source_row, column_name, reason FROM quarantine WHERE source_row IS NOT NULL"
        ).fetchall()
    out: dict[int, list[tuple[str | None, str]]] = {}
    for row, column, reason in rows:
        out.setdefault(row, []).append((column, reason))
    return out


@pytest.fixture
def permissive(settings: Settings) -> Settings:
    # The mixed-defects file below is mostly bad on purpose; keep it from being refused whole.
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"max_reject_ratio": 1.0})})


def test_each_bad_input_kind_is_quarantined_with_row_column_and_reason(permissive: Settings):
    rows = [
        ["G1", "C0001", corporate_number(1), "0116", "令和6年3月", "12,000,000", "正常", "令和6年4月15日"],  # 2
        ["G2", "C0002", "", "0117", "2024-03", "１２３，４５６", "延滞", "2024/4/15"],  # 3 full-width, fine
        ["G3", "C0003", bad_corporate_number(3), "0116", "2024-03", "1000", "正常", "2024-04-15"],  # 4
        ["G4", "C0004", corporate_number(4), "9998", "2024-03", "1000", "正常", "2024-04-15"],  # 5
        ["G5", "C0005", corporate_number(5), "0116", "2024-13", "1000", "正常", "2024-04-15"],  # 6
        ["G6", "C0006", corporate_number(6), "0116", "2024-03", "1000", "正常", "2027-01-01"],  # 7
        ["G7", "C0007", corporate_number(7), "0116", "2024-03", "△5,000", "正常", "2024-04-15"],  # 8
        ["G8", "C0008", corporate_number(8), "0116", "2024-03", "1000", "謎", "2024-04-15"],  # 9
        ["G9", "", corporate_number(9), "0116", "2024-03", "1000", "正常", "2024-04-15"],  # 10
        ["G1", "C0001", corporate_number(1), "0116", "2024-03", "1", "正常", "R6.4.15"],  # 11 duplicates row 2
    ]
    path = permissive.landing_dir / "cga_13" / "guarantees" / "guarantees_2024.csv"
    write_csv(path, JA_HEADER, rows + _good_rows(30))

    (outcome,), misplaced = _ingest(permissive)
    assert not misplaced
    assert outcome.status == "loaded"
    assert (outcome.rows_total, outcome.rows_loaded, outcome.rows_quarantined) == (40, 31, 9)

    quarantined = _quarantine(permissive)
    expect = {
        4: ("corporate_number", "check digit"),
        5: ("lender_bank_code", "9998"),
        6: ("month", "month"),
        7: ("received_on", "future"),
        8: ("balance_jpy", "minimum"),
        9: ("status", "謎"),
        10: ("local_id", ""),
    }
    for row, (column, words) in expect.items():
        found = quarantined[row]
        assert any(c == column and words in (r + str(c)) for c, r in found), (row, found)
    for row in (2, 11):
        assert any("duplicate" in reason for _, reason in quarantined[row]), quarantined[row]
    assert set(quarantined) == set(expect) | {2, 11}

    with warehouse(permissive, read_only=True) as con:
        loaded = con.execute(
            "SELECT guarantee_id, month, balance_jpy, status, source_row, institution_id "
            "FROM raw_guarantees ORDER BY source_row"
        ).fetchall()
    assert len(loaded) == 31
    assert loaded[0] == ("G2", date(2024, 3, 1), 123456, "delinquent", 3, "cga_13")
    assert {r[1] for r in loaded} == {date(2024, 3, 1)}


def test_good_rows_are_all_loaded_with_lineage(settings: Settings):
    path = write_csv(settings.landing_dir / "cga_13" / "guarantees" / "g.csv", JA_HEADER, _good_rows(50))
    (outcome,), _ = _ingest(settings)
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 50, 0)
    with warehouse(settings, read_only=True) as con:
        lineage = con.execute(
            "SELECT min(source_row), max(source_row), count(DISTINCT source_sha256) FROM raw_guarantees"
        ).fetchone()
        archived = con.execute("SELECT archived_path FROM ingested_files").fetchone()[0]
    assert lineage == (2, 51, 1)
    assert Path(archived).exists() and not path.exists()  # moved out of landing, bytes kept


def test_same_file_again_is_skipped_and_changes_nothing(settings: Settings, tmp_path: Path):
    source = write_csv(tmp_path / "g.csv", JA_HEADER, _good_rows(20))
    target = settings.landing_dir / "cga_13" / "guarantees" / "g.csv"
    target.parent.mkdir(parents=True)
    shutil.copy(source, target)
    (first,), _ = _ingest(settings)
    shutil.copy(source, settings.landing_dir / "cga_13" / "guarantees" / "g-resent.csv")
    (second,), _ = _ingest(settings)
    assert first.status == "loaded" and second.status == "skipped"
    with warehouse(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_guarantees").fetchone()[0] == 20
        assert con.execute("SELECT count(*) FROM ingested_files").fetchone()[0] == 1


def test_row_already_loaded_from_another_file_is_skipped_as_an_exact_repeat(settings: Settings):
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "a.csv", JA_HEADER, _good_rows(10))
    _ingest(settings)
    # b.csv restates two of a.csv's rows (same key, same received_on, same values) and adds five new ones.
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "b.csv", JA_HEADER,
              _good_rows(2, start=100) + _good_rows(5, start=200))
    (outcome,), _ = _ingest(settings)
    assert (outcome.rows_loaded, outcome.rows_quarantined, outcome.rows_repeated) == (5, 0, 2)
    assert _quarantine(settings) == {}
    with warehouse(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_guarantees").fetchone()[0] == 15
        assert con.execute("SELECT rows_repeated FROM ingested_files WHERE file_name LIKE '%b.csv'").fetchone()[0] == 2


def test_a_different_row_under_a_loaded_key_is_quarantined_naming_the_loaded_row(settings: Settings):
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "a.csv", JA_HEADER, _good_rows(10))
    _ingest(settings)
    # the same two guarantee-months and received_on as a.csv, with another balance: not a
    # correction (that would carry a later received_on), so neither can win
    changed = [r[:5] + ["999"] + r[6:] for r in _good_rows(2, start=100)]
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "b.csv", JA_HEADER, changed + _good_rows(5, start=200))
    (outcome,), _ = _ingest(settings)
    assert (outcome.rows_loaded, outcome.rows_quarantined, outcome.rows_repeated) == (5, 2, 0)
    reasons = [r for rows in _quarantine(settings).values() for _, r in rows]
    assert len(reasons) == 2 and all("same received_on" in r and "a.csv" in r and "later received_on" in r for r in reasons)


def test_file_with_too_many_bad_rows_is_rejected_whole(settings: Settings):
    bad = [[f"G{i}", "C1", corporate_number(i), "0116", "2024-03", "x", "正常", "2024-04-15"] for i in range(5)]
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "g.csv", JA_HEADER, bad + _good_rows(20))
    (outcome,), _ = _ingest(settings)
    assert outcome.status == "rejected"
    assert "5 of 25 rows" in outcome.message and "g.csv" in outcome.message
    with warehouse(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_guarantees").fetchone()[0] == 0
        file_level = con.execute("SELECT reason FROM quarantine WHERE source_row IS NULL").fetchall()
    assert len(file_level) == 1 and "rejected" in file_level[0][0]
    assert len(_quarantine(settings)) == 5


def test_missing_required_column_rejects_the_file_naming_file_and_column(settings: Settings):
    header = [h for h in JA_HEADER if h != "保証残高"]
    rows = [r[:5] + r[6:] for r in _good_rows(3)]
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "nobalance.csv", header, rows)
    (outcome,), _ = _ingest(settings)
    assert outcome.status == "rejected"
    assert "nobalance.csv" in outcome.message and "balance_jpy" in outcome.message


def test_undecodable_file_is_rejected_naming_the_file(settings: Settings):
    path = settings.landing_dir / "cga_13" / "guarantees" / "broken.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\x81\x00\xff\xfe\x80\x80garbage\n\xff\xff")
    (outcome,), _ = _ingest(settings)
    assert outcome.status == "rejected" and "broken.csv" in outcome.message


def test_misplaced_files_stay_in_landing_and_are_reported(settings: Settings):
    wrong_feed = write_csv(settings.landing_dir / "bank_0116" / "guarantees" / "g.csv", JA_HEADER, _good_rows(2))
    unknown_bank = write_csv(settings.landing_dir / "bank_9998" / "loans" / "l.csv", ["a"], [[1]])
    loose = write_csv(settings.landing_dir / "stray.csv", ["a"], [[1]])
    outcomes, misplaced = _ingest(settings)
    assert outcomes == []
    reasons = {m.path: m.reason for m in misplaced}
    assert "not sent by a bank" in reasons[wrong_feed]
    assert "全銀" in reasons[unknown_bank]
    assert "landing/<institution_id>" in reasons[loose]
    assert wrong_feed.exists() and unknown_bank.exists() and loose.exists()


CRASHING_RUN = textwrap.dedent(
    """
    import os, sys
    from yocho.ingest import load
    from yocho.ingest.landing import discover
    from yocho.ingest.pipeline import ingest_files
    from yocho.ingest.validate import known_bank_codes
    from yocho.settings import Settings
    from yocho.warehouse.db import warehouse

    original = load._insert_quarantine
    def die_mid_transaction(*args, **kwargs):
        original(*args, **kwargs)
        os._exit(17)  # a hard crash: rows and quarantine written, nothing committed
    load._insert_quarantine = die_mid_transaction
    settings = Settings(data_dir=sys.argv[1], today="2026-11-24")
    files, _ = discover(settings.landing_dir, known_bank_codes())
    with warehouse(settings) as con:
        ingest_files(con, files, settings, known_bank_codes())
    """
)


def test_crash_mid_file_leaves_nothing_and_rerun_equals_a_clean_run(settings: Settings, tmp_path: Path):
    rows = _good_rows(40) + [["G9", "C9", bad_corporate_number(9), "0116", "2024-03", "1", "正常", "2024-04-15"]]
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "g.csv", JA_HEADER, rows)
    crashed = subprocess.run([sys.executable, "-c", CRASHING_RUN, str(settings.data_dir)],
                             capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert crashed.returncode == 17, crashed.stderr
    with warehouse(settings, read_only=True) as con:
        for table in ("raw_guarantees", "quarantine", "ingested_files", "validation_results"):
            assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table

    (outcome,), _ = _ingest(settings)
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 40, 1)

    clean = settings.model_copy(update={"data_dir": tmp_path / "clean"})
    write_csv(clean.landing_dir / "cga_13" / "guarantees" / "g.csv", JA_HEADER, rows)
    _ingest(clean)
    query = "SELECT * EXCLUDE (source_sha256) FROM raw_guarantees ORDER BY source_row"
    with warehouse(settings, read_only=True) as a, warehouse(clean, read_only=True) as b:
        assert a.execute(query).fetchall() == b.execute(query).fetchall()
        assert summarise(a).rows_quarantined == summarise(b).rows_quarantined == 1


FIN_HEADER = ["顧客番号", "決算区分", "期首", "期末", "売上高（千円）", "営業利益(千円)", "総資産[千円]",
              "流動資産（千円）", "純資産（百万円）", "受領日"]


def test_statement_in_thousands_of_yen_loads_in_yen_and_a_negative_current_assets_row_is_quarantined(
    settings: Settings,
):
    rows = [
        [f"C{i:04d}", "決算", "2023-04-01", "2024-03-31", f"{120_000 + i:,}", "△1,500.5", "98,765",
         "45,000", "12.3456789", "令和6年6月30日"]
        for i in range(24)
    ]
    rows[6][7] = "△1,000"  # 流動資産 cannot be negative: row 8 of the file
    write_csv(settings.landing_dir / "bank_0116" / "financials" / "fy2023.csv", FIN_HEADER, rows)
    (outcome,), _ = _ingest(settings)
    assert (outcome.status, outcome.rows_total, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 24, 23, 1)

    with warehouse(settings, read_only=True) as con:
        quarantined = con.execute(
            "SELECT file_name, source_row, column_name, reason, raw_value FROM quarantine"
        ).fetchall()
        loaded = con.execute(
            "SELECT local_id, sales_jpy, operating_profit_jpy, total_assets_jpy, current_assets_jpy, "
            "net_assets_jpy, cash_jpy FROM raw_financials ORDER BY source_row"
        ).fetchall()
    # The whole statement is held back; only the cell at fault is named, with the text as sent.
    assert quarantined == [
        ("bank_0116/financials/fy2023.csv", 8, "current_assets_jpy", "below minimum 0", "△1,000"),
    ]
    assert len(loaded) == 23 and "C0006" not in {r[0] for r in loaded}
    # Converted to yen; 12.3456789 百万円 rounds to the nearest yen; an absent column is unknown, not zero.
    assert loaded[0] == ("C0000", 120_000_000, -1_500_500, 98_765_000, 45_000_000, 12_345_679, None)


def test_files_of_a_feed_share_one_validation_run_and_keep_their_own_outcomes(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import yocho.ingest.pipeline as pipeline

    runs: list[int] = []
    real = pipeline.validate_files
    monkeypatch.setattr(pipeline, "validate_files", lambda files, *a, **k: runs.append(len(files)) or real(files, *a, **k))
    folder = settings.landing_dir / "cga_13" / "guarantees"
    write_csv(folder / "a.csv", JA_HEADER, _good_rows(10))
    shutil.copy(folder / "a.csv", folder / "a-again.csv")  # the same bytes twice in one night
    bad = [[f"G{i}", "C1", corporate_number(i), "0116", "2024-03", "x", "正常", "2024-04-15"] for i in range(5)]
    write_csv(folder / "b.csv", JA_HEADER, bad + _good_rows(20, start=300))  # refused whole
    write_csv(folder / "c.csv", JA_HEADER, _good_rows(10, start=500))
    outcomes, _ = _ingest(settings)
    assert runs == [4]
    assert [(Path(o.path).name, o.status) for o in outcomes] == [
        ("a-again.csv", "loaded"), ("a.csv", "skipped"), ("b.csv", "rejected"), ("c.csv", "loaded")]
    with warehouse(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_guarantees").fetchone()[0] == 20
        assert con.execute("SELECT count(*) FROM ingested_files WHERE status = 'loaded'").fetchone()[0] == 2


def test_a_batch_is_validated_once_its_rows_reach_the_limit(settings: Settings, monkeypatch: pytest.MonkeyPatch):
    import yocho.ingest.pipeline as pipeline

    runs: list[int] = []
    real = pipeline.validate_files
    monkeypatch.setattr(pipeline, "validate_files", lambda files, *a, **k: runs.append(len(files)) or real(files, *a, **k))
    small = settings.model_copy(update={"ingest": settings.ingest.model_copy(update={"validate_rows_per_run": 15})})
    for i in range(5):
        write_csv(small.landing_dir / "cga_13" / "guarantees" / f"g{i}.csv", JA_HEADER, _good_rows(10, start=100 * (i + 1)))
    outcomes, _ = _ingest(small)
    assert runs == [2, 2, 1] and [o.status for o in outcomes] == ["loaded"] * 5
