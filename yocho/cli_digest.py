"""`yocho digest`: the daily e-mail digests from the server's shell (the `daily-digest`
deployment runs the same function, flows/digest.py). `--dry-run` prints what would be sent —
recipients, subjects and bodies — and sends and records nothing, whatever
`notifications.enabled` says."""
from __future__ import annotations

from pathlib import Path

import typer

from yocho.cli_users import DataDir, _queue, err, out


def digest_command(
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the digests that would be sent now; send nothing."),
    data_dir: Path | None = DataDir,
) -> None:
    """Send each user the day's e-mail digest of their new work (off unless notifications.enabled)."""
    from signals.queue.digest import due_digests, send_digests
    from yocho.settings import load_settings

    notifications = load_settings().notifications
    with _queue(data_dir) as store:
        if dry_run:
            run = due_digests(store, notifications)
            state = "on" if notifications.enabled else "off (notifications.enabled): a real run sends nothing"
            err.print(f"dry run for {run.day} (Japan); e-mail is {state}; {len(run.digests)} digest(s) due, "
                      f"{len(run.nothing_new)} user(s) with nothing new, {len(run.already_sent)} already sent today",
                      soft_wrap=True, highlight=False)
            for digest in run.digests:
                out.print(f"To: {digest.recipient.email} ({digest.username})\nSubject: {digest.subject}\n",
                          soft_wrap=True, highlight=False, markup=False)
                out.print(digest.body, soft_wrap=True, highlight=False, markup=False)
            return
        run = send_digests(store, notifications)
    if run.note:
        err.print(run.note, highlight=False)
    err.print(f"{run.day}: {len(run.sent)} sent, {len(run.failed)} failed, {len(run.nothing_new)} with nothing new, "
              f"{len(run.already_sent)} already sent today", highlight=False)
    for username, error in run.failed:
        err.print(f"[red]not sent[/red] to {username}: {error} (retried at the next run)", soft_wrap=True,
                  highlight=False)
    if run.failed:
        raise typer.Exit(1)
