"""The campaign breaker: a burst of failures pauses the campaign before it burns its contacts.

When Asterisk stops, crashes or refuses originates, every dial in the meantime fails, and each
failed call used to count against the contact's legal 4 dials in 30 days. The breaker watches
what each campaign's attempts came to on this worker: when, within `window` seconds, at least
`min_events` attempts ended and at least `ratio` of them went wrong (an originate Asterisk
refused, a call cut by Asterisk or by the media path, a call that failed without a telephone
cause), it pauses the campaign with the reason (in French: operators read it in the monitor,
the dashboard and the API; the log line carries it too).

An operator resumes it (`minibot campaign resume`, the API, the dashboard). It also resumes by
itself when the cause has cleared: the worker's ARI has been ready (event socket connected, the
Stasis app registered) for `healthy_for` seconds and the campaign has been paused for at least
its cool-down, which doubles after each trip of the same campaign (1, 2, 4... up to 30 min), so
a cause the worker cannot see (a dead trunk) does not make it flap. An operator's pause is never
undone by the breaker.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..call.outcome import Outcome


@dataclass(frozen=True)
class BreakerConfig:
    window: float = 120.0  # seconds of history judged
    min_events: int = 5  # attempts needed in the window before it may trip
    ratio: float = 0.5  # share of them gone wrong that trips it
    cool_down: float = 60.0  # seconds paused before the first self-resume (doubles per trip)
    max_cool_down: float = 1800.0
    healthy_for: float = 15.0  # seconds ARI must have been ready before a self-resume


@dataclass(frozen=True)
class Trip:
    campaign_id: int
    bad: int
    seen: int
    last: str  # the last failure, one line
    cool_down: float
    window: float = 120.0

    @property
    def reason(self) -> str:
        return (f"disjoncteur : {self.bad} échecs sur {self.seen} tentatives en moins de {self.window / 60:g} min "
                f"(dernier : {self.last})")


def failure(outcome: Outcome | None, interrupted: str, note: str) -> str | None:
    """What went wrong with an attempt that ended, in one line; None when it ended normally
    (answered, busy, no answer, congestion, rejected, unallocated are the telephone's answers)."""
    if interrupted:
        return interrupted
    if outcome is Outcome.FAILED:
        return note or "échec sans cause téléphonique"
    return None


@dataclass
class Breaker:
    config: BreakerConfig = field(default_factory=BreakerConfig)
    clock: Callable[[], float] = time.monotonic
    _events: dict[int, collections.deque[tuple[float, str | None]]] = field(default_factory=dict)
    _trips: dict[int, int] = field(default_factory=dict)  # campaign → trips so far (for the cool-down)

    def record(self, campaign_id: int, bad: str | None) -> Trip | None:
        """One attempt of the campaign ended (`bad`: what went wrong, or None). A Trip when the
        campaign must pause now; the history starts afresh after a trip."""
        cfg, now = self.config, self.clock()
        events = self._events.setdefault(campaign_id, collections.deque())
        events.append((now, bad))
        while events and events[0][0] < now - cfg.window:
            events.popleft()
        failures = [b for _, b in events if b is not None]
        if len(events) < cfg.min_events or len(failures) < cfg.ratio * len(events):
            return None
        trips = self._trips.get(campaign_id, 0)
        self._trips[campaign_id] = trips + 1
        seen = len(events)
        events.clear()
        return Trip(campaign_id, len(failures), seen, failures[-1],
                    min(cfg.max_cool_down, cfg.cool_down * 2 ** trips), cfg.window)

    def cool_down(self, campaign_id: int) -> float:
        """Seconds a breaker pause of this campaign lasts at least (before its self-resume)."""
        trips = max(1, self._trips.get(campaign_id, 1))
        return min(self.config.max_cool_down, self.config.cool_down * 2 ** (trips - 1))

    def resumed(self, campaign_id: int) -> None:
        self._events.pop(campaign_id, None)
