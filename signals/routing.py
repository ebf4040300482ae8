"""Routing: which support phase (signals/phases.py) fits a flagged business, and why.

The rules are data, declared once below in `RULES` and evaluated in order; the first rule
whose conditions hold decides the phase. Each condition is a named test on the routing
facts (what signs fired, the bank classification, viability figures, reported events),
with its own label in Japanese and English, so the reason shown to a reviewer names the
rule's reading and the very conditions that held. docs/signals.md prints the same table.

Everything is a polars expression over all flagged businesses at once.

The routing facts, one row per business (built by signals/sql/routing_facts.sql):

| column | type | meaning |
|---|---|---|
| `fired` | list[str] | ids of the warning signs fired as of the date |
| `in_event` | bool | a deterioration event already occurred and was reported (risk_scores) |
| `class_rank` | f64 | worst current bank debtor classification: 0 正常先, 1 要注意先, 2 要管理先, 3 破綻懸念先 … |
| `sales_change_pct` | f64 | sales (or account inflows) against a year earlier, in percent |
| `operating_cf_jpy` | f64 | operating profit + depreciation of the latest annual statement |
| `legal_proceedings` | bool | a legal filing (破産等申立) reported, or a 破綻・法的整理 event |
| `event_types` | list[str] | the deterioration events reported (raw_events.event_type) |
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from features.catalog import indicators
from signals.phases import PHASES

# A business is judged not viable only when the figures say so: operating cash flow
# (operating profit + depreciation) not positive and sales (or account inflows) down by at
# least this much on a year earlier -- or one of the two showing it while the other is
# unknown. With neither figure available it is given the benefit of the doubt (the council
# assesses viability itself). Kept here rather than in settings.py: it is part of the
# routing rules, which are code reviewed with their reasons.
SALES_COLLAPSE_PCT = -30.0

FACT_SCHEMA: dict[str, pl.DataType] = {
    "business_key": pl.Utf8,
    "fired": pl.List(pl.Utf8),
    "in_event": pl.Boolean,
    "class_rank": pl.Float64,
    "sales_change_pct": pl.Float64,
    "operating_cf_jpy": pl.Float64,
    "legal_proceedings": pl.Boolean,
    "event_types": pl.List(pl.Utf8),
}


def _sign(indicator_id: str) -> pl.Expr:
    if indicator_id not in indicators():
        raise KeyError(f"routing names an indicator the catalog does not declare: {indicator_id}")
    return pl.col("fired").list.contains(pl.lit(indicator_id))


def _event(event_type: str) -> pl.Expr:
    return pl.col("event_types").list.contains(pl.lit(event_type))


def _viable() -> pl.Expr:
    cf, sales = pl.col("operating_cf_jpy"), pl.col("sales_change_pct")
    return (cf > 0).fill_null(False) | (sales > SALES_COLLAPSE_PCT).fill_null(False) | (cf.is_null() & sales.is_null())


@dataclass(frozen=True)
class Condition:
    id: str
    ja: str
    en: str
    expr: pl.Expr


@dataclass(frozen=True)
class Rule:
    id: str
    phase: str            # a key of signals.phases.PHASES
    any_of: tuple[str, ...]   # at least one of these conditions holds ...
    all_of: tuple[str, ...]   # ... and every one of these
    reason_ja: str
    reason_en: str


CONDITIONS: dict[str, Condition] = {c.id: c for c in (
    # serious: the guarantee has been called, the courts are involved, or insolvency with arrears
    Condition("subrogation", "代位弁済請求", "subrogation requested",
              _sign("cga_subrogation_requested") | _event("subrogation")),
    Condition("legal_proceedings", "法的手続（破産等申立・法的整理）", "legal proceedings (bankruptcy or other filing)",
              pl.col("legal_proceedings").fill_null(False)),
    Condition("insolvent_losses_arrears", "債務超過・連続赤字・3ヶ月以上延滞",
              "negative net assets, consecutive operating losses and 90+ days past due",
              _sign("fin_negative_net_assets") & _sign("fin_consecutive_operating_losses") & _sign("rep_dpd_90")),
    Condition("not_viable", f"営業キャッシュフロー赤字かつ売上{-SALES_COLLAPSE_PCT:.0f}%以上減少",
              f"operating cash flow negative and sales down {-SALES_COLLAPSE_PCT:.0f}% or more",
              ~_viable()),
    # repayment has broken down
    Condition("dpd_90", "延滞3ヶ月以上", "90+ days past due", _sign("rep_dpd_90")),
    Condition("restructured", "条件変更（リスケ）", "loan restructured", _sign("rep_restructured")),
    Condition("class_special_attention", "債務者区分 要管理先以下", "classified special attention (要管理先) or worse",
              (pl.col("class_rank") >= 2).fill_null(False)),
    Condition("in_event", "劣化事象の発生報告あり（条件変更・90日延滞・格下げ等）",
              "a deterioration event already reported (restructuring, 90+ dpd, downgrade …)",
              pl.col("in_event").fill_null(False)),
    # repayment and payments are starting to slip
    Condition("dpd_30", "延滞1ヶ月以上", "30+ days past due", _sign("rep_dpd_30")),
    Condition("partial_payment", "約定返済の一部不足", "instalments paid short", _sign("rep_partial_payment")),
    Condition("failed_debits", "口座振替不能", "failed direct debits", _sign("acc_failed_debits")),
    Condition("tax_stopped", "納税の停止", "tax payments stopped", _sign("acc_tax_stopped")),
    Condition("social_insurance_stopped", "社会保険料納付の停止", "social-insurance payments stopped",
              _sign("acc_social_insurance_stopped")),
    Condition("payroll_stopped", "給与振込の停止", "payroll stopped", _sign("acc_payroll_stopped")),
    Condition("tax_arrears_found", "税金・社会保険料の滞納判明", "tax or social-insurance arrears found",
              _sign("obs_tax_arrears_found")),
    Condition("class_watch", "債務者区分 要注意先", "classified watch (要注意先)",
              (pl.col("class_rank") >= 1).fill_null(False)),
    Condition("incident_reported", "保証協会への事故報告", "incident report filed with the association",
              _sign("cga_incident_reported")),
    Condition("guarantee_adverse", "保証の延滞・条件変更", "guarantee delinquent or restructured",
              _sign("cga_guarantee_adverse_status")),
    Condition("adverse_elsewhere", "複数機関で返済異常", "adverse repayment signs at several institutions",
              _sign("x_adverse_at_multiple_institutions")),
    # earlier: earnings, balance sheet, account trends, qualitative observations
    Condition("other_signs", "財務・預金・定性面の兆候", "signs in financials, account activity or observations",
              pl.col("fired").list.len() > 0),
    Condition("score", "リスクスコア", "risk score", pl.lit(True)),
)}

_SERIOUS = ("subrogation", "legal_proceedings", "insolvent_losses_arrears")

RULES: list[Rule] = [
    Rule("serious_not_viable", "rechallenge", _SERIOUS, ("not_viable",),
         "代位弁済・法的手続・延滞を伴う債務超過のいずれかに至り、営業キャッシュフローも売上も事業の継続価値を示していない。"
         "経営者保証ガイドラインによる整理と経営者の再スタート（再チャレンジ）の支援を検討。",
         "Subrogation, legal proceedings or insolvency with arrears, and neither operating cash flow nor sales "
         "show a business worth continuing: consider an orderly exit under the 経営者保証ガイドライン and support "
         "for the owner's next start (re-challenge)."),
    Rule("serious_viable", "revitalisation", _SERIOUS, (),
         "代位弁済・法的手続・延滞を伴う債務超過のいずれかに至ったが、営業キャッシュフローが黒字または売上が保たれており"
         "事業価値が残る。債務の条件変更・DES/DDS等を伴う事業再生を検討。",
         "Subrogation, legal proceedings or insolvency with arrears, but operating cash flow is positive or sales are "
         "holding (or not yet known): the business may still be worth saving; consider revitalisation with debt measures."),
    Rule("repayment_broken", "revitalisation", ("dpd_90", "restructured", "class_special_attention", "in_event"), (),
         "3ヶ月以上の延滞、条件変更、要管理先以下への区分、または劣化事象の発生。返済計画の抜本的な見直しを伴う"
         "事業再生支援を検討。",
         "90+ days past due, a restructured loan, a special-attention (or worse) classification, or a deterioration "
         "event already reported: consider revitalisation support with a new repayment plan."),
    Rule("repayment_strain", "management_improvement",
         ("dpd_30", "partial_payment", "failed_debits", "tax_stopped", "social_insurance_stopped", "payroll_stopped",
          "tax_arrears_found", "class_watch", "incident_reported", "guarantee_adverse", "adverse_elsewhere"), (),
         "返済・支払に綻びが出始めている（1ヶ月以上の延滞、振替不能、納税・社会保険料の停止、要注意先など）。"
         "早期経営改善計画や経営改善計画策定支援（405事業）による経営改善を検討。",
         "Repayment and payments are starting to slip (30+ days past due, failed debits, tax or social insurance "
         "stopped, a watch classification …): consider management improvement (早期経営改善計画, 405 plan)."),
    Rule("earnings_signs", "profitability", ("other_signs",), (),
         "返済は保たれているが、収益・財務・預金・定性面に兆候がある。収益力改善計画による早期の立て直しを検討。",
         "Repayment is intact, but earnings, balance-sheet, account or qualitative signs have appeared: consider an "
         "early profitability improvement plan."),
    Rule("score_only", "profitability", ("score",), (),
         "返済の兆候も個別の兆候もないが、リスクスコアが高い（または直近まで高かった）。事業の状況を確認し、"
         "収益力改善の要否を検討。",
         "No repayment or other warning sign, but the risk score is (or was until recently) high: check how the "
         "business is doing and whether a profitability improvement plan is needed."),
]


def _validate() -> None:
    for rule in RULES:
        if rule.phase not in PHASES:
            raise ValueError(f"routing rule {rule.id} names an unknown phase {rule.phase}")
        unknown = set(rule.any_of + rule.all_of) - CONDITIONS.keys()
        if unknown or not rule.any_of:
            raise ValueError(f"routing rule {rule.id}: unknown conditions {sorted(unknown)} or empty any_of")
    if RULES[-1].any_of != ("score",) or RULES[-1].all_of:
        raise ValueError("the last routing rule must catch every case")


_validate()


def _holds(ids: tuple[str, ...], combine: str) -> pl.Expr:
    exprs = [CONDITIONS[i].expr for i in ids]
    return pl.any_horizontal(exprs) if combine == "any" else pl.all_horizontal(exprs)


def _matched(rule: Rule, lang: str) -> pl.Expr:
    """The labels of the rule's conditions that hold, joined for the reason text."""
    labels = [pl.when(CONDITIONS[i].expr).then(pl.lit(getattr(CONDITIONS[i], lang)))
              for i in rule.any_of + rule.all_of]
    return pl.concat_list(labels).list.drop_nulls().list.join("、" if lang == "ja" else "; ")


