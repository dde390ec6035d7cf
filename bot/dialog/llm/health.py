"""Warnings about the LLM that stay readable: one line when a problem starts, not one per call."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

REPEAT_AFTER = 300.0  # a problem that lasts is reported again this often, with a count


@dataclass
class HealthLog:
    """Tracks whether the LLM is down (an outage: timeout, refused, HTTP error) and what else went
    wrong (nonsense answers, skipped calls). An outage warns when it starts or changes kind and
    logs once when the LLM answers again; anything else warns at most every `repeat_after` s."""

    logger: logging.Logger
    what: str  # who falls back, e.g. "NLU"
    repeat_after: float = REPEAT_AFTER
    clock: Callable[[], float] = time.monotonic
    _outage: str | None = field(default=None, init=False)
    _warned_at: dict[str, float] = field(default_factory=dict, init=False)
    _suppressed: dict[str, int] = field(default_factory=dict, init=False)

    def failed(self, reason: str, detail: str, *, outage: bool) -> None:
        now = self.clock()
        starts = outage and reason != self._outage
        if outage:
            self._outage = reason
        last = self._warned_at.get(reason)
        if starts or last is None or now - last >= self.repeat_after:
            more = self._suppressed.get(reason, 0)
            self.logger.warning("%s falls back (%s): %s%s", self.what, reason, detail,
                                f" [{more} more since the last warning]" if more else "")
            self._warned_at[reason] = now
            self._suppressed[reason] = 0
        else:
            self._suppressed[reason] = self._suppressed.get(reason, 0) + 1

    def ok(self) -> None:
        if self._outage is not None:
            self.logger.info("%s: the LLM answers again (after %s)", self.what, self._outage)
            self._outage = None
