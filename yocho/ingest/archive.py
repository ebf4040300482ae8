"""Immutable, content-addressed archive of every file received."""
from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

_CHUNK = 1 << 20


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def archive_file(path: Path, sha256: str, archive_dir: Path) -> Path:
    """Copy the raw bytes to archive/<aa>/<sha256><suffix>, read-only; idempotent.

    The copy goes to a temporary name first and is renamed into place, so a crash
    never leaves a truncated file under a final name.
    """
    target = archive_dir / sha256[:2] / f"{sha256}{path.suffix.lower()}"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + f".partial-{os.getpid()}")
    shutil.copyfile(path, partial)
    os.chmod(partial, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    os.replace(partial, target)
    return target
