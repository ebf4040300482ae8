"""Why now (今月の変化): new and stopped signs, the probability and band change since the
previous scored month and since the case was opened, from stored evidence snapshots."""
from __future__ import annotations

from datetime import date

import pytest

from signals.why_now import band_of, months_between, snapshot_facts, why_now

BANDS = {"low": 0.0, "watch": 0.03, "high": 0.10, "very_high": 0.25}


def document(as_of: str, history: dict[str, list[str]], scores: dict[str, float], probability: float,
             band: str, signs: list[str] | None = None) -> dict:
    current = history.get(as_of, []) if signs is None else signs
    return {
        "as_of": as_of, "probability": probability, "band": band,
        "signs": [{"indicator_id": s, "name_ja": f"{s}（日本語）", "name_en": s.upper()} for s in current],
        "series": {"score": [{"month": m, "value": v} for m, v in scores.items()]},
        "sign_history": [{"month": m, "signs": s} for m, s in history.items()],
    }


def test_signs_that_fired_this_month_and_signs_that_stopped() -> None:
    data = document("2026-10-31", {"2026-08-31": ["a"], "2026-09-30": ["a", "b"], "2026-10-31": ["a", "c"]},
                    {"2026-09-30": 0.08, "2026-10-31": 0.14}, 0.14, "high")
    result = why_now(snapshot_facts(date(2026, 10, 31), data), bands=BANDS)
    assert result.current_signs == ("a", "c")
    assert result.month.since == date(2026, 9, 30)
    assert result.month.new == ("c",)
    assert result.month.stopped == ("b",)  # no longer firing: never among the warnings
    assert result.month.continuing == ("a",)
    assert "b" not in result.current_signs
    assert result.names["c"] == ("c（日本語）", "C")


def test_probability_and_band_change_since_the_previous_scored_month() -> None:
    data = document("2026-10-31", {"2026-10-31": ["a"]},
                    {"2026-07-31": 0.02, "2026-08-31": 0.05, "2026-10-31": 0.12}, 0.12, "high")
    result = why_now(snapshot_facts(date(2026, 10, 31), data), bands=BANDS)
    score = result.score
    assert score is not None
    assert score.since == date(2026, 8, 31)  # September was not scored: the latest earlier month
    assert score.before == pytest.approx(0.05) and score.after == pytest.approx(0.12)
    assert score.delta == pytest.approx(0.07)
    assert (score.band_before, score.band_after) == ("watch", "high")
    assert score.band_changed


def test_a_stored_snapshot_of_an_earlier_month_is_what_the_month_is_compared_with() -> None:
    # the reviewer saw 5% and "high" in September's snapshot; the series, recomputed since, says 4%
    data = document("2026-10-31", {}, {"2026-08-31": 0.02, "2026-09-30": 0.04, "2026-10-31": 0.06}, 0.06, "watch")
    result = why_now(snapshot_facts(date(2026, 10, 31), data), bands=BANDS,
                     stored={date(2026, 9, 30): (0.05, "high"), date(2026, 10, 31): (0.06, "watch")})
    assert result.score is not None
    assert (result.score.since, result.score.before, result.score.band_before) == (date(2026, 9, 30), 0.05, "high")
    # a stored snapshot older than the latest scored month does not hide that month
    older = why_now(snapshot_facts(date(2026, 10, 31), data), bands=BANDS, stored={date(2026, 8, 31): (0.02, None)})
    assert older.score is not None and older.score.since == date(2026, 9, 30)
    assert older.score.band_before == "watch"  # derived from 4% by the bands


def test_the_first_month_has_no_previous_month_to_compare_with() -> None:
    data = document("2026-10-31", {"2026-10-31": ["a", "b"]}, {"2026-10-31": 0.3}, 0.3, "very_high")
    result = why_now(snapshot_facts(date(2026, 10, 31), data), bands=BANDS)
    assert result.month.since is None
    assert result.month.new == ("a", "b") and result.month.stopped == ()
    assert result.score is None
    assert result.opened_on is None and result.since_opened_score is None


def test_a_document_without_history_still_knows_its_current_signs() -> None:
    data = {"as_of": "2026-10-31", "probability": 0.2, "band": "high",
            "signs": [{"indicator_id": "rep_dpd_90"}]}
    facts = snapshot_facts(date(2026, 10, 31), data)
    assert facts.current_signs == frozenset({"rep_dpd_90"})
    assert why_now(facts).month.since is None


def test_months_after_the_snapshot_are_ignored() -> None:
    # an earlier snapshot viewed after later ones: only its own past counts
    data = document("2026-09-30", {"2026-08-31": ["a"], "2026-09-30": ["a"], "2026-10-31": ["a", "z"]},
                    {"2026-08-31": 0.1, "2026-10-31": 0.4}, 0.1, "high")
    result = why_now(snapshot_facts(date(2026, 9, 30), data), bands=BANDS)
    assert result.current_signs == ("a",)
    assert result.score is not None and result.score.before == pytest.approx(0.1)


def test_change_since_the_case_was_opened() -> None:
    initial = snapshot_facts(date(2026, 7, 31), document(
        "2026-07-31", {"2026-07-31": ["a", "b"]}, {"2026-07-31": 0.04}, 0.04, "watch"))
    latest = snapshot_facts(date(2026, 10, 31), document(
        "2026-10-31", {"2026-09-30": ["a", "c"], "2026-10-31": ["a", "c"]},
        {"2026-09-30": 0.2, "2026-10-31": 0.2}, 0.2, "high"))
    result = why_now(latest, initial, bands=BANDS)
    assert result.opened_on == date(2026, 7, 31)
    assert result.since_opened_signs is not None
    assert result.since_opened_signs.new == ("c",) and result.since_opened_signs.stopped == ("b",)
    assert result.since_opened_score is not None
    assert result.since_opened_score.delta == pytest.approx(0.16)
    assert (result.since_opened_score.band_before, result.since_opened_score.band_after) == ("watch", "high")
    # nothing changed in the last month itself
    assert result.month.new == () and result.month.stopped == ()
    assert result.score is not None and result.score.delta == pytest.approx(0.0)
    assert not result.anything_changed
    # the initial snapshot itself: no "since opened"
    assert why_now(initial, initial, bands=BANDS).opened_on is None


def test_malformed_evidence_reads_as_absent() -> None:
    facts = snapshot_facts(date(2026, 10, 31), {"sign_history": "x", "series": {"score": [1, {"month": "bad"}]},
                                                  "probability": "nan"}, probability=0.07, band="watch")
    result = why_now(facts, bands=BANDS)
    assert facts.probability == pytest.approx(0.07)
    assert result.current_signs == () and result.score is None


def test_band_of_and_months_between() -> None:
    assert band_of(0.0, BANDS) == "low"
    assert band_of(0.03, BANDS) == "watch"
    assert band_of(0.2499, BANDS) == "high"
    assert band_of(0.9, BANDS) == "very_high"
    assert band_of(None, BANDS) is None
    assert months_between(date(2026, 7, 31), date(2027, 2, 28)) == 7
