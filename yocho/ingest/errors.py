"""The one exception ingest raises for a file it cannot take at all."""
from __future__ import annotations


class IngestError(Exception):
    """A whole file is unusable (undecodable, unreadable, missing required columns).

    The message always names the file, and the row or column when one is to blame: it
    is stored as the rejection reason and read by the sender, not by a developer.
    """
