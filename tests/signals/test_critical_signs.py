"""The default critical signs are declared indicators, each documented in docs/signals.md with
the precision it was chosen on, and the documented choice follows the documented rule."""
from __future__ import annotations

import re
from pathlib import Path

from features.catalog import indicators
from yocho.settings import SignalSettings

DOC = (Path(__file__).parents[2] / "docs" / "signals.md").read_text(encoding="utf-8")
DEFAULTS = SignalSettings().critical_signs
EVENT_ITSELF = "a deterioration event itself"


def _table_after(heading: str) -> list[list[str]]:
    """The cells of the first markdown table after `heading`."""
    lines = DOC[DOC.index(heading):].splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("|"))
    rows = []
    for line in lines[start + 2:]:
        if not line.strip().startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def _percent(cell: str) -> float:
    return float(re.fullmatch(r"\**([\d.]+)%\**", cell).group(1)) / 100


def test_every_default_critical_sign_is_a_declared_indicator():
    assert DEFAULTS and set(DEFAULTS) <= set(indicators())
    assert len(set(DEFAULTS)) == len(DEFAULTS)


def test_the_flag_policy_lists_exactly_the_defaults_with_their_measured_precision():
    documented = {row[0].strip("`"): row[2] for row in _table_after("By default (`signals.critical_signs`)")}
    assert set(documented) == set(DEFAULTS)
    for sign, precision in documented.items():
        assert precision == EVENT_ITSELF or 0 < _percent(precision) <= 1, (sign, precision)


def test_the_documented_choice_follows_the_rule():
    band = _percent(next(row[2] for row in _table_after("Which signs are critical") if "band **high**" in row[0]))
    assert 0 < band < 1
    documented = {row[0].strip("`"): row[2] for row in _table_after("By default (`signals.critical_signs`)")}
    # a measured critical sign is at least as precise as the band that opens a case on its own
    for sign, precision in documented.items():
        if precision != EVENT_ITSELF:
            assert _percent(precision) >= band, (sign, precision, band)
    # and every single sign measured as precise as the band on 200 or more firings is critical
    candidates = _table_after("| candidate | firings")
    for row in candidates:
        ids = re.findall(r"`([a-z0-9_]+)`", row[0])
        if len(ids) != 1 or row[2] == "—" or ids[0] not in indicators():
            continue
        firings, precision = int(row[1].replace(",", "")), _percent(row[2])
        should_be = precision >= band and firings >= 200
        assert (ids[0] in DEFAULTS) == should_be, row
        assert (row[4] == "critical") == should_be, row