def route(facts: pl.DataFrame) -> pl.DataFrame:
    """The facts with `phase`, `phase_rule`, `phase_reason_ja` and `phase_reason_en` added:
    the first rule of RULES that matches, and its reason followed by the conditions that held."""
    missing = set(FACT_SCHEMA) - set(facts.columns) - {"business_key"}
    if missing:
        raise KeyError(f"routing facts lack {sorted(missing)}")
    phase = rule_id = reason_ja = reason_en = None
    for rule in reversed(RULES):  # built inside out: the first rule ends outermost
        match = _holds(rule.any_of, "any")
        if rule.all_of:
            match = match & _holds(rule.all_of, "all")
        ja = pl.lit(rule.reason_ja + "（該当: ") + _matched(rule, "ja") + pl.lit("）")
        en = pl.lit(rule.reason_en + " Found: ") + _matched(rule, "en") + pl.lit(".")
        if phase is None:
            phase, rule_id, reason_ja, reason_en = pl.lit(rule.phase), pl.lit(rule.id), ja, en
        else:
            phase = pl.when(match).then(pl.lit(rule.phase)).otherwise(phase)
            rule_id = pl.when(match).then(pl.lit(rule.id)).otherwise(rule_id)
            reason_ja = pl.when(match).then(ja).otherwise(reason_ja)
            reason_en = pl.when(match).then(en).otherwise(reason_en)
    return facts.with_columns(phase=phase, phase_rule=rule_id, phase_reason_ja=reason_ja, phase_reason_en=reason_en)
