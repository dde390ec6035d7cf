"""The `scripted` callee: a test's own AudioSocket server speaks for the callee and hears MiniBot on
the wire, as a person on the line would (tests/live/scripted.py)."""

from __future__ import annotations

import pytest

from bot.call.outcome import Outcome
from bot.call.runtime import demo_conversation
from tests.conftest import speech
from tests.live.calls import place
from tests.live.scripted import ScriptedCallee

pytestmark = [pytest.mark.slow]


async def test_scripted_callee_hears_the_bot_and_is_heard(live_asterisk, whisper):
    """It says "Allô, oui, bonjour" at 0.3 s, then talks over the bot's greeting at 3.0 s: it hears
    the bot, and hears it stop (barge-in), both timed on the wire."""
    talks_over_at = 3.0
    lines = [(0.3, speech("bonjour_oui", 8000)), (talks_over_at, speech("interesse", 8000))]
    async with ScriptedCallee(live_asterisk.scripted_address, lines, hangup_after=9.0) as callee:
        record = await place(live_asterisk, whisper, "scripted", demo_conversation())
    print(record.timeline)
    connected = callee.heard.connected_at
    assert connected is not None
    first = callee.heard.first_sound_at()
    assert first is not None, "the callee never heard the bot"
    assert record.outcome is Outcome.ANSWERED and record.cause == 16
    assert record.barge_ins >= 1  # MiniBot heard the callee talk over it
    stopped = callee.heard.quiet_from(connected + talks_over_at)
    assert stopped is not None, "the bot never went quiet after the callee talked over it"
    print(f"on the wire: connection -> first bot audio {(first - connected) * 1000:.0f} ms, "
          f"callee onset -> bot quiet {(stopped - connected - talks_over_at) * 1000:.0f} ms")
