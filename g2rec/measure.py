"""What a stage measures about itself: wall time and peak memory."""

from __future__ import annotations

import ctypes
import resource
import sys
import time


def release_freed_memory() -> None:
    """Hand the pages of freed memory back to the system: Arrow's allocator and glibc's keep
    them for reuse otherwise, which inflates a long stage's peak memory by what an earlier
    step freed."""
    if "pyarrow" in sys.modules:
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (musl): nothing to trim
            pass


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


class Stopwatch:
    """Wall time since construction, in seconds."""

    def __init__(self):
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.start
