"""Progress with an ETA for the steps that take more than a few seconds.

    with progress.task("指標を計算 / computing indicators", total=len(dates)) as p:
        for batch in batches:
            ...
            p.advance(len(batch))

The reporter decides how to show it, so callers do not care where they run:

- stderr is a terminal: a `rich` progress bar with the elapsed time and the time remaining
  (one live display per process; steps inside steps get a row each);
- otherwise (CI logs, a scheduled run, a busy machine's log file): a plain line every
  `LOG_EVERY` seconds with done/total and the ETA, and one when the step ends, so a long
  step shows life without flooding the log (a step shorter than that prints nothing);
- inside a Prefect flow or task run, also a progress artifact (0 to 100) under `key`,
  updated at most every `ARTIFACT_EVERY` seconds and set to 100 when the step completes.

Reporting never fails the work: an artifact the API refuses is logged once and dropped.
The ETA is linear in the work done so far (elapsed / done × remaining).
"""
from __future__ import annotations

import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

log = logging.getLogger(__name__)

# Seconds between two plain progress lines, and between two updates of a Prefect artifact.
LOG_EVERY = 10.0
ARTIFACT_EVERY = 5.0


def _duration(seconds: float) -> str:
    seconds = max(int(round(seconds)), 0)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def default_key(label: str) -> str:
    """An artifact key from a label's English part ("指標を計算 / computing indicators" ->
    "progress-computing-indicators"): Prefect keys are lowercase letters, digits and dashes."""
    english = label.rsplit("/", 1)[-1]
    slug = re.sub(r"[^a-z0-9]+", "-", english.lower()).strip("-")
    return f"progress-{slug or 'step'}"


class Reporter:
    """One step's progress: `advance(k)` after each piece of work, or `update(done, total)`
    with absolute figures (a callback such as the generator's `progress(done, total)`)."""

    def __init__(self, label: str, total: float | None, clock: Callable[[], float]):
        self.label, self.total, self._clock = label, total, clock
        self.done = 0.0
        self.started = clock()
        self._lock = threading.Lock()
        self._sinks: list[_Sink] = []

    def advance(self, k: float = 1) -> None:
        with self._lock:  # steps may advance from several threads (Prefect runs tasks in threads)
            self.done += k
            self._show()

    def update(self, done: float, total: float | None = None) -> None:
        with self._lock:
            self.done = done
            if total is not None:
                self.total = total
            self._show()

    def elapsed(self) -> float:
        return self._clock() - self.started

    def eta(self) -> float | None:
        """Seconds left, from the pace so far; None before any work or without a total."""
        if not self.total or self.done <= 0:
            return None
        return self.elapsed() / self.done * max(self.total - self.done, 0)

    def percent(self) -> float | None:
        return None if not self.total else min(100.0, 100.0 * self.done / self.total)

    def line(self) -> str:
        """The plain text of where the step stands."""
        done = f"{self.done:,.0f}"
        if self.total:
            eta = self.eta()
            return (f"{self.label}: {done}/{self.total:,.0f} ({self.percent():.0f}%), {_duration(self.elapsed())} "
                    f"elapsed, ETA {'?' if eta is None else _duration(eta)}")
        return f"{self.label}: {done} done, {_duration(self.elapsed())} elapsed"

    def _show(self) -> None:
        for sink in self._sinks:
            sink.show(self)


class _Sink:
    def show(self, r: Reporter) -> None: ...

    def close(self, r: Reporter, completed: bool) -> None: ...


class _Lines(_Sink):
    """A line every `every` seconds, and one at the end of a step that printed any."""

    def __init__(self, stream: TextIO, every: float):
        self.stream, self.every = stream, every
        self.last: float | None = None

    def show(self, r: Reporter) -> None:
        now = r._clock()
        if now - (r.started if self.last is None else self.last) >= self.every:
            self._write(r.line())
            self.last = now

    def close(self, r: Reporter, completed: bool) -> None:
        if self.last is not None or r.elapsed() >= self.every:
            self._write(f"{r.label}: {'done' if completed else 'stopped'}, {r.done:,.0f}"
                        f"{'' if not r.total else f'/{r.total:,.0f}'} in {_duration(r.elapsed())}")

    def _write(self, text: str) -> None:
        self.stream.write(f"[progress] {text}\n")
        self.stream.flush()


