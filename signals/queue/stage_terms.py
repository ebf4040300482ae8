"""The council's own terms for what follows an accepted referral (pure rules, no database).

After 受付 the SME Revitalization Council records, per case, each stage its support reached,
in its own phases and with dates (signals/queue/stages.py keeps them, append-only):

    窓口相談 → 事前相談 → 収益力改善支援 / 経営改善支援 / 事業再生支援 / 再チャレンジ支援
    and the plan's milestones: 計画策定開始 → 金融機関調整成立 (plan agreed) → 支援完了 | 中止

A support phase may name the measures taken: 経営改善支援 the 405事業 (認定支援機関による経営改善
計画策定支援), the 早期経営改善計画, or since April 2025 バリューアップ支援事業（Vアップ）; 事業再生支援
the プレ再生 or a 再生計画, and the financial measures DDS, DES and 債権放棄.
"""
from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    WINDOW = "window_consultation"  # 窓口相談
    PRE = "pre_consultation"  # 事前相談
    EARNINGS = "earnings_improvement"  # 収益力改善支援
    MANAGEMENT = "management_improvement"  # 経営改善支援
    REVITALIZATION = "revitalization"  # 事業再生支援
    RECHALLENGE = "rechallenge"  # 再チャレンジ支援
    PLAN_STARTED = "plan_started"  # 計画策定開始
    PLAN_AGREED = "plan_agreed"  # 金融機関調整成立
    COMPLETED = "completed"  # 支援完了
    ABANDONED = "abandoned"  # 中止


STAGE_LABELS: dict[Stage, tuple[str, str]] = {
    Stage.WINDOW: ("窓口相談", "Window consultation"),
    Stage.PRE: ("事前相談", "Preliminary consultation"),
    Stage.EARNINGS: ("収益力改善支援", "Earnings improvement support"),
    Stage.MANAGEMENT: ("経営改善支援", "Management improvement support"),
    Stage.REVITALIZATION: ("事業再生支援", "Business revitalization support"),
    Stage.RECHALLENGE: ("再チャレンジ支援", "Re-challenge support"),
    Stage.PLAN_STARTED: ("計画策定開始", "Plan drafting started"),
    Stage.PLAN_AGREED: ("金融機関調整成立（計画合意）", "Plan agreed with the lenders"),
    Stage.COMPLETED: ("支援完了", "Support completed"),
    Stage.ABANDONED: ("中止", "Abandoned"),
}
# The support phases (a completion is counted under the latest one the case reached).
PHASE_STAGES = (Stage.EARNINGS, Stage.MANAGEMENT, Stage.REVITALIZATION, Stage.RECHALLENGE)
# After these nothing more is recorded: the council's support of the case has ended.
FINAL_STAGES = frozenset({Stage.COMPLETED, Stage.ABANDONED})


class Measure(StrEnum):
    PLAN_405 = "405"  # 405事業（認定支援機関による経営改善計画策定支援）
    EARLY_PLAN = "early_plan"  # 早期経営改善計画
    VALUE_UP = "value_up"  # バリューアップ支援事業（Vアップ）, since April 2025
    PRE_REVITALIZATION = "pre_revitalization"  # プレ再生
    REVITALIZATION_PLAN = "revitalization_plan"  # 再生計画
    DDS = "dds"
    DES = "des"
    DEBT_WAIVER = "debt_waiver"  # 債権放棄


MEASURE_LABELS: dict[Measure, tuple[str, str]] = {
    Measure.PLAN_405: ("405事業", "405 programme (improvement plan support)"),
    Measure.EARLY_PLAN: ("早期経営改善計画", "Early management improvement plan"),
    Measure.VALUE_UP: ("バリューアップ支援事業（Vアップ）", "Value-up support (V-up)"),
    Measure.PRE_REVITALIZATION: ("プレ再生", "Pre-revitalization"),
    Measure.REVITALIZATION_PLAN: ("再生計画", "Revitalization plan"),
    Measure.DDS: ("DDS", "DDS (debt-to-debt swap)"),
    Measure.DES: ("DES", "DES (debt-to-equity swap)"),
    Measure.DEBT_WAIVER: ("債権放棄", "Debt waiver"),
}
# Which measures belong to which phase: a measure recorded under another stage is refused.
STAGE_MEASURES: dict[Stage, tuple[Measure, ...]] = {
    Stage.MANAGEMENT: (Measure.PLAN_405, Measure.EARLY_PLAN, Measure.VALUE_UP),
    Stage.REVITALIZATION: (Measure.PRE_REVITALIZATION, Measure.REVITALIZATION_PLAN, Measure.DDS, Measure.DES,
                           Measure.DEBT_WAIVER),
}
MAX_NOTE = 2000
