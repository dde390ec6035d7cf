"""A called (or calling) party following its script once the call is answered: it speaks its
utterances into the line, waits for the bot where told to, and hangs up when its script says.
For a Local callee the `;2` channel shows the dialplan steps (Playback, Hangup) as the
captures do."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from . import events as ev
from .audio import RATE, tone
from .call import Said
from .callees import Human, Machine, Say

if TYPE_CHECKING:
    from .core import Core
    from .media import Line
    from .model import Channel

POLL = 0.05  # queued playbacks do not notify; re-check this often


def script_items(core: Core, callee: Human) -> list[tuple[Say, np.ndarray]]:
    if isinstance(callee, Machine):
        greeting = core.clips.get(callee.greeting)
        if callee.beep:
            beep = tone(1000.0, 0.3, -12.0)
            greeting = np.concatenate([greeting, np.zeros(int(0.3 * RATE), np.float32), beep])
        items = [(Say(str(callee.greeting), at=callee.greeting_at), greeting)]
    else:
        items = []
    for say in callee.utterances:
        items.append((say, core.clips.get(say.clip) * np.float32(10 ** (say.gain_db / 20))))
    return items


async def run_party(core: Core, ch: Channel, callee: Human) -> None:
    """The script of the party behind ``ch``, from answer until it hangs up."""
    line = ch.line
    call = ch.call
    assert line is not None and call is not None
    if callee.media_wait:
        await asyncio.sleep(core.scaled(callee.media_wait))
    answered = time.monotonic()
    if callee.hangup_after is not None:
        core.spawn(_hang_up_after(core, ch, core.scaled(callee.hangup_after)), call, name="party-hangup")
    if callee.keys:
        core.spawn(_press(core, ch, callee.keys), call, name="party-keys")
    turn = Turns(core, ch, line, answered)
    for say, audio in script_items(core, callee):
        await turn.wait(say)
        await _speak(core, ch, line, say, audio)
        turn.previous_end = time.monotonic()
    if callee.hangup_when_idle is not None:
        await turn.idle(core.scaled(callee.hangup_when_idle))
        core.callee_hangs_up(ch)


# SendDTMF(): each key sounds 250 ms, 100 ms apart; Asterisk reports a key when it ends (facts:
# ChannelDtmfReceived on the MiniBot side of the Local channel, 350 ms apart, checked live).
KEY_MS, KEY_GAP_MS = 250, 100


async def _press(core: Core, ch: Channel, keys: list[tuple[float, str]]) -> None:
    start = time.monotonic()
    for at, digits in keys:
        for n, digit in enumerate(digits):
            await _sleep_until(start + core.scaled(at + n * (KEY_MS + KEY_GAP_MS) / 1000))
            if not ch.alive:
                return
            core.publish(ch, ev.dtmf_received(ch, digit, KEY_MS))


async def _hang_up_after(core: Core, ch: Channel, seconds: float) -> None:
    await asyncio.sleep(seconds)
    core.callee_hangs_up(ch)


async def _speak(core: Core, ch: Channel, line: Line, say: Say, audio: np.ndarray) -> None:
    peer = ch.local_peer
    if peer is not None and peer.alive:
        peer.dialplan = replace(peer.dialplan, priority=peer.dialplan.priority + 1, app_name="Playback",
                                app_data=str(say.clip))
        core.publish(peer, ev.dialplan(peer))
    start = time.monotonic()
    line.voice.add(line.sample_at(start), audio)
    said = Said(str(say.clip), start, start + len(audio) / RATE, over_prompt=line.bot_talking)
    assert ch.call is not None
    ch.call.said.append(said)
    await asyncio.sleep(len(audio) / RATE)
    if peer is not None and peer.alive:
        core.set_var(peer, "PLAYBACKSTATUS", "SUCCESS")


class Turns:
    """When the party may speak next, given what the bot is doing."""

    def __init__(self, core: Core, ch: Channel, line: Line, answered: float) -> None:
        self.core, self.ch, self.line = core, ch, line
        self.answered = answered
        self.previous_end = answered

    def busy(self) -> bool:
        return self.core.bot_busy(self.ch)

    async def wait(self, say: Say) -> None:
        scaled = self.core.scaled
        if say.over_prompt:
            while not self.line.bot_talking:  # sounding now, not merely queued
                await self.line.changed(POLL)
            offset = scaled(0.5 if say.at is None else say.at)
            await _sleep_until(max(self.line.talk_started_at + offset, time.monotonic()))
        elif say.after_prompt:
            await self._prompt_over()
            await asyncio.sleep(scaled(0.4 if say.at is None else say.at))
        elif say.after_turn:
            await self._prompt_started()
            await self.idle(scaled(0.4 if say.at is None else say.at))
        elif say.at is not None:
            await _sleep_until(self.answered + scaled(say.at))

    async def _prompt_over(self) -> None:
        """Until the bot's current prompt ends: the one sounding now, else the next one
        (one that started and ended since the previous utterance also counts). A prompt
        queued right behind it does not matter: the caller answers the first one."""
        line = self.line
        await self._prompt_started()
        ends = line.talk_ends
        while line.bot_talking and line.talk_ends == ends:
            await line.changed(POLL)

    async def _prompt_started(self) -> None:
        """Until a prompt sounds, or has sounded since the previous utterance."""
        line = self.line
        while not (line.bot_talking or line.talk_started_at > self.previous_end):
            await line.changed(POLL)

    async def _bot_quiet(self) -> None:
        while self.busy():
            await self.line.changed(POLL)

    async def idle(self, seconds: float) -> None:
        """Until neither side has said anything for ``seconds``."""
        while True:
            await self._bot_quiet()
            quiet_since = time.monotonic()
            while not self.busy() and time.monotonic() - quiet_since < seconds:
                await self.line.changed(min(POLL, seconds))
            if not self.busy():
                return


async def _sleep_until(t: float) -> None:
    delay = t - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
