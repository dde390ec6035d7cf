"""When a contact is called again, from how the last attempt ended.

Defaults: no answer again after 30 minutes, busy after 5, at most 2 retries each (so 3 dials);
a callback the person asked for at the time they gave. The compliance gate still has the last
word at dial time: a retry due at 13:10 waits for 14:00, and the 4-in-30-days cap holds.
Campaigns override any rule with their `retry_policy` JSON, e.g. {"no_answer": {"delay_minutes": 60}}.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field, ValidationError

from ..call.outcome import Outcome
from ..i18n import _


class RetryRule(BaseModel, frozen=True):
    delay_minutes: float = Field(gt=0, description="wait before the next dial")
    max_retries: int = Field(ge=0, description="dials after the first one for this cause")

    @property
    def delay(self) -> timedelta:
        return timedelta(minutes=self.delay_minutes)


class RetryPolicy(BaseModel, frozen=True):
    no_answer: RetryRule = RetryRule(delay_minutes=30, max_retries=2)
    busy: RetryRule = RetryRule(delay_minutes=5, max_retries=2)
    failed: RetryRule = RetryRule(delay_minutes=15, max_retries=2)  # congestion, network failure
    answering_machine: RetryRule = RetryRule(delay_minutes=240, max_retries=1)  # hung up on a machine
    interrupted: RetryRule = RetryRule(delay_minutes=30, max_retries=1)  # the worker was lost mid-call
    callback_without_time: RetryRule = RetryRule(delay_minutes=24 * 60, max_retries=2)  # "rappelez-moi" alone
    callbacks_max: int = Field(2, ge=0, description="callbacks honoured per contact and campaign")

    @classmethod
    def for_campaign(cls, overrides: dict | None) -> RetryPolicy:
        try:
            return cls.model_validate(overrides or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"retry_policy.{where}: {first['msg']}") from None


def retry_cause(outcome: Outcome | str | None, result: str | None) -> str | None:
    """The retry rule an attempt's end falls under, or None when the contact is done with.

    Answered calls are done whatever they concluded, except a machine the bot hung up on (no
    message left) and a person who never said a word (the line may have been bad)."""
    outcome = Outcome(outcome) if outcome else None
    if outcome in (Outcome.ANSWERED, Outcome.TRANSFERRED):
        if result == "ANSWERING_MACHINE":
            return "answering_machine"
        if result == "NO_ANSWER":
            return "no_answer"
        return None
    return {
        Outcome.NO_ANSWER: "no_answer",
        Outcome.BUSY: "busy",
        Outcome.CONGESTION: "failed",
        Outcome.FAILED: "failed",
    }.get(outcome)  # rejected, unallocated: never again


def attempt_reason(reason: str) -> str:
    """What an attempt is for, as an operator reads it ("retry:busy" is "nouvel essai (occupé)")."""
    causes = {
        "no_answer": _("pas de réponse"), "busy": _("occupé"), "failed": _("échec réseau"),
        "answering_machine": _("répondeur"), "interrupted": _("appel interrompu"),
    }
    if reason == "first":
        return _("premier appel")
    if reason == "callback":
        return _("rappel demandé")
    cause = reason.removeprefix("retry:")
    if cause != reason:
        return _("nouvel essai ({cause})").format(cause=causes.get(cause, cause))
    return reason
