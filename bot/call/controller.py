"""The call controller: one ARI connection, one AudioSocket server, many calls.

It originates outbound calls and takes inbound ones (a StasisStart with ``inbound`` as its
first argument, from the dialplan entry point), each as its own ``Call`` task; one call's
failure never reaches another.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable

from ari import events as ev
from ari.client import AriClient, AriConfig
from ari.stream import EventStream
from audiosocket import AudioSocketServer

from ..speech.asr.base import Recognizer
from .call import Call, CallRecord, Conversation
from .config import CallConfig

log = logging.getLogger(__name__)


class CallController:
    def __init__(self, ari: AriConfig, calls: CallConfig, server: AudioSocketServer, recognizer: Recognizer,
                 *, inbound: Callable[[str], Conversation] | None = None, give_up_after: float = 30.0,
                 on_inbound_end: Callable[[CallRecord], Awaitable[None]] | None = None) -> None:
        self.ari_config, self.call_config = ari, calls
        self.server, self.recognizer = server, recognizer
        self.inbound = inbound
        self.on_inbound_end = on_inbound_end  # e.g. store the call (outbound calls are stored by the dialer)
        self.client = AriClient(ari)
        self.stream = EventStream(ari, give_up_after=give_up_after)
        self.calls: dict[str, Call] = {}  # in progress, by call id
        self.records: collections.deque[CallRecord] = collections.deque(maxlen=200)  # the latest ended
        self._tasks: set[asyncio.Task] = set()
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> CallController:
        await self._stack.enter_async_context(self.client)
        runner = asyncio.create_task(self.stream.run(), name="ari-events")
        self._stack.push_async_callback(_cancel, runner)
        try:
            await self.stream.wait_connected(10)
        except BaseException:
            await self._stack.aclose()  # no ARI: close what was opened (HTTP session, event task)
            raise
        if self.inbound is not None:
            watcher = asyncio.create_task(self._watch_inbound(), name="ari-inbound")
            self._stack.push_async_callback(_cancel, watcher)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stack.aclose()

    def _call(self, conversation: Conversation, *, config: CallConfig | None = None, **kw) -> Call:
        return Call(config or self.call_config, self.client, self.stream, self.server, self.recognizer, conversation,
                    **kw)

    async def place_call(self, number: str, conversation: Conversation, *, call_id: str | None = None,
                         on_answer: Callable[[], Awaitable[None]] | None = None,
                         caller_id: str | None = None) -> CallRecord:
        """Dial `number` and run `conversation` on it; `call_id` names the call (the dialer chooses
        it before dialling, so the stored call row and the Asterisk channel share it); `on_answer`
        runs in the background when the callee answers; `caller_id`, when given, is presented instead of
        the configured one (a campaign's own number, checked against ARCEP's ranges at its start)."""
        config = dataclasses.replace(self.call_config, caller_id=caller_id) if caller_id else None
        return await self._track(self._call(conversation, config=config, number=number, call_id=call_id,
                                            on_answer=on_answer))

    async def _track(self, call: Call) -> CallRecord:
        task = asyncio.ensure_future(call.run())
        self._tasks.add(task)
        self.calls[call.call_id] = call
        try:
            record = await task
        finally:
            self._tasks.discard(task)
            self.calls.pop(call.call_id, None)
        self.records.append(record)
        if record.direction == "inbound" and self.on_inbound_end is not None:
            try:
                await self.on_inbound_end(record)
            except Exception:
                log.exception("call %s: storing the inbound call failed", record.call_id)
        return record

    async def _watch_inbound(self) -> None:
        with self.stream.subscribe(everything=True) as sub:
            while True:
                event = await sub.get()
                if isinstance(event, ev.StasisStart) and event.args[:1] == ("inbound",):
                    number = event.args[1] if len(event.args) > 1 else event.channel.caller_number
                    call = self._call(self.inbound(number), number=number, direction="inbound",
                                      channel_id=event.channel.id)
                    task = asyncio.create_task(self._track(call), name=f"inbound-{call.call_id}")
                    task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("inbound call failed", exc_info=task.exception())


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
