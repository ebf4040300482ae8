"""The registry itself: complete declarations, thresholds wired to SQL, docs in sync."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from features.catalog import Family, indicators, threshold_values
from features.catalog_doc import render_markdown
from features.compute import family_sql
from yocho.contract import FEEDS

ROOT = Path(__file__).parents[2]


def test_every_indicator_is_fully_declared():
    for ind in indicators().values():
        assert ind.id.replace("_", "").isalnum() and ind.id.islower(), ind.id
        assert ind.ja and ind.en and ind.definition and ind.unit, ind.id
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", ind.ja), f"{ind.id}: Japanese name is not Japanese"
        assert ind.feeds and set(ind.feeds) <= FEEDS.keys(), ind.id
        assert "events" not in ind.feeds, f"{ind.id} reads the outcome labels"
        for t in ind.thresholds:
            assert len(t.reason) > 20, f"{ind.id}.{t.name}: say why the default is what it is"


def test_each_family_has_several_indicators():
    for family in Family:
        assert len([i for i in indicators().values() if i.family is family]) >= 2, family


@pytest.mark.parametrize("family", list(Family))
def test_sql_uses_exactly_the_declared_thresholds_and_names_every_indicator(family: Family):
    sql = family_sql(family)
    declared = {ind.param(t.name) for ind in indicators().values() if ind.family is family for t in ind.thresholds}
    # besides the thresholds, how far back the family reads (catalog.family_lookback_months)
    assert set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql)) - {"lookback_months"} == declared
    for ind in indicators().values():
        if ind.family is family:
            assert f"'{ind.id}'" in sql, ind.id


def test_threshold_overrides_apply_and_typos_are_refused():
    some = next(i for i in indicators().values() if i.thresholds)
    key = f"{some.id}.{some.thresholds[0].name}"
    assert threshold_values({key: 123})[some.param(some.thresholds[0].name)] == 123
    with pytest.raises(ValueError, match="unknown indicator thresholds.*not_a_threshold"):
        threshold_values({f"{some.id}.not_a_threshold": 1})


def test_documentation_page_is_in_sync_with_the_catalog():
    page = (ROOT / "docs" / "indicators.md").read_text(encoding="utf-8")
    assert page == render_markdown(), "run `yocho indicators > docs/indicators.md`"
