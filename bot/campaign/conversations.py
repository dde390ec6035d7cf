"""The conversation each campaign call runs: the campaign's scenario, its brain built once per
scenario (off the event loop: training the classifier takes seconds), and the contact's values."""

from __future__ import annotations

import asyncio
import logging

from ..call.scenario_conversation import ScenarioConversation, Voice
from ..config import LlmSettings
from ..dialog.brain import Brain
from ..store.attempts import Due

log = logging.getLogger(__name__)


class CampaignConversations:
    def __init__(self, voice: Voice, llm: LlmSettings | None = None, *, agent_endpoint: str | None = None,
                 embeddings: bool = True) -> None:
        self.voice, self.llm, self.agent_endpoint, self.embeddings = voice, llm, agent_endpoint, embeddings
        self._brains: dict[str, asyncio.Future[Brain]] = {}

    async def brain(self, scenario: str) -> Brain:
        """The scenario's brain, built on first use; concurrent callers share one build."""
        if scenario not in self._brains:
            self._brains[scenario] = asyncio.ensure_future(asyncio.to_thread(
                Brain.build, scenario, self.llm, embeddings=self.embeddings))
        try:
            return await asyncio.shield(self._brains[scenario])
        except Exception:
            self._brains.pop(scenario, None)  # the next call tries again (a scenario fixed meanwhile)
            raise

    async def __call__(self, due: Due) -> ScenarioConversation:
        brain = await self.brain(due.scenario)
        values = {**due.variables, **due.contact}
        missing = [v for v in brain.scenario.variables if not values.get(v)]
        if missing:
            log.warning("attempt %s: no value for %s; those words are left out", due.attempt_id, ", ".join(missing))
        return ScenarioConversation(brain, self.voice, {k: str(v) for k, v in values.items()},
                                    agent_endpoint=self.agent_endpoint)
