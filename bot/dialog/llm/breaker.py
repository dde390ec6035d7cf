"""A circuit breaker, so that a dead or overloaded Ollama costs each call nothing instead of a timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class CircuitBreaker:
    """Opens after `threshold` consecutive failures and stays open `cooldown` seconds.

    After the cooldown calls go through again; since the failure count is kept, the first new
    failure re-opens it at once and one success closes it. Concurrent calls in that window may
    all try: at worst one timeout each, once per cooldown, which is simpler than a probe token."""

    threshold: int = 3
    cooldown: float = 30.0
    clock: Callable[[], float] = time.monotonic
    failures: int = field(default=0, init=False)
    _open_until: float = field(default=0.0, init=False)

    def allow(self) -> bool:
        return self.failures < self.threshold or self.clock() >= self._open_until

    @property
    def is_open(self) -> bool:
        return not self.allow()

    def success(self) -> None:
        self.failures = 0

    def failure(self) -> None:
        self.failures += 1
        if self.failures >= self.threshold:
            self._open_until = self.clock() + self.cooldown
