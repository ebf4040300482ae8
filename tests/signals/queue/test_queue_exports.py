"""Exports: .xlsx and BOM'd CSV with Japanese headers, scoped by the acting user."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

import polars as pl
import pytest

from signals.queue import State
from signals.queue.exports import (
    BOM,
    council_list_csv,
    council_list_frame,
    council_list_xlsx,
    worklist_csv,
    worklist_frame,
    worklist_xlsx,
)

X, Y, Z = "7000012050002", "4000012090001", "1010001000006"


@pytest.fixture
def referred(store, people, make_flags, work, clock):
    """X (bank A) and Y (bank B, cga_13) referred; Z (bank A) still new."""
    row = make_flags.row
    ids = work.open(make_flags(
        row(X, institutions=[("bank_0116", "A-1")], priority=0.9, probability=0.4, phase="revitalisation",
            phase_reason_ja="=HYPERLINK(\"http://example.invalid\")", first_sign_on=date(2026, 6, 30)),
        # the association (東京都) leads Y: its referral goes to the same council as X's
        row(Y, institutions=[("bank_0005", "B-2"), ("cga_13", "G-2")], priority=0.5, probability=0.125,
            lead_institution_id="cga_13"),
        row(Z, institutions=[("bank_0116", "A-3")], priority=0.7, probability=0.2),
    ))
    clock.set_day(date(2026, 11, 30))
    work.move(ids[X], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED)
    work.move(ids[Y], State.UNDER_REVIEW, State.CONSENT_OBTAINED, State.REFERRED, reviewer=people.cga)
    return ids


def _csv(data: bytes) -> list[list[str]]:
    assert data[:3] == BOM == b"\xef\xbb\xbf"
    assert b"\r\n" in data
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))


def test_council_list_for_council_intake(store, people, referred, tmp_path):
    path = tmp_path / "council.xlsx"
    path.write_bytes(council_list_xlsx(store, people.council))
    sheet = pl.read_excel(path, sheet_name="協議会紹介一覧")
    assert sheet.columns[:7] == ["案件番号", "事業者キー（法人番号等）", "商号", "状態", "紹介経路", "紹介元機関", "紹介日"]
    assert sheet["事業者キー（法人番号等）"].to_list() == [X, Y] or sheet["事業者キー（法人番号等）"].to_list() == [Y, X]
    by_key = {r["事業者キー（法人番号等）"]: r for r in sheet.iter_rows(named=True)}
    x, y = by_key[X], by_key[Y]
    assert (x["状態"], x["紹介経路"], x["紹介元機関"]) == ("協議会へ紹介済", "金融機関", "北陸第一銀行")
    assert (y["紹介経路"], y["紹介元機関"]) == ("信用保証協会", "東京信用保証協会")
    assert x["紹介時の支援フェーズ"] == "事業再生"
    assert x["予兆から紹介までの日数"] == (date(2026, 11, 30) - date(2026, 6, 30)).days
    assert x["判定理由"] == "=HYPERLINK(\"http://example.invalid\")"  # text, never a formula
    assert x["発生確率（12か月）"] == pytest.approx(0.4)
    referred_on = x["紹介日"]
    assert (referred_on.date() if isinstance(referred_on, datetime) else referred_on) == date(2026, 11, 30)

    rows = _csv(council_list_csv(store, people.council))
    assert rows[0] == council_list_frame(store, people.council).columns
    assert rows[0][:5] == ["案件番号", "事業者キー（法人番号等）", "商号", "状態", "紹介経路"]
    body = {r[1]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(body) == {X, Y}
    assert body[X]["判定理由"].startswith("'=")  # defused for spreadsheets
    assert body[X]["紹介日"] == "2026-11-30" and body[Y]["発生確率（12か月）"] == "0.125"


def test_council_list_of_a_bank_is_its_own_referrals(store, people, referred):
    assert council_list_frame(store, people.bank_b)["事業者キー（法人番号等）"].to_list() == [Y]
    assert council_list_frame(store, people.bank_a)["事業者キー（法人番号等）"].to_list() == [X]
    assert council_list_frame(store, people.cga_other).height == 0
    rows = _csv(council_list_csv(store, people.cga_other))
    assert len(rows) == 1 and rows[0][0] == "案件番号"  # headers even when empty


def test_each_institutions_worklist(store, people, referred, tmp_path):
    path = tmp_path / "worklist.xlsx"
    path.write_bytes(worklist_xlsx(store, people.bank_a))
    sheet = pl.read_excel(path, sheet_name="ワークリスト")
    assert sheet.columns[:5] == ["案件番号", "事業者キー（法人番号等）", "商号", "状態", "主担当機関での優先順位"]
    assert sheet["事業者キー（法人番号等）"].to_list() == [X, Z]  # open cases of bank A, by priority
    assert sheet["状態"].to_list() == ["協議会へ紹介済", "新規"]
    assert sheet["取引機関（管理番号）"].to_list() == ["北陸第一銀行（A-1）", "北陸第一銀行（A-3）"]
    rows = _csv(worklist_csv(store, people.bank_b))
    assert [r[1] for r in rows[1:]] == [Y]
    assert dict(zip(rows[0], rows[1], strict=True))["取引機関（管理番号）"] == "みずなみ銀行（B-2）、東京信用保証協会"
    assert worklist_frame(store, people.cga)["事業者キー（法人番号等）"].to_list() == [Y]
    assert worklist_frame(store, people.admin).height == 3


@pytest.mark.parametrize("text", ["=1+1", "＝SUM(A1:A9)", "＋81-3", "－1", "＠SUM(1)", " =cmd|' /C calc'!A0",
                                  "\t=1", "@x"])
def test_csv_neutralises_every_formula_trigger_full_width_ones_included(text):
    from signals.queue.exports import Column, to_csv

    body = to_csv((Column("理由", "text", lambda c, n: None),), [[text]]).decode("utf-8-sig")
    cell = next(csv.reader(io.StringIO(body.split("\r\n", 1)[1])))[0]
    assert cell == "'" + text
    plain = to_csv((Column("理由", "text", lambda c, n: None),), [["売上減少", ]]).decode("utf-8-sig")
    assert next(csv.reader(io.StringIO(plain.split("\r\n", 1)[1])))[0] == "売上減少"
