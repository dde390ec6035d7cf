"""The call-control flows against a live Asterisk 22 with the `asterisk/` configuration and
its Local-channel callees (`[callee-sim]`). Skipped unless ARI_URL is set:

    ARI_URL=http://127.0.0.1:8088/ari ARI_USER=minibot ARI_PASSWORD=... pytest -m live

Asterisk must reach MiniBot's AudioSocket server (MINIBOT_TEST_AUDIOSOCKET, default
127.0.0.1 on a free port) and read the prompts in audio/prompts (same machine). The same
flows run against the simulator in test_call_control.py, which is how CI runs them.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from ari.client import AriClient, AriConfig
from audiosocket import AudioSocketServer
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.call.outcome import Outcome
from bot.call.runtime import demo_conversation
from bot.config import Settings
from bot.speech.asr.models import whisper_base_dir
from bot.speech.asr.whisper_engine import WhisperRecognizer

pytestmark = [
    pytest.mark.live,
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get("ARI_URL"), reason="no live Asterisk (set ARI_URL)"),
]


def _ari() -> AriConfig:
    return AriConfig(url=os.environ.get("ARI_URL", ""), username=os.environ.get("ARI_USER", "minibot"),
                     password=os.environ.get("ARI_PASSWORD", ""))


@pytest.fixture(scope="module")
def whisper():
    with ThreadPoolExecutor(2) as pool:
        yield WhisperRecognizer(whisper_base_dir(Settings().cache_dir), pool)


async def _call(whisper, endpoint: str, *, ring_timeout: int = 10):
    host, _, port = os.environ.get("MINIBOT_TEST_AUDIOSOCKET", "127.0.0.1:0").rpartition(":")
    async with AudioSocketServer(host, int(port)) as server:
        config = CallConfig(audiosocket_address=server.address, ring_timeout=ring_timeout,
                            caller_id="MiniBot <0162000000>")
        async with CallController(_ari(), config, server, whisper) as ctl:
            record = await ctl.place_call(endpoint, demo_conversation())
    async with AriClient(_ari()) as client:
        mine = f"mb-{record.call_id}"
        assert not [c.id for c in await client.list_channels() if c.id.startswith(mine)]
        assert not [b.id for b in await client.list_bridges() if b.id.startswith(mine)]
    return record


async def test_live_human_hears_the_bot_within_1_5_s(whisper):
    record = await _call(whisper, "Local/human@callee-sim")
    print(record.timeline)
    assert record.outcome is Outcome.ANSWERED
    assert record.answer_to_first_audio is not None and record.answer_to_first_audio <= 1.5
    assert record.amd_status in ("HUMAN", "NOTSURE")


async def test_live_machine(whisper):
    record = await _call(whisper, "Local/machine@callee-sim")
    assert record.outcome is Outcome.ANSWERED and record.amd_status == "MACHINE"


@pytest.mark.parametrize(("exten", "outcome"), [
    ("busy", Outcome.BUSY), ("congestion", Outcome.CONGESTION), ("reject", Outcome.REJECTED),
    ("unallocated", Outcome.UNALLOCATED),
])
async def test_live_unanswered(whisper, exten, outcome):
    record = await _call(whisper, f"Local/{exten}@callee-sim")
    assert record.outcome is outcome


async def test_live_no_answer(whisper):
    record = await _call(whisper, "Local/noanswer@callee-sim", ring_timeout=4)
    assert (record.outcome, record.cause) == (Outcome.NO_ANSWER, 19)
