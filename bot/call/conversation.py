"""A scripted conversation for call control: greet, listen, answer, say goodbye.

The scenario engine (the dialog brain) replaces it; this one exercises everything call
control offers: greeting as soon as the caller's own greeting ends, barge-in, AMD, transfer.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..speech import events as sev
from .call import Call
from .first_words import FirstWords, FirstWordsTiming, decide, greeting_cut_early
from .prompt import Prompt


@dataclass
class ScriptedConversation:
    greeting: Prompt
    replies: list[Prompt] = field(default_factory=list)
    goodbye: Prompt | None = None
    transfer_to: str | None = None  # after the replies, hand the caller to this endpoint
    first_words: FirstWordsTiming = field(default_factory=FirstWordsTiming)  # when the bot speaks first
    turn_timeout: float = 8.0

    async def __call__(self, call: Call) -> None:
        if await self._wait_for_caller_greeting(call):
            return
        started = time.monotonic()
        finished = await call.play([self.greeting], stop_within=self.first_words.restart_within)
        cut = call.interruptions.last_cut
        if not finished and greeting_cut_early(self.first_words, started, cut.onset if cut else None):
            # The caller's "allô" came as the bot began: greet again, whole, once they pause.
            call.record.timeline.add("greeting cut by the callee's own: said again after it")
            if await self._wait_for_caller_greeting(call, speaking_since=time.monotonic()):
                return
            await call.play([self.greeting])
        for reply in self.replies:
            heard = await self._next_final(call)
            if await self._machine(call):
                return
            if heard is None:
                break
            await call.play([reply])
        if await self._machine(call):
            return
        if self.transfer_to and await call.transfer(self.transfer_to):
            return
        if self.goodbye is not None:
            await call.play([self.goodbye])
        await call.hangup("script done")

    @staticmethod
    async def _machine(call: Call) -> bool:
        """AMD said machine (on a real Asterisk MAXWORDS comes ~3.4 s after answer, often after
        the greeting started): hang up rather than talk on to a recording."""
        if not _amd_machine(call):
            return False
        await call.hangup("answering machine (AMD)")
        return True

    async def _wait_for_caller_greeting(self, call: Call, speaking_since: float | None = None) -> bool:
        """Let the caller say "allô" first and answer the moment they pause; True when AMD
        says machine (the call is then over)."""
        answered = call.record.answered_at or time.monotonic()
        while True:
            if call.record.amd_status == "MACHINE":
                await call.hangup("answering machine (AMD)")
                return True
            now = time.monotonic()
            listener = call.listener
            turn = decide(self.first_words, now=now, answered=answered, speaking_since=speaking_since,
                          quiet=listener.silent_for(now) if listener else None,
                          last_voice_at=listener.last_voice_at if listener else None)
            if turn is not FirstWords.WAIT:
                return False
            event = await call.next_listen_event(timeout=0.04)
            if isinstance(event, sev.SpeechStarted) and speaking_since is None:
                speaking_since = event.at

    async def _next_final(self, call: Call) -> str | None:
        """The caller's answer to what the bot just said: a final for speech that ended after
        the bot started speaking (an older one answers nothing), once the caller is done."""
        deadline = time.monotonic() + self.turn_timeout
        while time.monotonic() < deadline and not _amd_machine(call):
            event = await call.next_listen_event(timeout=deadline - time.monotonic())
            if isinstance(event, sev.FinalTranscript) and event.speech_ended_at >= call.last_prompt_at:
                return event.text
        return None


def _amd_machine(call: Call) -> bool:
    # INITIALSILENCE is a silent line, not evidence of a machine (asterisk/amd.conf)
    return call.record.amd_status == "MACHINE" and not (call.record.amd_cause or "").startswith("INITIALSILENCE")
