"""A sliding-window request limiter kept in the process's memory.

Each web worker counts on its own, so with N workers a client gets at most N times the limit:
a guard against runaway integrations and guessing, not an exact quota.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class RateLimiter:
    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: float = 60.0) -> float | None:
        """Count one request; return None if allowed, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - window:
                hits.popleft()
            if len(hits) >= limit:
                return max(0.0, hits[0] + window - now)
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle keys, keep memory bounded
                for idle in [k for k, v in self._hits.items() if not v]:
                    del self._hits[idle]
            return None

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()


limiter = RateLimiter()
