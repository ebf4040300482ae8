"""Peak memory of the benchmark process and its children, sampled in a background thread."""
from __future__ import annotations

import resource
import sys
import threading

import psutil


def _rss_tree(proc: psutil.Process) -> int:
    total = 0
    try:
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total


def _maxrss_bytes(who: int) -> int:
    value = resource.getrusage(who).ru_maxrss
    return value if sys.platform == "darwin" else value * 1024  # Linux reports KiB


class PeakMemory:
    """Samples the RSS of this process plus its children every `interval` seconds.

    `peak_bytes` is the highest sampled sum (a spike shorter than the interval can be
    missed); `ru_maxrss_self_bytes` is the kernel's exact high-water mark for this process."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.peak_bytes = 0
        self.window_peak_bytes = 0  # since the last reset_window(): one step's peak
        self.samples = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self) -> None:
        rss = _rss_tree(self._proc)
        self.peak_bytes = max(self.peak_bytes, rss)
        self.window_peak_bytes = max(self.window_peak_bytes, rss)
        self.samples += 1

    def reset_window(self) -> None:
        self.window_peak_bytes = _rss_tree(self._proc)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def result(self) -> dict:
        self_max = _maxrss_bytes(resource.RUSAGE_SELF)
        children_max = _maxrss_bytes(resource.RUSAGE_CHILDREN)
        return {
            "peak_rss_sampled_bytes": self.peak_bytes,
            "ru_maxrss_self_bytes": self_max,
            "ru_maxrss_children_bytes": children_max,
            # The larger of the sampled tree and the kernel's high-water marks. The children's
            # mark is not added to our own: a forked child starts with the parent's RSS, so
            # the sum would count the parent twice.
            "peak_rss_bytes": max(self.peak_bytes, self_max, children_max),
            "samples": self.samples,
        }
