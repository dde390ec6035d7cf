"""One AudioSocket connection = one call's media: inbound fan-out and paced outbound audio."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from .codec import Kind, Message, encode_hangup
from .pacer import OutboundPacer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AudioFrame:
    pcm: bytes
    sample_rate: int
    seq: int
    arrived: float  # time.monotonic() when the reader took it off the socket

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate


@dataclass(frozen=True, slots=True)
class DtmfDigit:
    digit: str
    arrived: float


@dataclass(frozen=True, slots=True)
class Closed:
    reason: str


InboundItem = AudioFrame | DtmfDigit | Closed


@dataclass(eq=False)
class Subscription:
    """A listener's bounded queue. The reader never waits on it: when full, the oldest frame
    goes (counted in ``dropped``) so a slow listener loses stale audio, never the newest."""

    maxsize: int
    queue: asyncio.Queue[InboundItem] = field(init=False)
    dropped: int = 0

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.maxsize)

    def offer(self, item: InboundItem) -> None:
        if isinstance(item, Closed):
            # The end marker must always get through: make room for it.
            while self.queue.full():
                self.queue.get_nowait()
                self.dropped += 1
            self.queue.put_nowait(item)
            return
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(item)

    async def get(self) -> InboundItem:
        return await self.queue.get()

    def __aiter__(self) -> AsyncIterator[InboundItem]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[InboundItem]:
        while True:
            item = await self.queue.get()
            yield item
            if isinstance(item, Closed):
                return


class AudioSocketSession:
    """Media of one call, matched by the UUID Asterisk sent first.

    Inbound messages are fanned out to subscriptions without blocking the socket reader.
    Outbound audio goes through the pacer (20 ms frames on a monotonic deadline)."""

    # 2 s of 20 ms frames: a listener that falls that far behind is broken, not slow.
    DEFAULT_QUEUE_FRAMES = 100

    def __init__(
        self,
        call_uuid: uuid.UUID,
        peer: str,
        writer: asyncio.StreamWriter,
        *,
        out_rate: int = 16000,
    ) -> None:
        self.uuid = call_uuid
        self.peer = peer
        self._writer = writer
        self._subs: list[Subscription] = []
        self._seq = 0
        self.frames_in = 0
        self.dtmf_in = 0
        self.closed = asyncio.get_running_loop().create_future()
        self.pacer = OutboundPacer(writer, sample_rate=out_rate)

    def subscribe(self, maxsize: int = DEFAULT_QUEUE_FRAMES) -> Subscription:
        sub = Subscription(maxsize)
        if self.closed.done():
            sub.offer(Closed(self.closed.result()))
        else:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with contextlib.suppress(ValueError):
            self._subs.remove(sub)

    @property
    def is_closed(self) -> bool:
        return self.closed.done()

    # -- called by the server's reader ------------------------------------------------

    def deliver(self, message: Message, arrived: float | None = None) -> None:
        now = time.monotonic() if arrived is None else arrived
        if message.is_audio:
            self._seq += 1
            self.frames_in += 1
            item: InboundItem = AudioFrame(message.payload, message.sample_rate, self._seq, now)
        elif message.kind is Kind.DTMF:
            self.dtmf_in += 1
            item = DtmfDigit(message.payload.decode("ascii"), now)
        else:  # pragma: no cover - the server routes other kinds elsewhere
            return
        for sub in self._subs:
            sub.offer(item)

    def mark_closed(self, reason: str) -> None:
        if self.closed.done():
            return
        self.closed.set_result(reason)
        self.pacer.stop()
        for sub in self._subs:
            sub.offer(Closed(reason))
        self._subs.clear()

    # -- outbound ---------------------------------------------------------------------

    async def hangup(self) -> None:
        """Ask Asterisk to hang the AudioSocket channel up (0x00), then close."""
        self.pacer.stop()
        if not self._writer.is_closing():
            self._writer.write(encode_hangup())
            with contextlib.suppress(ConnectionError, TimeoutError):
                async with asyncio.timeout(1.0):
                    await self._writer.drain()
        await self.close()

    async def close(self) -> None:
        self.pacer.stop()
        if not self._writer.is_closing():
            self._writer.close()
        with contextlib.suppress(ConnectionError, TimeoutError):
            async with asyncio.timeout(1.0):
                await self._writer.wait_closed()
        self.mark_closed("closed by MiniBot")
