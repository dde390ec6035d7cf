"""Every `[callee-sim]` callee of asterisk/extensions.conf, called through the real
`CallController` on the real Asterisk (tests/live/conftest.py): outcome, hang-up cause, AMD,
verdict, transcript, recording, and nothing left behind in Asterisk.

The same flows run against the simulator in tests/test_call_control.py.
"""

from __future__ import annotations

import pytest

from audiosocket import AudioSocketServer
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.call.outcome import Outcome
from bot.call.runtime import demo_conversation

pytestmark = [pytest.mark.slow]


async def place(asterisk, recognizer, callee: str, conversation=None, *, ring_timeout: int = 10):
    """One call to Local/<callee>@callee-sim; checks that Asterisk holds nothing of it afterwards."""
    async with AudioSocketServer("127.0.0.1", 0) as server:
        config = CallConfig(audiosocket_address=server.address, ring_timeout=ring_timeout,
                            caller_id="MiniBot <0162000000>")
        async with CallController(asterisk.ari_config(), config, server, recognizer) as ctl:
            record = await ctl.place_call(f"Local/{callee}@callee-sim", conversation or demo_conversation())
    assert asterisk.channels() == [], asterisk.rx("core show channels")
    assert asterisk.bridges() == [], asterisk.rx("bridge show all")
    return record


async def test_human_hears_the_bot(live_asterisk, whisper):
    record = await place(live_asterisk, whisper, "human")
    print(record.timeline)
    assert record.outcome is Outcome.ANSWERED
    assert record.answer_to_first_audio is not None
    assert record.amd_status in ("HUMAN", "NOTSURE")


async def test_machine(live_asterisk, whisper):
    record = await place(live_asterisk, whisper, "machine")
    assert record.outcome is Outcome.ANSWERED and record.amd_status == "MACHINE"


@pytest.mark.parametrize(("callee", "outcome", "cause"), [
    ("busy", Outcome.BUSY, 17), ("congestion", Outcome.CONGESTION, 34), ("reject", Outcome.REJECTED, 21),
    ("unallocated", Outcome.UNALLOCATED, 1),
])
async def test_unanswered(live_asterisk, whisper, callee, outcome, cause):
    record = await place(live_asterisk, whisper, callee)
    assert (record.outcome, record.cause) == (outcome, cause)
    assert record.answered_at is None and record.recording is None


async def test_no_answer(live_asterisk, whisper):
    record = await place(live_asterisk, whisper, "noanswer", ring_timeout=3)
    assert (record.outcome, record.cause) == (Outcome.NO_ANSWER, 19)


async def test_transfer_to_an_agent(live_asterisk, whisper):
    """`human` is handed to `agent` after the greeting: both bridged, and when the person hangs
    up the agent leg and the bridge go too."""
    conversation = demo_conversation(transfer_to="Local/agent@callee-sim")
    conversation.replies = []  # straight after the greeting: no recogniser on the critical path
    record = await place(live_asterisk, whisper, "human", conversation)
    print(record.timeline)
    assert record.outcome is Outcome.TRANSFERRED
    entries = [e for _, e in record.timeline.entries]
    assert "transfer: caller and agent bridged" in entries
    assert record.cause == 16


@pytest.mark.parametrize(("number", "outcome", "cause"), [("+33199000003", Outcome.BUSY, 17),
                                                          ("+33199000005", Outcome.REJECTED, 21)])
async def test_test_numbers_dial_like_a_trunk(live_asterisk, whisper, number, outcome, cause):
    """`[callee-numbers]`: an E.164 number through the endpoint template, as the dialer dials."""
    async with AudioSocketServer("127.0.0.1", 0) as server:
        config = CallConfig(audiosocket_address=server.address, endpoint_template="Local/{number}@callee-numbers")
        async with CallController(live_asterisk.ari_config(), config, server, whisper) as ctl:
            record = await ctl.place_call(number, demo_conversation())
    assert (record.outcome, record.cause) == (outcome, cause)
