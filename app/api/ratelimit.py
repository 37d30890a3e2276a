"""Rate limits, counted by Flask-Limiter in the storage ``RATELIMIT_STORAGE_URI`` names.

``memory://`` (the default) counts in each web worker's memory: with N workers a client gets
at most N times the limit, a guard against runaway integrations and guessing rather than an
exact quota. ``redis://host:6379`` shares the counts between workers and machines (it needs the
``redis`` package: ``pip install -e '.[redis]'``). Windows are moving: a limit of 20 a minute
allows 20 in any 60 seconds.

Callers count by their own key (``api-token:<id>``, ``api-auth-failure:<address>``,
``track:<address>``) and get the seconds to wait back, for ``429`` and ``Retry-After``.
"""

from __future__ import annotations

import math
import time

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import RateLimitItemPerSecond


class RateLimits:
    """Keyed counters on Flask-Limiter's storage and strategy."""

    def __init__(self) -> None:
        # No limit is attached to routes: views and hooks count with ``hit``.
        self.extension = Limiter(key_func=get_remote_address, default_limits=[])

    def init_app(self, app: Flask) -> None:
        app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
        app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
        self.extension.init_app(app)

    def hit(self, key: str, limit: int, window: int = 60) -> float | None:
        """Count one request; return None if allowed, else the seconds to wait (at least 1)."""
        item = RateLimitItemPerSecond(limit, window)
        strategy = self.extension.limiter
        if strategy.hit(item, key):
            return None
        reset_at, _remaining = strategy.get_window_stats(item, key)
        return max(1, math.ceil(reset_at - time.time()))

    def reset(self) -> None:
        self.extension.reset()


limiter = RateLimits()
