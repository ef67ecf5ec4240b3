"""Wall time and peak resident memory of a step, for the manifest."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psutil

from tmz.core.kinds.export import Usage


@dataclass
class Measurement:
    """Filled in when the measured block ends."""

    seconds: float = 0.0
    peak_rss_mb: float = 0.0

    def usage(self) -> Usage:
        """As the manifest records it (``results.export``)."""
        return Usage(seconds=round(self.seconds, 2), peak_rss_mb=round(self.peak_rss_mb, 1))


@contextlib.contextmanager
def measure(interval: float = 0.05) -> Iterator[Measurement]:
    """Measure the block: seconds, and the peak RSS of this process (with children) sampled every ``interval``."""
    usage = Measurement()
    proc = psutil.Process()
    stop = threading.Event()

    def rss() -> int:
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                total += child.memory_info().rss
        return total

    peak = [rss()]

    def sample() -> None:
        while not stop.wait(interval):
            peak[0] = max(peak[0], rss())

    thread = threading.Thread(target=sample, name="tmz-export-memory", daemon=True)
    start = time.perf_counter()
    thread.start()
    try:
        yield usage
    finally:
        stop.set()
        thread.join()
        usage.seconds = time.perf_counter() - start
        usage.peak_rss_mb = max(peak[0], rss()) / 2**20
