"""Qualitative observations (定性情報): what relationship managers record about the business.

Each observation carries a controlled code (OBSERVATION_CODES). One indicator per meaningful
code; `other` (その他) is not a warning sign by itself and has no indicator.

Decay. An observation's weight as of T is exp(-ln2 * age / `half_life_months`) = 0.5^(age /
half-life), age being the months from observed_on to T (days / 30.4375, never negative). The
indicator's value is the sum of the weights of the observations with its code received by T;
it fires when the value is at least `min_weight` (0.5 by default: one observation within one
half-life, or several older ones). Observations older than six half-lives (weight below 1/64)
are left out so that the computation stays bounded. An observation re-sent under the same
record number (a correction, later received_on) counts once, in its latest version received
by T -- a correction may change its code or date (the point-in-time layer,
yocho/warehouse/pit.py, read back as far as the longest six half-lives).

Availability. A bank that sends no observations at all tells nothing, so "no observation" is
informative only where some institution that knows the business does record observations.
An indicator is available for business B as of T when some institution I (1) knows B by T --
I has sent at least one row of any feed except `events` about B received by T -- and (2)
observes by T -- I has an observation (about any business, in any shard) in force at T, i.e.
has sent at least one observation received by T. An observation about B itself satisfies
both. Otherwise value, fired and evidence are NULL.
"""
from features.catalog import Family, Indicator, Severity, Threshold

_FEEDS = ("observations",)

_MIN_WEIGHT = Threshold(
    "min_weight", 0.5,
    "0.5 is one observation within one half-life (or several older ones): relationship managers "
    "record a coded observation only when they judge it material, so one fresh record is a sign, "
    "while a single record older than its half-life is background.",
)


def _obs(code: str, ja: str, en: str, severity: Severity, half_life: float, reason: str, what: str) -> Indicator:
    return Indicator(
        id=f"obs_{code}",
        ja=ja,
        en=en,
        family=Family.QUALITATIVE,
        feeds=_FEEDS,
        definition=f"Decayed count of observations coded `{code}` ({what}) received by the as-of date: the sum "
        "over those observations of 0.5^(age / `half_life_months`), age being the months from observed_on to "
        "the as-of date (days / 30.4375); observations older than six half-lives are left out and a re-sent "
        "record counts once in its latest version. Fires when the sum is at least `min_weight`. Available when "
        "an institution that knows the business by the as-of date has sent any observation (about any "
        "business) by then.",
        unit="weighted observations",
        severity=severity,
        thresholds=(Threshold("half_life_months", half_life, reason), _MIN_WEIGHT),
    )


INDICATORS = (
    _obs("management_unreachable", "経営者と連絡が取れない", "Management unreachable", Severity.HIGH, 6,
         "連絡不通 is acute: it either ends within months in 所在不明/夜逃げ or business closure, or contact "
         "resumes; after half a year without a new record it carries half its weight.",
         "経営者と連絡が取れない"),
    _obs("key_customer_lost", "主要取引先の喪失", "Key customer lost", Severity.MEDIUM, 12,
         "Losing a main customer hits sales and cash flow within the next fiscal year; after a year the "
         "business has either replaced the sales or the loss shows in its statements.",
         "主要取引先の喪失"),
    _obs("successor_absent", "後継者不在", "No successor", Severity.LOW, 24,
         "Absence of a successor is structural (事業承継問題): it does not go away in months and matters as "
         "the owner ages, so it decays slowly, over a two-year half-life.",
         "後継者不在"),
    _obs("owner_illness", "経営者の健康問題", "Owner's health problem", Severity.MEDIUM, 12,
         "In a small business the owner is the business; a health problem disrupts sales and management for "
         "months, and recovery, succession or closure is usually settled within about a year.",
         "経営者の健康問題"),
    _obs("staff_leaving", "従業員の退職が続く", "Staff leaving", Severity.MEDIUM, 9,
         "Successive departures disrupt operations over the following months; replacements are usually "
         "hired within a few months, so the sign halves in about three quarters of a year.",
         "従業員の退職が続く"),
    _obs("refuses_financials", "決算書等の提出拒否", "Refuses to submit financials", Severity.HIGH, 12,
         "Statements are due once a year after each 決算; a refusal concerns that year's statements and stays "
         "relevant until the next annual statements are (or are not) submitted a year later.",
         "決算書等の提出拒否"),
    _obs("tax_arrears_found", "税金・社会保険料の滞納判明", "Tax or social-insurance arrears found", Severity.HIGH, 12,
         "Tax and social-insurance arrears lead to 差押え of deposits and receivables (a 期限の利益喪失 ground "
         "in bank agreements); a 換価の猶予/納付猶予 payment plan runs up to one year, by which time the arrears "
         "are cleared or enforced.",
         "税金・社会保険料の滞納判明"),
    _obs("litigation", "訴訟・係争", "Litigation", Severity.MEDIUM, 12,
         "A first-instance civil case at a 地方裁判所 takes about a year on average; the exposure (damages, "
         "unpaid claims) is usually settled or decided within that time.",
         "訴訟・係争"),
    _obs("disaster", "被災", "Hit by a disaster", Severity.MEDIUM, 12,
         "Losses and interruption after 被災 play out over the following year (災害関係保証 and restoration "
         "financing are taken in that period) and then show in the next annual statements.",
         "被災"),
)
