"""Keys sent to the database in batches: one IN (...) list per batch keeps every statement
within the parameter limits of SQLite and PostgreSQL, whatever the night's size."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

CHUNK = 1000  # keys per IN (...) list

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
