"""The contract itself: check digits, institution folders, and the rendered documentation."""
from __future__ import annotations

from pathlib import Path

import pytest

from yocho.contract import (
    FEEDS,
    Source,
    corporate_number_check_digit,
    header_aliases,
    institution_source,
    is_valid_corporate_number,
    valid_corporate_numbers,
)
from yocho.contract_doc import render_markdown

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize(
    "number",
    [
        "7000012050002",  # 国税庁
        "4000012090001",  # 金融庁
    ],
)
def test_published_corporate_numbers_pass(number: str):
    assert is_valid_corporate_number(number)


@pytest.mark.parametrize("number", ["8000012050002", "700001205000", "70000120500021", "７000012050002", "70000120500O2"])
def test_wrong_corporate_numbers_fail(number: str):
    assert not is_valid_corporate_number(number)


def test_the_column_check_agrees_with_the_one_number_check():
    """Ingest checks a file's distinct numbers column-wise (valid_corporate_numbers); every
    number gets the same verdict as from is_valid_corporate_number, nulls are not valid."""
    import random

    import polars as pl

    rng = random.Random(5)
    values: list[str | None] = [None, "", "7000012050002", "4000012090001", "８000012050002"]
    for _ in range(3000):
        base = "".join(rng.choice("0123456789") for _ in range(12))
        good = f"{corporate_number_check_digit(base)}{base}"
        values += [good, f"{(int(good[0]) + 1) % 10}{base}", good[:12], good + "0", good[:6] + "x" + good[7:], " " + base]
    got = valid_corporate_numbers(pl.Series("n", values, dtype=pl.Utf8)).to_list()
    assert got == [v is not None and is_valid_corporate_number(v) for v in values]
    assert sum(got) == 3002  # the two published numbers and every well-formed one


def test_check_digit_worked_by_hand():
    # base 000012050002: digits from the right 2,0,0,0,5,0,2,1,0,0,0,0 weighted 1,2,1,2,...
    # 2*1 + 5*1 + 2*1 + 1*2 = 11; 11 mod 9 = 2; 9 - 2 = 7
    assert corporate_number_check_digit("000012050002") == 7


@pytest.mark.parametrize(
    ("folder", "source"),
    [("bank_0116", Source.BANK), ("cga_13", Source.GUARANTEE_ASSOCIATION), ("cga_51", Source.GUARANTEE_ASSOCIATION)],
)
def test_institution_folders(folder: str, source: Source):
    assert institution_source(folder) is source


@pytest.mark.parametrize("folder", ["bank_116", "cga_52", "cga_00", "shinkin_1234", "bank"])
def test_bad_institution_folders_are_refused_with_the_rule(folder: str):
    with pytest.raises(ValueError, match="bank_<4-digit bank code> or cga_<01-51>"):
        institution_source(folder)


def test_every_feed_is_well_formed():
    for feed in FEEDS.values():
        names = feed.column_names
        assert len(names) == len(set(names)), feed.name
        assert set(feed.key) <= set(names), feed.name
        assert "received_on" in names and "local_id" in names, feed.name
        aliases = header_aliases(feed)
        assert len(aliases) == 2 * len(names), f"{feed.name}: a Japanese header is used twice"


def test_documentation_page_is_in_sync_with_the_contract():
    page = (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")
    assert page == render_markdown(), "run `yocho contract > docs/data-contract.md`"
