"""From the warehouse to the referral queue: the night's flags become cases, once, within each
lead institution's monthly review budget; the rest wait below the line."""
from __future__ import annotations

import shutil

from features.scan import month_ends
from models.registry import Registry
from models.score import score
from signals.queue import CaseQuery, QueueStore, seed_demo_users
from signals.refresh import refresh_queue
from tests.conftest import LAST_SCAN
from yocho.warehouse.db import warehouse


def test_flags_open_cases_within_the_budgets_and_a_second_night_opens_none(trained, tmp_path):
    settings = trained.settings.model_copy(update={"data_dir": tmp_path})
    shutil.copy(trained.settings.warehouse_path, settings.warehouse_path)
    with warehouse(settings) as con, QueueStore.from_settings(settings) as store:
        score(con, Registry(trained.settings.models_dir), month_ends(LAST_SCAN, 6), settings.models)
        first = refresh_queue(con, store, LAST_SCAN, settings)
        again = refresh_queue(con, store, LAST_SCAN, settings)
        users = {u.username: u for u in seed_demo_users(store, ["bank_0116", "bank_0117", "bank_0119", "cga_01"])}
        from signals.queue import authenticate

        admin = authenticate(store, "admin", users["admin"].password)
        reviewer = authenticate(store, "reviewer.bank_0116", users["reviewer.bank_0116"].password)
        all_cases = store.all_cases(admin, CaseQuery())
        own = store.all_cases(reviewer, CaseQuery())

    applied, budgets = first["applied"], first["budgets"]
    assert first["flagged"] > 50 and applied["opened"] + applied["waiting"] == first["flagged"]
    assert sum(p["businesses"] for p in first["by_phase"]) == first["flagged"]
    # each lead institution opens up to its budget, 1.5% of the businesses it monitors
    assert budgets and all(b["budget"] == max(1, int(b["monitored"] * 0.015)) for b in budgets)
    assert all(b["opened"] == min(b["budget"], b["opened"] + b["waiting"]) for b in budgets)
    assert sum(b["opened"] for b in budgets) == applied["opened"] < first["flagged"]
    assert all(100 < b["monitored"] <= 1_500 for b in budgets)
    # re-running the same night opens nothing and keeps the same list below the line
    assert again["applied"]["opened"] == 0 and again["applied"]["unchanged"] == applied["opened"]
    assert again["applied"]["waiting"] == applied["waiting"]
    assert len(all_cases) == applied["opened"] == len({c.business_key for c in all_cases})
    # a bank's reviewer sees its own borrowers only, a real share of the queue
    assert 0 < len(own) < len(all_cases)
