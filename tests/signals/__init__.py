"""A hand-made warehouse for the signals tests: risk_scores and indicator_values rows written
directly (no model, no scan), raw feed rows through the Tiny harness."""
from __future__ import annotations

import json
from datetime import date

import polars as pl

from features.catalog import indicators
from models.score import band
from signals.flags import flags_as_of
from tests.features.tiny import Tiny
from yocho.settings import Settings

A, B, C = "7000012050002", "4000012090001", "5100012050002"  # valid 法人番号s
M = [date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31),
     date(2025, 6, 30), date(2025, 7, 31), date(2025, 8, 31), date(2025, 9, 30)]


def probability_of(band_name: str, settings: Settings) -> float:
    """A probability inside the band (a little above its lower bound)."""
    bands = settings.models.bands
    return bands[band_name] + 0.001 if band_name != "low" else 0.005


class Book(Tiny):
    def __init__(self, settings: Settings | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings(duckdb_memory_limit="1GB")

    def score(self, key: str, as_of: date, band_name: str | None = None, *, probability: float | None = None,
              in_event: bool = False, top_factors: list | None = None) -> Book:
        p = probability if probability is not None else probability_of(band_name or "low", self.settings)
        b = pl.select(band(pl.lit(p), self.settings.models.bands)).item()
        assert band_name is None or b == band_name
        self.con.execute(
            "INSERT INTO risk_scores VALUES (?, ?, ?, ?, 1, 0.01, 0, ?, 'test-model', ?, current_timestamp::TIMESTAMP)",
            [key, as_of, p, b, in_event, json.dumps(top_factors or [], ensure_ascii=False)])
        return self

    def sign(self, key: str, as_of: date, indicator_id: str, value: float = 1.0, *, fired: bool = True,
             evidence: dict | None = None) -> Book:
        ind = indicators()[indicator_id]
        self.con.execute(
            "INSERT INTO indicator_values VALUES (?, ?, ?, ?, ?, true, ?, ?, ?, current_timestamp::TIMESTAMP)",
            [key, as_of, indicator_id, ind.family.value, value, fired, ind.severity.value,
             json.dumps(evidence, ensure_ascii=False) if fired and evidence is not None else None])
        return self

    def know(self, key: str, institution_id: str, local_id: str, received_on: date, *,
             relationship: bool = True) -> Book:
        """A master-data row: the institution knows the business from received_on. With
        `relationship` (the default) also what makes it one of the business's institutions
        (signals/sql/institutions.sql): a bank a deposit account month, an association a
        guarantee, both empty, in the month of received_on; without it the institution has
        only declared the business itself."""
        cn = None if ":" in key else key
        self.add("business", institution_id, dict(
            local_id=local_id, corporate_number=cn, name="テスト株式会社", entity_type="corporation",
            jsic_division="E", prefecture_code=13, received_on=received_on))
        if not relationship:
            return self
        month = received_on.replace(day=1)
        if institution_id.startswith("bank_"):
            return self.add("accounts", institution_id, dict(
                local_id=local_id, corporate_number=cn, month=month, inflow_jpy=0, outflow_jpy=0,
                month_end_balance_jpy=0, average_balance_jpy=0, failed_debits=0, received_on=received_on))
        return self.add("guarantees", institution_id, dict(
            guarantee_id=f"K-{local_id}", local_id=local_id, corporate_number=cn, lender_bank_code="0116",
            month=month, balance_jpy=0, status="normal", received_on=received_on))

    def month(self, as_of: date, bands: dict[str, str], signs: dict[str, list[str]] | None = None) -> Book:
        """Score every business of `bands` at as_of and fire the given signs (a scanned month)."""
        for key, band_name in bands.items():
            self.score(key, as_of, band_name)
            for indicator_id in (signs or {}).get(key, []):
                self.sign(key, as_of, indicator_id)
        return self

    def flags(self, as_of: date, settings: Settings | None = None) -> pl.DataFrame:
        return flags_as_of(self.con, as_of, settings or self.settings)

    def flagged(self, as_of: date, settings: Settings | None = None) -> dict[str, dict]:
        return {r["business_key"]: r for r in self.flags(as_of, settings).iter_rows(named=True)}
