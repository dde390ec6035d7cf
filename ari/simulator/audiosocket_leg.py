"""chan_audiosocket's side of one externalMedia channel (facts §1.3-§1.5, §2.2).

Connects inside the externalMedia request (2 s timeout, TCP_NODELAY), sends the UUID when
the channel is "called", then one message per 20 ms frame in the channel format. What
MiniBot sends back is accepted as Asterisk does: 0x00 or a closed socket hangs the channel
up; 0x10-0x18 audio of any rate is one frame; any other kind, or length 0, is fatal. Single
messages over 60 ms are dropped (translate.c "Out of buffer space", facts §1.4). Asterisk
closes the TCP connection without sending 0x00 when the channel goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections import deque
from collections.abc import Callable

import numpy as np

from audiosocket.codec import AUDIO_RATES, Decoder, Kind, Limits, ProtocolError, encode, encode_audio, encode_uuid

from .audio import FRAME, RATE, alaw_encode, resample, to_float, to_int16, ulaw_encode

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 2.0  # MAX_CONNECT_TIMEOUT_MSEC
MAX_MESSAGE_MS = 60  # 20-60 ms messages arrived intact; 100 ms and more were dropped
INBOUND_FRAMES = 50  # 1 s of bot audio waiting to be heard; more is a peer not pacing
WRITE_BUFFER_LIMIT = 256 * 1024  # a short write() is fatal in Asterisk; a stuck reader is too

# ExternalMedia `format` -> (rate, encoding). Non-slin formats go out mislabelled as 0x10.
FORMATS: dict[str, tuple[int, str]] = {
    "slin": (8000, "slin"),
    "slin12": (12000, "slin"),
    "slin16": (16000, "slin"),
    "slin24": (24000, "slin"),
    "slin32": (32000, "slin"),
    "slin44": (44100, "slin"),
    "slin48": (48000, "slin"),
    "slin96": (96000, "slin"),
    "slin192": (192000, "slin"),
    "ulaw": (8000, "ulaw"),
    "alaw": (8000, "alaw"),
}


class AudioSocketLeg:
    def __init__(
        self,
        host: str,
        port: int,
        call_uuid: uuid.UUID,
        fmt: str,
        on_close: Callable[[str], None],
        track: Callable[[asyncio.Task[None]], None] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.uuid = call_uuid
        self.rate, self.encoding = FORMATS[fmt]
        self._on_close = on_close
        self._track = track
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._rx_task: asyncio.Task[None] | None = None
        self._inbound: deque[np.ndarray] = deque(maxlen=INBOUND_FRAMES)
        self._closing = False
        self.frames_sent = 0
        self.frames_received = 0
        self.dropped_oversize = 0
        self.received_times: list[float] = []
        self.close_reason: str | None = None

    async def connect(self) -> None:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def start(self, *, send_uuid: bool = True) -> None:
        """audiosocket_call: the UUID goes out, then the reader starts."""
        assert self._writer is not None
        if send_uuid:
            self._writer.write(encode_uuid(self.uuid))
        self._rx_task = asyncio.get_running_loop().create_task(self._receive(), name=f"as-leg-{self.uuid}")
        if self._track is not None:
            self._track(self._rx_task)

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._closing

    # -- towards MiniBot -------------------------------------------------------------

    def send(self, audio: np.ndarray) -> None:
        """One 20 ms frame (float32, 16 kHz) in the channel's format."""
        if not self.connected:
            return
        assert self._writer is not None
        pcm = to_int16(resample(audio, RATE, self.rate))
        if self.encoding == "slin":
            message = encode_audio(pcm.astype("<i2").tobytes(), self.rate)
        else:  # facts §1.3: a non-slin payload goes out labelled 0x10
            payload = ulaw_encode(pcm) if self.encoding == "ulaw" else alaw_encode(pcm)
            message = encode(Kind.SLIN8, payload.tobytes())
        transport = self._writer.transport
        if transport.is_closing():
            return
        if transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT:
            self._lost("write failed: the peer does not read")
            return
        self._writer.write(message)
        self.frames_sent += 1

    # -- from MiniBot ----------------------------------------------------------------

    def pop_frame(self) -> np.ndarray | None:
        return self._inbound.popleft() if self._inbound else None

    async def _receive(self) -> None:
        assert self._reader is not None
        # Asterisk takes any audio size; our own cap is only the 16-bit length field.
        decoder = Decoder(Limits(max_audio_ms=10_000_000))
        reason = "peer closed the connection"
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                now = asyncio.get_running_loop().time()
                messages = decoder.feed(data)
                for msg in messages:
                    if msg.kind is Kind.HANGUP:
                        reason = "hangup message"
                        raise _Hangup
                    if msg.kind not in AUDIO_RATES:
                        reason = "Received AudioSocket message other than hangup or audio"
                        raise _Hangup
                    self._take_audio(msg.payload, AUDIO_RATES[msg.kind], now)
        except _Hangup:
            pass
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
        except (ConnectionError, OSError) as exc:
            reason = f"connection error: {exc}"
        if not self._closing:
            self._lost(reason)

    def _take_audio(self, payload: bytes, rate: int, now: float) -> None:
        self.frames_received += 1
        self.received_times.append(now)
        samples = len(payload) // 2
        if samples * 1000 > MAX_MESSAGE_MS * rate:
            self.dropped_oversize += 1
            return
        audio = resample(to_float(np.frombuffer(payload[: samples * 2], dtype="<i2")), rate, RATE)
        for i in range(0, len(audio), FRAME):
            chunk = audio[i : i + FRAME]
            if len(chunk) < FRAME:
                chunk = np.concatenate([chunk, np.zeros(FRAME - len(chunk), np.float32)])
            self._inbound.append(chunk)

    # -- teardown --------------------------------------------------------------------

    def _lost(self, reason: str) -> None:
        """MiniBot's side went away: the channel hangs up (cause 0)."""
        if self._closing:
            return
        self.close_reason = reason
        log.info("AudioSocket %s: %s", self.uuid, reason)
        self._close_transport()
        self._on_close(reason)

    def _close_transport(self) -> None:
        self._closing = True
        if self._writer is not None and not self._writer.is_closing():
            self._writer.close()

    def close(self) -> None:
        """Asterisk hung the channel up: close TCP, no 0x00 (facts §1.5)."""
        if self.close_reason is None:
            self.close_reason = "closed by Asterisk"
        self._close_transport()
        task = self._rx_task
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def aclose(self) -> None:
        self.close()
        task = self._rx_task
        if task is not None and task is not asyncio.current_task():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._writer is not None:
            with contextlib.suppress(ConnectionError, TimeoutError, OSError):
                async with asyncio.timeout(1.0):
                    await self._writer.wait_closed()


class _Hangup(Exception):
    pass
