"""The queue's two notions of time: instants stored in UTC, and the day in Japan.

Timestamps are written in UTC; the dates a person records (consent, referral, closing,
snoozing) are Japanese calendar days. Kept apart from the store so that every module reading
rows back (the worklist, accounts, KPIs) can share one conversion without importing the store.
"""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")


def _aware(value: datetime) -> datetime:
    """SQLite hands timestamps back naive; they were written in UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

