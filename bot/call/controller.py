"""The call controller: one ARI connection, one AudioSocket server, many calls.

It originates outbound calls and takes inbound ones (a StasisStart with ``inbound`` as its
first argument, from the dialplan entry point), each as its own ``Call`` task; one call's
failure never reaches another. An inbound call it cannot take (no inbound scenario, or its
conversation cannot be built) is refused at once with a cause, never left ringing.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from ari import events as ev
from ari.client import AriClient, AriConfig
from ari.errors import AriError
from ari.stream import EventStream
from audiosocket import AudioSocketServer

from ..speech.asr.base import Recognizer
from .call import Call, CallRecord, Conversation, mask
from .config import CallConfig
from .leftovers import Sweeper, remove_call
from .readiness import NotDialled, Readiness

log = logging.getLogger(__name__)

# How a refused inbound call is hung up (DELETE reason): the caller's network reports "rejected"
# (Q.850 21, SIP 603), so the caller hears at once that nobody will answer.
REFUSED_REASON = "rejected"


@dataclass(frozen=True)
class InboundCall:
    """What the dialplan entry point tells about an inbound call."""

    caller: str  # the caller's number (CALLERID(num), digits and + only)
    called: str  # the number they dialled (EXTEN)
    channel_id: str


# An inbound call's conversation, built from what is known of it (may look the caller up).
InboundFactory = Callable[[InboundCall], "Conversation | Awaitable[Conversation]"]


class CallController:
    def __init__(self, ari: AriConfig, calls: CallConfig, server: AudioSocketServer, recognizer: Recognizer,
                 *, inbound: InboundFactory | None = None, give_up_after: float = 30.0,
                 on_inbound_end: Callable[[CallRecord], Awaitable[None]] | None = None) -> None:
        self.ari_config, self.call_config = ari, calls
        self.server, self.recognizer = server, recognizer
        self.inbound = inbound
        self.on_inbound_end = on_inbound_end  # e.g. store the call (outbound calls are stored by the dialer)
        self.client = AriClient(ari)
        self.stream = EventStream(ari, give_up_after=give_up_after)
        self.readiness = Readiness(self.client, self.stream)
        self.sweeper = Sweeper(self.client, lambda: [call.caller_id for call in self.calls.values()])
        self.calls: dict[str, Call] = {}  # in progress, by call id
        self.records: collections.deque[CallRecord] = collections.deque(maxlen=200)  # the latest ended
        self._tasks: set[asyncio.Task] = set()
        self.hold = 10.0  # seconds a dial waits for ARI to be ready before it is given back
        self._stack = contextlib.AsyncExitStack()

    async def __aenter__(self) -> CallController:
        await self._stack.enter_async_context(self.client)
        await self.readiness.warn_if_taken()
        runner = asyncio.create_task(self.stream.run(), name="ari-events")
        self._stack.push_async_callback(_cancel, runner)
        watcher = asyncio.create_task(self.readiness.watch(), name="ari-readiness")
        self._stack.push_async_callback(_cancel, watcher)
        try:
            # Two attempts fit: one handshake Asterisk never answered (5 s) is retried.
            await self.stream.wait_connected(12)
            await self.readiness.wait(5)
        except BaseException:
            await self._stack.aclose()  # no ARI: close what was opened (HTTP session, event task)
            raise
        sweeper = asyncio.create_task(self.sweeper.run(), name="ari-sweeper")
        self._stack.push_async_callback(_cancel, sweeper)
        # Watched even with no inbound scenario: such calls are refused, not left ringing.
        watcher = asyncio.create_task(self._watch_inbound(), name="ari-inbound")
        self._stack.push_async_callback(_cancel, watcher)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._stack.aclose()

    @property
    def ready(self) -> bool:
        """May this process dial now (event socket connected, Stasis app registered on it)?"""
        return self.readiness.ready

    async def remove_leftovers(self, call_id: str) -> int:
        """Remove what call `call_id` (a lost worker's) left in Asterisk (the dialer's recovery)."""
        if call_id in self.calls:
            return 0
        return await remove_call(self.client, f"mb-{call_id}")

    def _call(self, conversation: Conversation, *, config: CallConfig | None = None, **kw) -> Call:
        return Call(config or self.call_config, self.client, self.stream, self.server, self.recognizer, conversation,
                    **kw)

    async def place_call(self, number: str, conversation: Conversation, *, call_id: str | None = None,
                         on_answer: Callable[[], Awaitable[None]] | None = None,
                         caller_id: str | None = None) -> CallRecord:
        """Dial `number` and run `conversation` on it; `call_id` names the call (the dialer chooses
        it before dialling, so the stored call row and the Asterisk channel share it); `on_answer`
        runs in the background when the callee answers; `caller_id`, when given, is presented instead of
        the configured one (a campaign's own number, checked against ARCEP's ranges at its start).
        NotDialled when nothing rang: ARI not ready within `hold` seconds, or the originate refused."""
        if not await self.readiness.wait(self.hold):
            raise NotDialled(self.readiness.why_not)
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
                    args = event.args
                    inbound = InboundCall(caller=args[1] if len(args) > 1 and args[1] else event.channel.caller_number,
                                          called=args[2] if len(args) > 2 else "", channel_id=event.channel.id)
                    task = asyncio.create_task(self._take_inbound(inbound), name=f"inbound-{inbound.channel_id}")
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                    task.add_done_callback(_log_failure)

    async def _take_inbound(self, inbound: InboundCall) -> None:
        try:
            if self.inbound is None:
                raise LookupError("no inbound scenario configured (MINIBOT_DIALER__INBOUND_SCENARIO)")
            conversation = self.inbound(inbound)
            if inspect.isawaitable(conversation):
                conversation = await conversation
        except Exception as exc:
            log.warning("inbound call from %s refused: %s", mask(inbound.caller), exc)
            with contextlib.suppress(AriError, TimeoutError):
                await self.client.hangup(inbound.channel_id, reason=REFUSED_REASON)
            return
        call = self._call(conversation, number=inbound.caller, direction="inbound", channel_id=inbound.channel_id)
        await self._track(call)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("inbound call failed", exc_info=task.exception())


async def _cancel(task: asyncio.Task) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
