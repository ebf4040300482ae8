"""The demo's support step (yocho/demo_support.py) on the web tests' seeded queue: some demo
referrals are accepted and followed by the stages of the council's support, dated forward
from the referral and never in the future, so the timeline, the council report and the
did-it-work cohort have something to show."""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from signals.queue import QueueStore, State, authenticate
from signals.queue.auth import demo_password
from signals.queue.stage_kpis import NATIONAL
from tests.webapp.conftest import FAST_SCRYPT, seed_queue
from yocho.demo_referrals import refer_demo_cases
from yocho.demo_support import DemoClock, support_demo_cases


def test_the_demo_accepts_referrals_and_records_the_support_that_followed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'queue.sqlite'}"
    seed_queue(url, tmp_path / "data").store.close()
    referred_on = date(2026, 11, 3)
    clock = DemoClock(referred_on)
    with QueueStore(url, clock=clock, password_params=FAST_SCRYPT) as store:
        referrals = refer_demo_cases(store)
        supported = support_demo_cases(store, clock, referrals, referred_on)
        admin = authenticate(store, "admin", demo_password("admin"))
        assert referrals and supported
        first = supported[0]
        assert first.stages == ("accepted", "window_consultation", "pre_consultation", "management_improvement",
                                "plan_started", "plan_agreed")
        timeline = store.stage_timeline(admin, first.case_id)
        assert [e.on for e in timeline] == sorted(e.on for e in timeline)
        assert timeline[0].on == date(2026, 11, 7) and timeline[-1].on == date(2026, 11, 30)
        assert all(e.note is None for e in timeline)  # the administrator reads no council note
        assert timeline[2].measures and timeline[2].measures[0].value == "value_up"
        assert store.get_case(admin, first.case_id).state is State.ACCEPTED
        report = store.stage_kpis(admin)
        routes = {route for (_, route) in report.consultations[NATIONAL]}
        assert {"金融機関", "士業"} <= routes
        assert report.durations[NATIONAL]["referral_to_plan"].count >= 1
        cohort = store.followup_cohort(admin)
        assert set(cohort.filter(cohort["grp"] == "referred")["plan_agreed_on"]) == {date(2026, 11, 30)}
        # nothing dated after the real today, whatever the demo's dates
        assert max(e.on for s in supported for e in store.stage_timeline(admin, s.case_id)) <= \
            datetime.now(UTC).date()
