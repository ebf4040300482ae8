"""The council's support phases (中小企業活性化協議会), in the order a business moves through
them as its trouble deepens. Routing recommends one of these for every case."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Phase:
    id: str
    ja: str
    en: str
    meaning: str


PHASES: dict[str, Phase] = {p.id: p for p in (
    Phase("profitability", "収益力改善", "Profitability improvement",
          "Early: earnings are slipping but repayment is intact; a 収益力改善計画 with the council's support."),
    Phase("management_improvement", "経営改善", "Management improvement",
          "Repayment strain or early restructuring: an early management improvement plan (早期経営改善計画) "
          "or a 405 plan (経営改善計画策定支援), Vアップ."),
    Phase("revitalisation", "事業再生", "Revitalisation",
          "Serious arrears, restructuring or insolvency with a viable business: pre-revitalisation or "
          "revitalisation support with debt measures (条件変更, DES/DDS, 債権放棄)."),
    Phase("rechallenge", "再チャレンジ", "Re-challenge",
          "No viable path: an orderly wind-down, guarantor settlement under the 経営者保証ガイドライン, "
          "and support for the owner's next start."),
)}
