"""The conversation each campaign call runs: the campaign's scenario, its brain built once per
scenario (off the event loop: training the classifier takes seconds), and the contact's values."""

from __future__ import annotations

import asyncio
import logging

from ..call.scenario_conversation import ScenarioConversation, Voice
from ..config import LlmSettings
from ..dialog.brain import Brain
from ..integrations.lookup import PreCallLookup
from ..store.attempts import Due
from ..voice.render import ready_known_lines
from ..voice.voice import CachedVoice

log = logging.getLogger(__name__)


class CampaignConversations:
    def __init__(self, voice: Voice, llm: LlmSettings | None = None, *, agent_endpoint: str | None = None,
                 embeddings: bool = True, lookup: PreCallLookup | None = None) -> None:
        self.voice, self.llm, self.agent_endpoint, self.embeddings = voice, llm, agent_endpoint, embeddings
        self.lookup = lookup  # the campaign's pre-call lookup (bot.integrations.lookup), if any
        self._brains: dict[str, asyncio.Future[Brain]] = {}
        self._readying: set[asyncio.Task[None]] = set()

    async def brain(self, scenario: str) -> Brain:
        """The scenario's brain, built on first use; concurrent callers share one build."""
        if scenario not in self._brains:
            self._brains[scenario] = asyncio.ensure_future(asyncio.to_thread(
                Brain.build, scenario, self.llm, embeddings=self.embeddings))
            self._brains[scenario].add_done_callback(self._ready_lines)
        try:
            return await asyncio.shield(self._brains[scenario])
        except Exception:
            self._brains.pop(scenario, None)  # the next call tries again (a scenario fixed meanwhile)
            raise

    async def __call__(self, due: Due) -> ScenarioConversation:
        brain = await self.brain(due.scenario)
        # The CRM's answer is the freshest: it may override the stored contact's values.
        extra = await self.lookup(due.campaign_id, {"phone": due.phone, **due.contact}) if self.lookup else {}
        values = {**due.variables, **due.contact, **extra}
        missing = [v for v in brain.scenario.variables if not values.get(v)]
        if missing:
            log.warning("attempt %s: no value for %s; those words are left out", due.attempt_id, ", ".join(missing))
        return ScenarioConversation(brain, self.voice, {k: str(v) for k, v in values.items()},
                                    agent_endpoint=self.agent_endpoint)

    def _ready_lines(self, built: asyncio.Future[Brain]) -> None:
        """Once a scenario's brain is built: render its known lines that the cache lacks and
        read them into memory, in the background (a call that needs one first renders it itself)."""
        if built.cancelled() or built.exception() is not None or not isinstance(self.voice, CachedVoice):
            return
        task = asyncio.ensure_future(self._render_and_warm(built.result(), self.voice))
        self._readying.add(task)
        task.add_done_callback(self._readying.discard)

    @staticmethod
    async def _render_and_warm(brain: Brain, voice: CachedVoice) -> None:
        try:
            report, warmed = await ready_known_lines(voice, brain)
        except Exception:  # the calls render what they need; this only saves them the wait
            log.exception("could not render the lines of %s ahead", brain.scenario.name)
            return
        log.info("%s: %d lines rendered ahead, %d reused, %d in memory", brain.scenario.name,
                 len(report.rendered), len(report.reused), warmed)

    async def aclose(self) -> None:
        for task in list(self._readying):
            task.cancel()
        await asyncio.gather(*self._readying, return_exceptions=True)

