"""Writing small hand-made feed files the way institutions send them."""
from __future__ import annotations

from pathlib import Path

from yocho.contract import corporate_number_check_digit


def corporate_number(base12: int) -> str:
    base = f"{base12:012d}"
    return f"{corporate_number_check_digit(base)}{base}"


def bad_corporate_number(base12: int) -> str:
    good = corporate_number(base12)
    return f"{(int(good[0]) + 1) % 10}{good[1:]}"


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "cp932") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [",".join(header)]
    for row in rows:
        cells = []
        for value in row:
            text = "" if value is None else str(value)
            cells.append(f'"{text}"' if "," in text else text)
        lines.append(",".join(cells))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    return path
