"""Digest flow: each user's daily e-mail of their new work (signals/queue/digest.py), after the
nightly flags. Off unless `notifications.enabled`; a failed send is recorded and retried by the
next run, never a failed flow run."""
from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from signals.queue import QueueStore
from signals.queue.digest import DigestRun, send_digests
from yocho.settings import Settings, load_settings


def digest_summary(run: DigestRun) -> dict:
    return {"day": run.day.isoformat(), "sent": run.sent, "failed": [{"user": u, "error": e} for u, e in run.failed],
            "nothing_new": len(run.nothing_new), "already_sent": len(run.already_sent), "note": run.note}


def digest_markdown(summary: dict) -> str:
    lines = [f"Digests for {summary['day']} (Japan): {len(summary['sent'])} sent, {len(summary['failed'])} failed, "
             f"{summary['nothing_new']} with nothing new, {summary['already_sent']} already sent today"]
    if summary["note"]:
        lines += ["", summary["note"]]
    if summary["failed"]:
        lines += ["", "| user | error (retried at the next run) |", "|---|---|"]
        lines += [f"| {f['user']} | {f['error'].replace('|', '/')} |" for f in summary["failed"]]
    return "\n".join(lines)


@flow(name="digest")
def digest_flow(settings: Settings | None = None) -> dict:
    """Send the day's digests (Asia/Tokyo) to users with an address and new work."""
    settings = settings or load_settings()
    with QueueStore.from_settings(settings) as store:
        summary = digest_summary(send_digests(store, settings.notifications))
    create_markdown_artifact(key="queue-digest", markdown=digest_markdown(summary))
    return summary
