"""The demo's support after the referral: the councils accept some of the demo's referrals and
record the stages that followed (signals/queue/stages.py), so that the case page's timeline,
the KPI page's council report and the did-it-work section have something to show.

Dates run forward from the night's date (`DemoClock`), never past the real today: the
referrals are made a few days after the night, the councils accept them days later, and the
stages follow within weeks. The demo's history ends there, so 12 and 24 months after a plan
agreed are not available yet, and the KPI page says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from signals.queue import QueueStore, State, authenticate
from signals.queue.auth import demo_password
from yocho.demo_referrals import DemoReferral

# What the councils do with the demo's referrals, by the referral's place among its council's:
# (days after the referral, stage or "accepted", measures, the council's note). The second
# script runs at the first council only, so the other councils keep a referral waiting at intake.
SCRIPTS: dict[int, tuple[tuple[int, str, tuple[str, ...], str], ...]] = {
    0: ((4, "accepted", (), ""),
        (4, "window_consultation", (), "デモ：紹介元の金融機関同席で窓口相談"),
        (8, "pre_consultation", (), "デモ：資金繰り表と試算表を受領、事前相談"),
        (15, "management_improvement", ("value_up",), "デモ：Vアップで経営改善計画の策定を支援"),
        (16, "plan_started", (), "デモ：外部専門家を選定、計画策定開始"),
        (27, "plan_agreed", (), "デモ：全取引金融機関が計画に同意")),
    1: ((5, "accepted", (), ""),
        (9, "pre_consultation", (), "デモ：事前相談、債務超過の解消見込みを確認"),
        (20, "revitalization", ("pre_revitalization",), "デモ：プレ再生で資金繰りを安定させる")),
}
MANUAL_KEY_SUFFIX = "DEMO-士業-001"


class DemoClock:
    """The store's clock in the demo's support step: a set day (10:00 in Japan), never later
    than the real now, so nothing is recorded in the future."""

    def __init__(self, day: date) -> None:
        self.set_day(day)

    def set_day(self, day: date) -> None:
        self.moment = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return min(self.moment, datetime.now(UTC))


@dataclass(frozen=True)
class DemoSupport:
    case_id: int
    council_id: str
    stages: tuple[str, ...]  # the stages recorded, in order (accepted first)


def _login(store: QueueStore, username: str):  # noqa: ANN202 - a User or None
    return authenticate(store, username, demo_password(username))


def support_demo_cases(store: QueueStore, clock: DemoClock, referrals: list[DemoReferral],
                       referred_on: date) -> list[DemoSupport]:
    """Accept and follow the first referrals at each council (SCRIPTS), and register one 士業
    referral by hand at the first council, accepted: the council report's routes then show
    more than banks."""
    place: dict[str, int] = {}
    done: list[DemoSupport] = []
    for referral in referrals:
        n = place[referral.council_id] = place.get(referral.council_id, -1) + 1
        intake = _login(store, f"intake.{referral.council_id}")
        if n not in SCRIPTS or intake is None or (n > 0 and len(place) > 1):
            continue
        recorded = []
        for days, stage, measures, note in SCRIPTS[n]:
            clock.set_day(referred_on + timedelta(days=days))
            if stage == "accepted":
                case = store.get_case(intake, referral.case_id)
                store.transition(intake, referral.case_id, State.ACCEPTED, expected_version=case.version,
                                 note="デモ：受付（事前相談へ）")
            else:
                store.record_stage(intake, referral.case_id, stage, on=store.today(), measures=measures, note=note)
            recorded.append(stage)
        done.append(DemoSupport(referral.case_id, referral.council_id, tuple(recorded)))
    first = next(iter(referrals), None)
    intake = _login(store, f"intake.{first.council_id}") if first else None
    if first is not None and intake is not None:
        clock.set_day(referred_on + timedelta(days=6))
        lead = first.referred_by.split(".", 1)[1]
        manual = store.register_manual_referral(intake, f"{lead}:{MANUAL_KEY_SUFFIX}", "professional",
                                                "デモ：顧問税理士からの持込", phase="profitability")
        store.transition(intake, manual.id, State.ACCEPTED, expected_version=manual.version)
        store.record_stage(intake, manual.id, "earnings_improvement", on=store.today(), note="デモ：収益力改善支援")
        done.append(DemoSupport(manual.id, first.council_id, ("accepted", "earnings_improvement")))
    return done
