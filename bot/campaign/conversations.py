"""The conversation each campaign call runs: the campaign's scenario, its brain built once per
scenario (off the event loop: training the classifier takes seconds), and the contact's values."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import tempfile
from pathlib import Path

from ..call.scenario_conversation import ScenarioConversation, Voice
from ..config import LlmSettings
from ..dialog.brain import Brain
from ..integrations.lookup import PreCallLookup
from ..store.attempts import Due
from ..voice.render import ready_known_lines
from ..voice.voice import CachedVoice

log = logging.getLogger(__name__)


def materialise(due: Due) -> str:
    """The campaign's stored scenario as a file this machine can load: <tmp>/minibot-scenarios/<version>/,
    with what sat beside the original (audio, folders) linked in when that folder exists here."""
    name = Path(due.scenario).name if due.scenario.endswith((".yaml", ".yml")) else f"{due.scenario}.yaml"
    folder = Path(tempfile.gettempdir()) / "minibot-scenarios" / str(due.scenario_version)
    path = folder / name
    if path.exists():
        return str(path)
    folder.mkdir(parents=True, exist_ok=True)
    beside = Path(due.scenario_dir) if due.scenario_dir else None
    if beside is not None and beside.is_dir():
        for item in beside.iterdir():
            link = folder / item.name
            if item.suffix not in (".yaml", ".yml") and not link.exists():
                with contextlib.suppress(OSError):  # a neighbour worker linked it first
                    link.symlink_to(item)
    partial = path.with_suffix(f".{os.getpid()}.part")
    partial.write_text(due.scenario_yaml or "", encoding="utf-8")
    partial.replace(path)  # atomic: a neighbour never loads half a file
    return str(path)


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
        # The text stored when the campaign started, not the file as it is now (or is not, here).
        scenario = await asyncio.to_thread(materialise, due) if due.scenario_yaml else due.scenario
        brain = await self.brain(scenario)
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

