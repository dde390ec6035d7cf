"""How a call ended, from Asterisk's hang-up cause (facts §3.4).

Classify by ``ChannelDestroyed.cause`` of the originated channel; ``Dial.dialstatus`` is
only a hint (rejected calls report NOANSWER, for one).
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    ANSWERED = "answered"
    TRANSFERRED = "transferred"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CONGESTION = "congestion"
    REJECTED = "rejected"
    UNALLOCATED = "unallocated"
    FAILED = "failed"


_CAUSES = {
    17: Outcome.BUSY,  # USER_BUSY (SIP 486/600)
    18: Outcome.NO_ANSWER,  # NO_USER_RESPONSE (SIP 408)
    19: Outcome.NO_ANSWER,  # NO_ANSWER: the originate timeout, SIP 480
    34: Outcome.CONGESTION,  # NORMAL_CIRCUIT_CONGESTION (SIP 503)
    42: Outcome.CONGESTION,  # SWITCH_CONGESTION
    21: Outcome.REJECTED,  # CALL_REJECTED (SIP 603/403)
    1: Outcome.UNALLOCATED,  # UNALLOCATED (SIP 404/604)
}


def outcome_for_cause(cause: int | None, *, answered: bool) -> Outcome:
    """An answered call is answered whatever its clearing cause; an unanswered one is what
    its cause says, and anything else (unavailable, network failure, cause 0) failed."""
    if answered:
        return Outcome.ANSWERED
    return _CAUSES.get(cause or 0, Outcome.FAILED)


def is_retryable(outcome: Outcome) -> bool:
    """Worth another attempt later (the campaign's retry policy decides when)."""
    return outcome in (Outcome.BUSY, Outcome.NO_ANSWER, Outcome.CONGESTION, Outcome.FAILED)
