"""A free LLM answer when no objection matched: asked within a deadline, vetted before it is spoken."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..llm import ChatModel, CircuitBreaker, HealthLog, LlmFailure, LlmUnavailable
from .guards import vet
from .prompt import Exchange, FreestyleBrief, build_messages

log = logging.getLogger(__name__)


class Freestyle:
    """`answer` gives the words to say, or None: the LLM is down, slow, or said something the
    guards refuse. None is routine; the scenario then says a scripted line."""

    def __init__(self, chat: ChatModel, timeout: float, *, breaker: CircuitBreaker | None = None) -> None:
        self._chat = chat
        self._timeout = timeout
        self.breaker = breaker or CircuitBreaker()
        self._health = HealthLog(log, "freestyle")

    async def answer(self, brief: FreestyleBrief, history: Sequence[Exchange], caller_text: str) -> str | None:
        if not self.breaker.allow():
            self._health.failed(LlmFailure.CIRCUIT_OPEN, "LLM skipped after repeated failures", outage=False)
            return None
        try:
            raw = await self._chat.chat(build_messages(brief, history, caller_text), timeout=self._timeout)
        except LlmUnavailable as exc:
            self.breaker.failure()
            self._health.failed(exc.reason, str(exc), outage=True)
            return None
        self.breaker.success()
        self._health.ok()
        verdict = vet(raw, brief.facts)
        if verdict.text is None:
            # Each refusal is worth reading when tuning prompts: logged every time, at info.
            log.info("free answer refused (%s): %r", verdict.reason, raw[:300])
        return verdict.text
