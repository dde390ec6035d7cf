"""A MiniBot worker for the fault tests: it places one call and keeps it going until it is killed.

    python -m tests.live.dying_worker ARI_URL PASSWORD APP ENDPOINT

Prints `answered <call id>` once the callee answered and the listen path is up (the bot is
talking), then waits for its SIGKILL. Whisper loads from the model cache, as in the live suite.
"""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor

from ari.client import AriConfig
from audiosocket import AudioSocketServer
from bot.call.config import CallConfig
from bot.call.controller import CallController
from bot.config import Settings
from bot.speech.asr.models import whisper_base_dir
from bot.speech.asr.whisper_engine import WhisperRecognizer


async def _forever(call) -> None:
    """A conversation that never ends by itself (the worker dies first)."""
    while True:
        await call.next_listen_event(timeout=1.0)


async def main(url: str, password: str, app: str, endpoint: str) -> None:
    with ThreadPoolExecutor(1) as pool:
        recognizer = WhisperRecognizer(whisper_base_dir(Settings().cache_dir), pool)
        async with AudioSocketServer("127.0.0.1", 0) as server:
            config = CallConfig(audiosocket_address=server.address, ring_timeout=10, caller_id="MiniBot <0162000000>")
            async with CallController(AriConfig(url=url, username="minibot", password=password, app=app), config,
                                      server, recognizer) as ctl:
                task = asyncio.ensure_future(ctl.place_call(endpoint, _forever))
                while True:
                    call = next(iter(ctl.calls.values()), None)
                    if call is not None and call.listener is not None:
                        print(f"answered {call.call_id}", flush=True)
                        break
                    if task.done():
                        print(f"ended {task.result().outcome}", flush=True)
                        return
                    await asyncio.sleep(0.05)
                await task


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
