"""What a case page shows of one snapshot's evidence: the warning signs fired, each as a
sentence with its figures (webapp/sign_text), the factors behind the score and the charts
(`evidence_view`), read from the document of signals/sql/evidence.sql."""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from signals.queue.store import Snapshot
from webapp.charts import evidence_charts
from webapp.formatting import Formatter
from webapp.i18n import Translator
from webapp.sign_text import SignText, sign_text


@dataclass
class SignView:
    id: str
    name: str
    family: str
    severity: str  # the catalog's severity, labelled as such (重要度「高」)
    severity_key: str
    value: str
    text: SignText  # the sentence with its figures, a table where there are several items, notes
    critical: bool  # one of the critical signs (重大予兆) of the flag policy on the snapshot's date


@dataclass
class FactorView:
    name: str
    value: str
    fired: bool | None
    contribution: float | None
    kind: str  # sign (a fired warning sign) | figure | missing: models/explain.py KINDS


@dataclass
class EvidenceView:
    snapshot: Snapshot
    probability: float | None
    band: str | None
    model_version: str | None
    portfolio_share: float | None
    signs: list[SignView]
    factors: list[FactorView]
    charts: list[tuple[str, Any]]

    @property
    def max_contribution(self) -> float:
        return max((f.contribution for f in self.factors if f.contribution), default=0.0)


def _as_float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _catalog_unit(indicator_id: str) -> str | None:
    try:
        from features.catalog import indicators
    except ImportError:
        return None
    from features.catalog import measures

    found = indicators().get(indicator_id) or measures().get(indicator_id)
    return found.unit if found else None


def evidence_view(snapshot: Snapshot, t: Translator, fmt: Formatter, opened_on: date | None = None,
                  names: Mapping[str, str] | None = None) -> EvidenceView:
    """What a case page shows of one snapshot. Reads the shape of signals/sql/evidence.sql
    and tolerates missing parts (a malformed document shows as empty evidence). opened_on:
    the case's flag date, marked on the charts; names: institution ids to names, for the
    sentences. A sign the document marks as not fired is not shown among the signs fired."""
    try:
        data = snapshot.data
    except (TypeError, ValueError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    score = data.get("score") if isinstance(data.get("score"), dict) else {}
    signs: list[SignView] = []
    for raw in data.get("signs") or []:
        if not isinstance(raw, dict) or raw.get("fired") is False:
            continue
        indicator = str(raw.get("indicator_id") or raw.get("id") or raw.get("indicator") or "?")
        severity = str(raw.get("severity") or "")
        name = t.indicator(indicator, raw.get("name_ja"), raw.get("name_en"))
        value = fmt.unit_value(raw.get("value"), _catalog_unit(indicator))
        text = sign_text(indicator, raw.get("evidence"), name=name, lang=t.lang, names=names, value_text=value)
        if text is None:
            continue
        signs.append(SignView(
            id=indicator,
            name=name,
            family=t.family(raw.get("family")),
            severity=t.severity_badge(severity) if severity else "",
            severity_key=severity,
            value=value,
            text=text,
            critical=indicator in snapshot.critical_signs,
        ))
    factors: list[FactorView] = []
    for raw in data.get("top_factors") or []:
        if not isinstance(raw, dict):
            continue
        indicator = str(raw.get("indicator") or raw.get("indicator_id") or "?")
        fired = raw.get("fired")
        kind = raw.get("kind")
        if kind not in ("sign", "figure", "missing"):  # snapshots from before factors had kinds
            kind = "sign" if fired is True else ("missing" if raw.get("value") is None else "figure")
        factors.append(FactorView(
            kind=kind,
            name=t.indicator(indicator, raw.get("name_ja") or raw.get("ja"), raw.get("name_en") or raw.get("en")),
            value=fmt.unit_value(raw.get("value"), _catalog_unit(indicator)),
            fired=fired if isinstance(fired, bool) else None,
            contribution=_as_float(raw.get("contribution")),
        ))
    charts = evidence_charts(data, lang=t.lang, translate=t, indicator_name=t.indicator, end=snapshot.as_of,
                             opened_on=opened_on)
    return EvidenceView(
        snapshot=snapshot,
        probability=_as_float(data.get("probability", score.get("probability", snapshot.probability))),
        band=data.get("band") or score.get("band") or snapshot.band,
        model_version=data.get("model_version") or score.get("model_version"),
        portfolio_share=_as_float(data.get("portfolio_share")),
        signs=signs,
        factors=factors,
        charts=charts,
    )