class _Bar(_Sink):
    """A row in the process's one rich live display (started with the first step, stopped
    with the last)."""

    _lock = threading.Lock()
    _progress = None
    _rows = 0

    def __init__(self, r: Reporter, stream: TextIO):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        with _Bar._lock:
            if _Bar._progress is None:
                _Bar._progress = Progress(
                    TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TextColumn("ETA"), TimeRemainingColumn(), console=Console(file=stream))
                _Bar._progress.start()
            _Bar._rows += 1
            self.progress = _Bar._progress
            self.row = self.progress.add_task(r.label, total=r.total)

    def show(self, r: Reporter) -> None:
        self.progress.update(self.row, completed=r.done, total=r.total)

    def close(self, r: Reporter, completed: bool) -> None:
        self.progress.update(self.row, completed=r.total if completed and r.total else r.done)
        with _Bar._lock:
            _Bar._rows -= 1
            if _Bar._rows == 0:
                self.progress.stop()
                _Bar._progress = None


class _Artifact(_Sink):
    """A Prefect progress artifact of the current flow or task run."""

    def __init__(self, r: Reporter, key: str, every: float):
        from prefect.artifacts import create_progress_artifact

        self.key, self.every = key, every
        self.id = None
        self.last = r._clock()
        try:
            # _sync: these helpers return a coroutine when they think they run in async code
            self.id = create_progress_artifact(0.0, key=key, description=r.label, _sync=True)
        except Exception as exc:  # noqa: BLE001 - progress must never fail the step
            log.warning("progress artifact %s not created: %s", key, exc)

    def _set(self, value: float, r: Reporter) -> None:
        from prefect.artifacts import update_progress_artifact

        if self.id is None:
            return
        try:
            update_progress_artifact(self.id, value, description=r.line(), _sync=True)
        except Exception as exc:  # noqa: BLE001
            log.warning("progress artifact %s not updated: %s", self.key, exc)
            self.id = None

    def show(self, r: Reporter) -> None:
        now = r._clock()
        if now - self.last >= self.every and r.percent() is not None:
            self.last = now
            self._set(r.percent(), r)

    def close(self, r: Reporter, completed: bool) -> None:
        if completed:
            self._set(100.0, r)
        elif r.percent() is not None:
            self._set(r.percent(), r)


def in_prefect_run() -> bool:
    """True inside a Prefect flow or task run (where an artifact has a run to belong to)."""
    try:
        from prefect.context import FlowRunContext, TaskRunContext
    except ImportError:
        return False
    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


@contextmanager
def task(label: str, total: float | None = None, *, key: str | None = None, stream: TextIO | None = None,
         clock: Callable[[], float] = time.monotonic, tty: bool | None = None,
         artifact: bool | None = None) -> Iterator[Reporter]:
    """Report the progress of one step (see the module's docstring). `label`: 日本語 / English;
    `total`: units of work (None: unknown); `key`: the Prefect artifact's key (default from the
    label). `stream` (stderr), `clock`, `tty` (the stream's own answer) and `artifact` (whether
    in a Prefect run) are for tests."""
    stream = stream or sys.stderr
    reporter = Reporter(label, total, clock)
    if tty is None:
        tty = hasattr(stream, "isatty") and stream.isatty()
    reporter._sinks.append(_Bar(reporter, stream) if tty else _Lines(stream, LOG_EVERY))
    if in_prefect_run() if artifact is None else artifact:
        reporter._sinks.append(_Artifact(reporter, key or default_key(label), ARTIFACT_EVERY))
    completed = False
    try:
        yield reporter
        completed = True
    finally:
        for sink in reporter._sinks:
            sink.close(reporter, completed)
