"""Render ahead of the calls every line whose text is known before them: the scenario's steps
and their questions asked again (without per-contact variables), the engine's own lines, every answer of the scenario's
objection themes, the rail returns, and the voicemail message. During a call, only freestyle
answers and lines with a contact's variables are synthesised.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..dialog.brain import Brain
from ..dialog.freestyle import RailReturns
from ..dialog.scenario.lines import ENGINE_LINES, engine_line
from ..dialog.scenario.loader import VARIABLE, last_question, render
from ..ops.priority import low_priority_executor
from ..speech.tts import TtsError
from .voice import CachedVoice

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class KnownLine:
    key: str  # where it comes from: step:hello, objection:no_time, engine:opt_out, rail_return:x
    text: str


@dataclass
class RenderReport:
    rendered: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, why)
    per_contact: list[str] = field(default_factory=list)  # need a contact's variables: rendered in the call
    audio_seconds: float = 0.0  # of what was rendered now


def known_lines(brain: Brain) -> tuple[list[KnownLine], list[str]]:
    """(lines to render now, keys of lines that wait for a contact's variables)."""
    scenario = brain.scenario
    values = {"agent_name": scenario.agent_name, "company_name": scenario.company_name}
    texts: list[tuple[str, str]] = []
    for name, step in scenario.steps.items():
        if step.say and not step.audio:
            texts.append((f"step:{name}", step.say))
            again = step.ask_again or (last_question(step.say) if step.disclosure else step.say)
            if again != step.say:  # asked again after an objection or a silence
                texts.append((f"ask_again:{name}", again))
        elif step.ask_again:
            texts.append((f"ask_again:{name}", step.ask_again))
    texts += [(f"engine:{key}", engine_line(scenario.lines, key)) for key in ENGINE_LINES]
    texts += [(f"objection:{e.id}", e.answer) for e in brain.library.entries]
    rail = RailReturns.load(brain.rail_returns_path) if brain.rail_returns_path else RailReturns.load()
    texts += [(f"rail_return:{r.id}", r.text) for r in rail.entries]
    if scenario.voicemail and scenario.voicemail.say:
        texts.append(("voicemail", scenario.voicemail.say))
    now, later = [], []
    for key, text in texts:
        if set(VARIABLE.findall(text)) - set(values):
            later.append(key)
        else:
            now.append(KnownLine(key, render(text, values)))
    return now, later


def render_lines(voice: CachedVoice, lines: Iterable[KnownLine], report: RenderReport,
                 progress: Callable[[KnownLine], None] | None = None) -> RenderReport:
    """Blocking: render what the cache lacks; one failure never stops the others."""
    for line in lines:
        try:
            cached, reused = voice.render(line.text)
        except TtsError as exc:
            report.failed.append((line.key, str(exc)))
            log.warning("cannot render %s: %s", line.key, exc)
        else:
            if reused:
                report.reused.append(line.key)
            else:
                report.rendered.append(line.key)
                report.audio_seconds += cached.file("sln16").stat().st_size / 32000
        if progress is not None:
            progress(line)
    return report


async def ready_known_lines(voice: CachedVoice, brain: Brain, *, nice: int = 19) -> tuple[RenderReport, int]:
    """Before or beside the first calls: render the brain's known lines the cache lacks, on a
    thread at `nice` (calls already running keep the cores), then read them all into the
    voice's memory. Returns the render report and how many lines were loaded."""
    lines, _ = known_lines(brain)
    pool = low_priority_executor(1, nice, "render-ahead")
    try:
        report = await asyncio.get_running_loop().run_in_executor(pool, render_lines, voice, lines, RenderReport())
    finally:
        pool.shutdown(wait=False)
    return report, await voice.warm([line.text for line in lines])

