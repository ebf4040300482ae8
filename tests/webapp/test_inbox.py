"""The inbox (受信箱) in the web app: the header's unread count, the list newest first with links
to the cases, marking one or all read (with the CSRF token), each user's own scope, English; and
administrators setting the digest's e-mail addresses."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from tests.webapp.conftest import BANK_A, BANK_B, CGA, Business, Seeded, as_user, flags_frame

NOV = date(2026, 11, 30)
NEW = [Business("N1", "7100010000001", [(BANK_A, "A-0101")], 0.2, "high", ["rep_dpd_30"], "profitability",
                date(2026, 10, 31), 0.5),
       Business("N2", "7100010000002", [(BANK_A, "A-0102"), (CGA, "G-0102")], 0.2, "high", ["rep_dpd_30"],
                "profitability", date(2026, 10, 31), 0.4),
       Business("N3", "7100020000003", [(BANK_B, "B-0103")], 0.2, "high", ["rep_dpd_30"], "profitability",
                date(2026, 10, 31), 0.3)]


def november(seeded: Seeded) -> dict[str, int]:
    """A November night opening three cases (two of bank A, one shared with the CGA; one of bank B)."""
    seeded.clock.set_day(date(2026, 12, 1))
    seeded.store.apply_flags(flags_frame(NOV, NEW), NOV, 6)
    found = {c.business_key: c.id for c in seeded.store.all_cases(seeded.users["admin"])}
    return {b.label: found[b.key] for b in NEW}


def count_in_header(html: str) -> int | None:
    found = re.search(r'data-testid="inbox-count">([\d,]+)<', html)
    return int(found.group(1).replace(",", "")) if found else None


def listed(html: str) -> list[tuple[str, int | None]]:
    return [(kind, int(case) if case else None) for kind, case in
            re.findall(r'<tr data-kind="(\w+)" data-ref="\d+" (?:data-case-id="(\d+)")?', html)]


def test_the_header_counts_unread_items_and_the_inbox_lists_them(app: Any, seeded: Seeded) -> None:
    ids = november(seeded)
    bank_a = as_user(app, "bank_a").client
    worklist = bank_a.get("/cases").text
    # A5 (opened by the October night, 5 November) and the two November cases
    assert count_in_header(worklist) == 3 and 'href="/inbox"' in worklist and "受信箱" in worklist
    page = bank_a.get("/inbox")
    assert page.status_code == 200
    # newest first (the night's rows share a time: the later row first)
    assert listed(page.text) == [("case_opened", ids["N2"]), ("case_opened", ids["N1"]),
                                 ("case_opened", seeded.case_ids["A5"])]
    assert f'href="/cases/{ids["N1"]}"' in page.text and "3件（未読 3件）" in page.text
    assert "新規案件" in page.text and "2026-11-30" in page.text  # the night's note, in the page's words
    # never another institution's case
    assert str(ids["N3"]) not in re.findall(r'data-case-id="(\d+)"', page.text)
    assert listed(as_user(app, "bank_b").client.get("/inbox").text) == [("case_opened", ids["N3"])]
    assert listed(as_user(app, "cga").client.get("/inbox").text) == [("case_opened", ids["N2"])]
    english = bank_a.get("/inbox?lang=en").text
    assert "Inbox" in english and "3 items, 3 unread" in english and "New case" in english


def test_marking_one_or_all_read(app: Any, seeded: Seeded) -> None:
    ids = november(seeded)
    reviewer = as_user(app, "bank_a")
    page = reviewer.client.get("/inbox").text
    ref = re.search(rf'<tr data-kind="case_opened" data-ref="(\d+)" data-case-id="{ids["N1"]}"', page).group(1)
    # without the form's CSRF token: refused, nothing marked
    assert reviewer.client.post("/inbox/read", data={"kind": "case_opened", "ref_id": ref}).status_code == 403
    done = reviewer.post("/inbox/read", {"kind": "case_opened", "ref_id": ref}, token_from="/inbox")
    assert done.status_code == 303 and done.headers["location"] == "/inbox"
    page = reviewer.client.get("/inbox").text
    assert count_in_header(page) == 2 and "3件（未読 2件）" in page
    unread_only = reviewer.client.get("/inbox?show=unread").text
    assert sorted(c for _, c in listed(unread_only)) == sorted([ids["N2"], seeded.case_ids["A5"]])
    # bank B's item is not bank A's to mark: the 404 of an item that does not exist
    bank_b = as_user(app, "bank_b")
    other = re.search(r'<tr data-kind="case_opened" data-ref="(\d+)"', bank_b.client.get("/inbox").text).group(1)
    assert reviewer.post("/inbox/read", {"kind": "case_opened", "ref_id": other}, token_from="/inbox").status_code == 404
    assert count_in_header(bank_b.client.get("/cases").text) == 1
    everything = reviewer.post("/inbox/read-all", {}, token_from="/inbox")
    assert everything.status_code == 303
    page = reviewer.client.get("/inbox").text
    assert count_in_header(page) is None and "すべて既読にしました" in page and len(listed(page)) == 3
    assert 'data-testid="unread"' not in page
    assert count_in_header(as_user(app, "cga").client.get("/cases").text) == 1  # the CGA's own state


def test_council_intake_and_administrators_get_their_own_kinds(app: Any, seeded: Seeded) -> None:
    council = as_user(app, "council").client.get("/inbox").text
    # the two institutions' referrals of 8 and 10 November; its own manual one is not news to it
    assert sorted(listed(council)) == sorted([("referral_received", seeded.case_ids["A4"]),
                                              ("referral_received", seeded.case_ids["B2"])])
    admin = as_user(app, "admin")
    assert listed(admin.client.get("/inbox").text) == []
    page = admin.client.get("/admin/users").text
    created = admin.post("/admin/users", {"username": "new.reviewer", "display_name": "新任", "role": "bank_reviewer",
                                          "institution_id": BANK_A, "password": "initial-pass-1",
                                          "password_confirm": "initial-pass-1"}, token_from="/admin/users")
    assert created.status_code == 303 and page
    inbox = admin.client.get("/inbox").text
    assert ("password_pending", None) in listed(inbox) and 'href="/admin/users">new.reviewer<' in inbox


def test_administrators_set_the_digest_address(app: Any, seeded: Seeded) -> None:
    admin = as_user(app, "admin")
    saved = admin.post(f"/admin/users/reviewer.{BANK_A}/email", {"email": "a@bank-a.example.jp"},
                       token_from="/admin/users")
    assert saved.status_code == 303
    page = admin.client.get("/admin/users").text
    assert "a@bank-a.example.jp" in page and "メールアドレスを保存しました" in page
    bad = admin.post(f"/admin/users/reviewer.{BANK_A}/email", {"email": "no address"}, token_from="/admin/users")
    assert bad.status_code == 400 and "not an e-mail address" in bad.text
    reviewer = as_user(app, "bank_a")
    assert reviewer.post(f"/admin/users/reviewer.{BANK_A}/email", {"email": "x@example.jp"},
                         token_from="/cases").status_code == 404
    from signals.queue.contacts import emails
    assert emails(seeded.store, seeded.users["admin"]) == {f"reviewer.{BANK_A}": "a@bank-a.example.jp"}
