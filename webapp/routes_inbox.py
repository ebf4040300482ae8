"""The inbox (受信箱, `/inbox`): the new work the logged-in user owns (signals/queue/notifications.py)
— cases the nightly flags opened, snoozes ended, new critical signs and the council's decisions
for reviewers and analysts, referrals received for council intake, accounts waiting for a
password change or locked for administrators — newest first, each linking to its case (or the
admin page), with the unread ones marked. "Mark as read" for one item or all of them is a
POST with the CSRF token like every form. The items are read in the store, in the user's scope:
an item of another institution is not found, like one that does not exist (404).

The header shows the number of unread items on every page (`unread_badge`, called by
webapp/context.py's `render`)."""
from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from signals.queue.lifecycle import QueueError
from signals.queue.notifications import KINDS_OF, counts, items, link_of, mark_all_read, mark_read, unread_count
from signals.queue.store import QueueStore, User
from webapp.context import current_user, queue_store, render, translator
from webapp.security import flash

log = logging.getLogger(__name__)

router = APIRouter()

INBOX = "/inbox"


def unread_badge(queue: QueueStore, user: User) -> int | None:
    """The header's count; None when it cannot be read (the page still renders without it)."""
    try:
        return unread_count(queue, user)
    except QueueError:
        return None


@router.get(INBOX, response_class=HTMLResponse)
def inbox(request: Request, user: User = Depends(current_user), queue: QueueStore = Depends(queue_store)) -> Response:
    unread_only = request.query_params.get("show") == "unread"
    found = items(queue, user, unread_only=unread_only)
    unread = sum(1 for i in found if not i.read)
    return render(request, "inbox.html", nav="inbox", items=found, tally=counts(found), unread=unread,
                  unread_only=unread_only, link_of=link_of, kinds=KINDS_OF.get(user.role, ()))


@router.post(INBOX + "/read-all")
def inbox_read_all(request: Request, user: User = Depends(current_user),
                   queue: QueueStore = Depends(queue_store)) -> Response:
    mark_all_read(queue, user)
    flash(request, "ok", translator(request)("inbox_all_read"))
    return RedirectResponse(INBOX, status_code=303)


@router.post(INBOX + "/read")
def inbox_read_one(request: Request, user: User = Depends(current_user), queue: QueueStore = Depends(queue_store),
                   kind: str = Form(""), ref_id: int = Form(0), next: str = Form("")) -> Response:  # noqa: A002
    mark_read(queue, user, kind[:32], ref_id)  # NotFound (another's item, none): 404
    # back to the inbox, or on to the item's case when the user followed its link
    target = next if next.startswith("/cases/") and next[7:].isdigit() else INBOX
    return RedirectResponse(target, status_code=303)
