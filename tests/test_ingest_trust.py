"""Ingest refuses what it cannot trust, and a rejected delivery can always be corrected."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.landing_files import corporate_number, write_csv
from yocho.contract import Column, Feed, Kind
from yocho.ingest.landing import discover
from yocho.ingest.parse import parse_feed
from yocho.ingest.pipeline import ingest_files
from yocho.ingest.validate import known_bank_codes
from yocho.settings import Settings
from yocho.warehouse.db import warehouse

JA_HEADER = ["保証番号", "顧客番号", "法人番号", "金融機関コード", "対象年月", "保証残高", "保証状態", "受領日"]
BUSINESS_HEADER = ["local_id", "corporate_number", "name", "entity_type", "jsic_division", "prefecture_code",
                   "received_on"]


def _good_rows(n: int, start: int = 100) -> list[list[object]]:
    return [
        [f"G{i}", f"C{i:04d}", corporate_number(i), "0116", "令和6年3月", f"{i * 1000:,}", "正常", "令和6年4月15日"]
        for i in range(start, start + n)
    ]


def _business_rows(n: int, start: int = 1) -> list[list[object]]:
    return [[f"C{i:04d}", corporate_number(i), f"山田商事{i}", "法人", "E", "13", "2024-04-15"]
            for i in range(start, start + n)]


def _ingest(settings: Settings):
    files, misplaced = discover(settings.landing_dir, known_bank_codes(), settings.ingest)
    with warehouse(settings) as con:
        return ingest_files(con, files, settings, known_bank_codes()), misplaced


def _with_ingest(settings: Settings, **update) -> Settings:
    return settings.model_copy(update={"ingest": settings.ingest.model_copy(update=update)})


# --- 7: 和暦 year 0 -----------------------------------------------------------------

def _one(kind: Kind, text: str):
    feed = Feed(name="probe", ja="検査", description="", sources=(), record_key=("id",), time_column=None,
                columns=(Column("id", "番号", Kind.TEXT, "key"), Column("v", "値", kind, "", required=False)))
    return parse_feed(pl.DataFrame({"id": ["r1"], "v": [text]}), feed, file_name="probe.csv")


@pytest.mark.parametrize(("kind", "text"), [
    (Kind.DATE, "平成0年4月1日"), (Kind.DATE, "令和0年5月1日"), (Kind.DATE, "R0.5.1"), (Kind.DATE, "H00/4/1"),
    (Kind.MONTH, "令和0年5月"), (Kind.MONTH, "R0.5"),
])
def test_era_year_zero_is_not_a_real_date(kind: Kind, text: str):
    parsed = _one(kind, text)
    assert parsed.rows["v"].to_list() == [None]
    (row,) = parsed.errors.rows()
    assert row[:2] == (2, "v") and "not a real calendar" in row[2] and row[3] == text


# --- 3: control characters ---------------------------------------------------------

def test_control_characters_in_keys_and_text_send_the_row_to_quarantine(settings: Settings):
    rows = _business_rows(40)
    rows[0][0] = "C\x000001"  # NUL inside the key: row 2
    rows[1][2] = "山田\x00商事"  # NUL inside free text: row 3
    rows[2][2] = "山田\x1b商事"  # ESC: row 4
    rows[3][2] = "山田\t商事"  # a tab is fine in free text: row 5
    write_csv(settings.landing_dir / "bank_0116" / "business" / "b.csv", BUSINESS_HEADER, rows)
    (outcome,), _ = _ingest(_with_ingest(settings, max_reject_ratio=1.0))
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("loaded", 37, 3)
    with warehouse(settings, read_only=True) as con:
        quarantined = con.execute(
            "SELECT file_name, source_row, column_name, reason, raw_value FROM quarantine ORDER BY source_row"
        ).fetchall()
        names = con.execute("SELECT name FROM raw_business WHERE name LIKE '山田%商事' ORDER BY source_row").fetchall()
        nul_anywhere = con.execute(
            "SELECT count(*) FROM raw_business WHERE contains(local_id, chr(0)) OR contains(name, chr(0))"
        ).fetchone()[0]
    assert [(q[0], q[1], q[2]) for q in quarantined] == [
        ("bank_0116/business/b.csv", 2, "local_id"),
        ("bank_0116/business/b.csv", 3, "name"),
        ("bank_0116/business/b.csv", 4, "name"),
    ]
    assert all("control character" in q[3] for q in quarantined)
    assert [q[4] for q in quarantined] == ["C\\x000001", "山田\\x00商事", "山田\\x1b商事"]
    assert names == [("山田\t商事",)]
    assert nul_anywhere == 0


# --- 5: symbolic links ---------------------------------------------------------------

def test_symlinks_in_landing_are_refused_never_followed(settings: Settings, tmp_path: Path):
    outside = write_csv(tmp_path / "outside" / "secret.csv", JA_HEADER, _good_rows(3))
    folder = settings.landing_dir / "cga_13" / "guarantees"
    folder.mkdir(parents=True)
    (folder / "linked.csv").symlink_to(outside)
    (settings.landing_dir / "cga_14").symlink_to(outside.parent, target_is_directory=True)
    (settings.landing_dir / "cga_15").mkdir()
    (settings.landing_dir / "cga_15" / "guarantees").symlink_to(outside.parent, target_is_directory=True)

    outcomes, misplaced = _ingest(settings)

    assert outcomes == []
    reasons = {m.path.relative_to(settings.landing_dir).as_posix(): m.reason for m in misplaced}
    assert set(reasons) == {"cga_13/guarantees/linked.csv", "cga_14", "cga_15/guarantees"}
    assert all("symbolic link" in r and "refused" in r for r in reasons.values())
    assert outside.exists() and not (settings.archive_dir).exists()
    with warehouse(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_guarantees").fetchone()[0] == 0


# --- 1: deduplication on loaded content per institution and feed ---------------------

def _deliver(settings: Settings, source: Path, relative: str) -> Path:
    target = settings.landing_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    return target


def test_rejected_file_sent_again_to_the_right_folder_is_ingested(settings: Settings, tmp_path: Path):
    source = write_csv(tmp_path / "g.csv", JA_HEADER, _good_rows(20))
    _deliver(settings, source, "cga_13/incidents/g.csv")  # wrong feed folder: missing columns
    (first,), _ = _ingest(settings)
    assert first.status == "rejected" and "missing required column" in first.message

    _deliver(settings, source, "cga_13/guarantees/g.csv")
    (second,), _ = _ingest(settings)
    assert (second.status, second.rows_loaded) == ("loaded", 20)
    # The same bytes sent again to the same place are now skipped: they are loaded there.
    _deliver(settings, source, "cga_13/guarantees/g-again.csv")
    (third,), _ = _ingest(settings)
    assert third.status == "skipped" and "already loaded for cga_13/guarantees" in third.message

    with warehouse(settings, read_only=True) as con:
        files = con.execute("SELECT institution_id, feed, status FROM ingested_files ORDER BY feed").fetchall()
        assert con.execute("SELECT count(*) FROM raw_guarantees").fetchone()[0] == 20
    assert files == [("cga_13", "guarantees", "loaded"), ("cga_13", "incidents", "rejected")]
    archived = [p for p in settings.archive_dir.rglob("*") if p.is_file()]
    assert len(archived) == 1 and archived[0].read_bytes() == source.read_bytes()
    assert not archived[0].stat().st_mode & 0o222  # read-only


def test_rejected_file_sent_again_after_the_rule_changed_replaces_its_rejection(settings: Settings, tmp_path: Path):
    bad = [[f"G{i}", "C1", corporate_number(i), "0116", "2024-03", "x", "正常", "2024-04-15"] for i in range(5)]
    source = write_csv(tmp_path / "g.csv", JA_HEADER, bad + _good_rows(20))
    _deliver(settings, source, "cga_13/guarantees/g.csv")
    (first,), _ = _ingest(settings)
    assert first.status == "rejected"

    raised = _with_ingest(settings, max_reject_ratio=0.5)
    _deliver(raised, source, "cga_13/guarantees/g.csv")
    (second,), _ = _ingest(raised)
    assert (second.status, second.rows_loaded, second.rows_quarantined) == ("loaded", 20, 5)
    with warehouse(settings, read_only=True) as con:
        assert con.execute("SELECT status FROM ingested_files").fetchall() == [("loaded",)]
        # The earlier rejection's file-level reason and row errors are replaced, not doubled.
        assert con.execute("SELECT count(*) FROM quarantine WHERE source_row IS NULL").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 5


def test_same_bytes_from_a_second_institution_are_its_own_delivery(settings: Settings, tmp_path: Path):
    source = write_csv(tmp_path / "g.csv", JA_HEADER, _good_rows(10))
    _deliver(settings, source, "cga_13/guarantees/g.csv")
    _deliver(settings, source, "cga_14/guarantees/g.csv")
    outcomes, _ = _ingest(settings)
    assert [(o.institution_id, o.status, o.rows_loaded) for o in outcomes] == [
        ("cga_13", "loaded", 10), ("cga_14", "loaded", 10)]
    with warehouse(settings, read_only=True) as con:
        per_institution = con.execute(
            "SELECT institution_id, count(*) FROM raw_guarantees GROUP BY 1 ORDER BY 1").fetchall()
        results = con.execute(
            "SELECT institution_id, count(*) FROM validation_results GROUP BY 1 ORDER BY 1").fetchall()
    assert per_institution == [("cga_13", 10), ("cga_14", 10)]
    assert results[0][1] == results[1][1] > 0 and [r[0] for r in results] == ["cga_13", "cga_14"]


# --- 4: size limits --------------------------------------------------------------------

def _refused(settings: Settings, relative: str, limit: str) -> str:
    (outcome,), _ = _ingest(settings)
    assert outcome.status == "rejected", outcome
    message = outcome.message
    assert Path(relative).name in message and f"ingest.{limit}" in message and f"YOCHO_INGEST__{limit.upper()}" in message
    with warehouse(settings, read_only=True) as con:
        assert con.execute("SELECT status FROM ingested_files").fetchall() == [("rejected",)]
    return message


def test_file_larger_than_the_limit_is_refused(settings: Settings):
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "big.csv", JA_HEADER, _good_rows(20))
    message = _refused(_with_ingest(settings, max_file_bytes=500), "big.csv", "max_file_bytes")
    assert "500" in message


def test_more_rows_than_the_limit_are_refused(settings: Settings):
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "many.csv", JA_HEADER, _good_rows(20))
    assert "20 rows" in _refused(_with_ingest(settings, max_rows=10), "many.csv", "max_rows")


def test_a_cell_longer_than_the_limit_is_refused_naming_the_column(settings: Settings):
    rows = _good_rows(20)
    rows[3][0] = "G" * 150
    write_csv(settings.landing_dir / "cga_13" / "guarantees" / "long.csv", JA_HEADER, rows)
    message = _refused(_with_ingest(settings, max_cell_chars=100), "long.csv", "max_cell_chars")
    assert "保証番号" in message and "150 characters" in message


def test_a_runaway_single_line_csv_is_refused_before_it_is_parsed(settings: Settings, monkeypatch):
    path = settings.landing_dir / "cga_13" / "guarantees" / "oneline.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"a" * 2_000_000)  # no newline at all: one 2 MB header "line"

    def never(*args, **kwargs):
        raise AssertionError("the CSV reader must not see a runaway line")

    monkeypatch.setattr(pl, "read_csv", never)
    message = _refused(_with_ingest(settings, max_cell_chars=1000), "oneline.csv", "max_cell_chars")
    assert "line 1 is 2,000,000 bytes" in message


def test_xlsx_expanding_beyond_the_limit_is_refused_before_it_is_opened(settings: Settings, monkeypatch):
    path = settings.landing_dir / "cga_13" / "guarantees" / "bomb.xlsx"
    path.parent.mkdir(parents=True)
    frame = pl.DataFrame({h: [str(v) for v in col] for h, col in zip(JA_HEADER, zip(*_good_rows(100), strict=True), strict=True)})
    # 100 distinct 30,000-character notes: 3 MB of XML that compresses to a few KB.
    frame = frame.with_columns(pl.format("{}{}", pl.col("保証番号"), pl.lit("x" * 30_000)).alias("備考"))
    frame.write_excel(path)
    assert path.stat().st_size < 100_000

    def never(*args, **kwargs):
        raise AssertionError("the workbook must not be opened")

    monkeypatch.setattr(pl, "read_excel", never)
    limited = _with_ingest(settings, max_xlsx_uncompressed_bytes=1_000_000)
    message = _refused(limited, "bomb.xlsx", "max_xlsx_uncompressed_bytes")
    assert "expands to" in message


# --- 2: encodings that are not plausibly cp932 / UTF-8 Japanese ------------------------

def _business_text(names: list[str]) -> str:
    lines = [",".join(BUSINESS_HEADER)] + [
        f"C{i:04d},{corporate_number(i)},{name},corporation,E,13,2024-04-15" for i, name in enumerate(names, 1)]
    return "\r\n".join(lines) + "\r\n"


@pytest.mark.parametrize(("encoding", "names", "why"), [
    ("euc_jp", [f"山田商店{i}" for i in range(30)], "EUC-JP"),
    ("euc_jp", ["株式会社さくら", "佐藤工務店", "ヤマダ電機"] * 10, "EUC-JP"),
    ("utf-16", ["山田商店"] * 30, "UTF-16"),  # with a byte order mark
    ("utf-16-le", ["ACME"] * 30, "UTF-16"),  # no byte order mark
    ("utf-16-be", ["山田商店"] * 30, "UTF-16"),
    ("latin-1", ["MÜNCHEN AG", "STRAßE GMBH", "SOCIÉTÉ GÉNÉRALE"] * 10, "misread"),
])
def test_text_that_is_not_cp932_or_utf8_is_rejected_whole(settings: Settings, encoding: str, names: list[str], why: str):
    path = settings.landing_dir / "bank_0116" / "business" / f"names-{encoding}.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(_business_text(names).encode(encoding))
    (outcome,), _ = _ingest(settings)
    assert outcome.status == "rejected", outcome
    assert path.name in outcome.message and why in outcome.message
    assert "cp932 (Shift_JIS), UTF-8 or UTF-8 with BOM" in outcome.message
    with warehouse(settings, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_business").fetchone()[0] == 0


@pytest.mark.parametrize("encoding", ["cp932", "utf-8", "utf-8-sig"])
def test_japanese_text_with_half_width_katakana_and_full_width_digits_still_loads(settings: Settings, encoding: str):
    names = ["ｶﾌﾞｼｷｶﾞｲｼｬﾔﾏﾀﾞ", "ﾔﾏﾀﾞ･ﾀﾛｳ", "株式会社さくら１２３", "ｻﾄｳｹﾝｾﾂ", "ﾊﾟﾝﾔ ﾎﾟﾎﾟ"] * 6
    path = settings.landing_dir / "bank_0116" / "business" / "names.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(_business_text(names).encode(encoding))
    (outcome,), _ = _ingest(settings)
    assert (outcome.status, outcome.rows_loaded) == ("loaded", 30), outcome.message
    with warehouse(settings, read_only=True) as con:
        loaded = [r[0] for r in con.execute("SELECT name FROM raw_business ORDER BY source_row").fetchall()]
    assert loaded == names


# --- 6: misplaced files are recorded and shown ----------------------------------------

def test_misplaced_files_are_recorded_with_reason_and_shown_in_summary_and_report(settings: Settings, capsys):
    import os
    import time

    from yocho.cli import _print_summary
    from yocho.ingest.load import record_misplaced
    from yocho.ingest.report import write_validation_report
    from yocho.ingest.summary import summarise

    landing = settings.landing_dir
    write_csv(landing / "cga_13" / "guarantees" / "good.csv", JA_HEADER, _good_rows(3))
    stray = {
        "cga_99/guarantees/g.csv": "cga_<01-51>",
        "cga_13/mystery/g.csv": "unknown feed folder 'mystery'",
        "cga_13/guarantees/..x.csv": "hidden file name",
        "cga_13/guarantees/.hidden.csv": "hidden file name",
        "cga_13/guarantees/old.csv.partial": "unfinished upload",
    }
    for relative in [*stray, "cga_13/guarantees/fresh.csv.partial"]:
        write_csv(landing / relative, JA_HEADER, _good_rows(1))
    two_days_ago = time.time() - 48 * 3600
    os.utime(landing / "cga_13/guarantees/old.csv.partial", (two_days_ago, two_days_ago))

    files, misplaced = discover(landing, known_bank_codes(), settings.ingest)
    assert [f.path.name for f in files] == ["good.csv"]
    reasons = {m.path.relative_to(landing).as_posix(): m.reason for m in misplaced}
    assert set(reasons) == set(stray)  # the fresh .partial is still being written
    for relative, words in stray.items():
        assert words in reasons[relative], (relative, reasons[relative])
    assert "partial_max_age_hours" in reasons["cga_13/guarantees/old.csv.partial"]

    with warehouse(settings) as con:
        record_misplaced(con, [(str(m.path), m.reason) for m in misplaced])
        first = dict(con.execute("SELECT path, first_seen FROM misplaced_files").fetchall())
        # Next night: the hidden file was removed, the rest are still there.
        record_misplaced(con, [(str(m.path), m.reason) for m in misplaced if m.path.name != ".hidden.csv"])
        rows = con.execute("SELECT path, reason, first_seen, last_seen, resolved_at FROM misplaced_files").fetchall()
        summary = summarise(con)
        report = write_validation_report(con, settings.reports_dir / "validation.html").read_text(encoding="utf-8")
    by_path = {r[0]: r for r in rows}
    assert len(rows) == len(stray)
    assert by_path[str(landing / "cga_13/guarantees/.hidden.csv")][4] is not None  # resolved
    kept = by_path[str(landing / "cga_99/guarantees/g.csv")]
    assert kept[2] == first[kept[0]] and kept[3] >= kept[2] and kept[4] is None

    open_paths = {Path(p).relative_to(landing).as_posix() for p, *_ in summary.misplaced_files}
    assert open_paths == set(stray) - {"cga_13/guarantees/.hidden.csv"}
    assert "Misplaced files" in report and "unknown feed folder" in report and "cga_99" in report

    _print_summary(settings)
    printed = capsys.readouterr().out
    assert "misplaced files" in printed and "mystery" in printed


def test_xlsx_decompression_bomb_is_refused_by_its_ratio_with_the_default_limits(settings: Settings, monkeypatch):
    import zipfile

    path = settings.landing_dir / "cga_13" / "guarantees" / "bomb.xlsx"
    path.parent.mkdir(parents=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as workbook:  # one 20 MB cell in ~20 KB
        workbook.writestr("xl/sharedStrings.xml", "<sst><si><t>" + "x" * 20_000_000 + "</t></si></sst>")

    def never(*args, **kwargs):
        raise AssertionError("the workbook must not be opened")

    monkeypatch.setattr(pl, "read_excel", never)
    message = _refused(settings, "bomb.xlsx", "max_xlsx_compression_ratio")
    assert "decompression bomb" in message
