"""AudioSocket TCP server: one session per connection, matched to its call by UUID.

A call registers the UUID it passed as externalMedia ``data`` with ``expect()`` (or waits
for it with ``wait_session()``); Asterisk connects inside the externalMedia request and sends
that UUID first (facts §2.2). Anything wrong on one connection closes that connection only,
with one log line saying why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass

from .codec import Decoder, Kind, Limits, Message, ProtocolError, parse_uuid
from .session import AudioSocketSession

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerTimeouts:
    handshake: float = 5.0  # connect -> UUID message
    # A payload that trails its header. Asterisk itself gives up after ~5 ms; we allow more
    # because a loaded host may split a write, but a stalled peer must not hold a slot.
    stalled_payload: float = 2.0


class AudioSocketServer:
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 9093,
        *,
        accept_unknown: bool = False,
        timeouts: ServerTimeouts | None = None,
        limits: Limits | None = None,
        out_rate: int = 16000,
    ) -> None:
        self.host = host
        self.port = port
        self.accept_unknown = accept_unknown
        self.timeouts = timeouts or ServerTimeouts()
        self.limits = limits or Limits()
        self.out_rate = out_rate
        self._server: asyncio.Server | None = None
        self._sessions: dict[uuid.UUID, AudioSocketSession] = {}
        self._waiters: dict[uuid.UUID, asyncio.Future[AudioSocketSession]] = {}
        self._handlers: set[asyncio.Task[None]] = set()
        self.rejected = 0  # connections closed for a protocol or matching error

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.host, self.port)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        log.info("AudioSocket server listening on %s:%d", self.host, self.port)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self._sessions.values()):
            await session.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        for fut in self._waiters.values():
            if not fut.done():
                fut.cancel()
        self._waiters.clear()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2.0):
                    await self._server.wait_closed()

    async def __aenter__(self) -> AudioSocketServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- matching calls to connections ------------------------------------------------

    def expect(self, call_uuid: uuid.UUID) -> asyncio.Future[AudioSocketSession]:
        """Announce a UUID about to connect; returns the future of its session."""
        fut = self._waiters.get(call_uuid)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self._waiters[call_uuid] = fut
            if call_uuid in self._sessions:
                fut.set_result(self._sessions[call_uuid])
        return fut

    def forget(self, call_uuid: uuid.UUID) -> None:
        """The call is over: stop expecting its UUID."""
        fut = self._waiters.pop(call_uuid, None)
        if fut is not None and not fut.done():
            fut.cancel()

    async def wait_session(self, call_uuid: uuid.UUID, timeout: float) -> AudioSocketSession:
        fut = self.expect(call_uuid)
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(fut)
        except TimeoutError:
            raise TimeoutError(f"AudioSocket for call {call_uuid} did not connect within {timeout:g} s") from None

    def session(self, call_uuid: uuid.UUID) -> AudioSocketSession | None:
        return self._sessions.get(call_uuid)

    @property
    def sessions(self) -> dict[uuid.UUID, AudioSocketSession]:
        return dict(self._sessions)

    # -- one connection ---------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if peername else "?"
        session: AudioSocketSession | None = None
        reason = "peer closed the connection"
        try:
            accepted = await self._handshake(reader, writer, peer)
            if accepted is None:
                return
            session, decoder, first = accepted
            reason = self._dispatch(session, first, time.monotonic()) or await self._read_loop(
                reader, session, decoder
            )
        except asyncio.CancelledError:
            reason = "server shutting down"
            raise
        finally:
            self._handlers.discard(task)
            if session is not None:
                if self._sessions.get(session.uuid) is session:
                    del self._sessions[session.uuid]
                session.mark_closed(reason)
                log.info("AudioSocket %s (%s) closed: %s", session.uuid, peer, reason)
            if not writer.is_closing():
                writer.close()

    def _reject(self, writer: asyncio.StreamWriter, peer: str, why: str, call: uuid.UUID | None = None) -> None:
        self.rejected += 1
        who = f"call {call}" if call else "before UUID"
        log.warning("AudioSocket connection from %s closed (%s): %s", peer, who, why)
        writer.close()

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> tuple[AudioSocketSession, Decoder, list[Message]] | None:
        """Read until the UUID; returns the session, its decoder, and messages read with the UUID."""
        decoder = Decoder(self.limits)
        try:
            async with asyncio.timeout(self.timeouts.handshake):
                while True:
                    data = await reader.read(4096)
                    if not data:
                        self._reject(writer, peer, "connection closed before the UUID message")
                        return None
                    messages = decoder.feed(data)
                    if messages:
                        break
        except TimeoutError:
            self._reject(writer, peer, f"no UUID message within {self.timeouts.handshake:g} s")
            return None
        except ProtocolError as exc:
            self._reject(writer, peer, str(exc))
            return None
        except ConnectionError as exc:
            self._reject(writer, peer, f"connection error before UUID: {exc}")
            return None
        try:
            call_uuid = parse_uuid(messages[0])
        except ProtocolError as exc:
            self._reject(writer, peer, str(exc))
            return None
        if call_uuid in self._sessions:
            self._reject(writer, peer, "repeated UUID: a connection for this call is already open", call_uuid)
            return None
        waiter = self._waiters.get(call_uuid)
        if waiter is None and not self.accept_unknown:
            self._reject(writer, peer, "unknown UUID: no call is waiting for it", call_uuid)
            return None
        session = AudioSocketSession(call_uuid, peer, writer, out_rate=self.out_rate)
        # Silence until there is something to say: Asterisk's AudioSocket read must never wait
        # long for a message, or it holds its channel locked (audiosocket/pacer.py).
        session.pacer.keep_line_fed()
        self._sessions[call_uuid] = session
        if waiter is not None and not waiter.done():
            waiter.set_result(session)
        elif waiter is None:
            self.expect(call_uuid)
        log.info("AudioSocket %s connected from %s", call_uuid, peer)
        return session, decoder, messages[1:]

    async def _read_loop(
        self, reader: asyncio.StreamReader, session: AudioSocketSession, decoder: Decoder
    ) -> str:
        while True:
            timeout = self.timeouts.stalled_payload if decoder.mid_message else None
            try:
                async with asyncio.timeout(timeout):
                    data = await reader.read(65536)
            except TimeoutError:
                self.rejected += 1
                log.warning(
                    "AudioSocket %s: payload stalled (%d bytes pending for %g s)",
                    session.uuid, decoder.pending, self.timeouts.stalled_payload,
                )
                return "stalled payload"
            except ConnectionError as exc:
                return f"connection error: {exc}"
            if not data:
                if decoder.mid_message:
                    return f"peer closed mid-message ({decoder.pending} bytes pending)"
                return "peer closed the connection"
            arrived = time.monotonic()
            try:
                messages = decoder.feed(data)
            except ProtocolError as exc:
                self.rejected += 1
                log.warning("AudioSocket %s from %s: %s", session.uuid, session.peer, exc)
                return f"protocol error: {exc}"
            reason = self._dispatch(session, messages, arrived)
            if reason:
                return reason

    def _dispatch(self, session: AudioSocketSession, messages: list[Message], arrived: float) -> str | None:
        for message in messages:
            if message.is_audio or message.kind is Kind.DTMF:
                session.deliver(message, arrived)
            elif message.kind is Kind.HANGUP:
                return "hangup message"
            elif message.kind is Kind.ERROR:
                code = message.payload.hex() or "none"
                self.rejected += 1
                log.warning("AudioSocket %s: peer sent ERROR (code %s)", session.uuid, code)
                return f"error message (code {code})"
            elif message.kind is Kind.UUID:
                self.rejected += 1
                log.warning("AudioSocket %s: repeated UUID message mid-stream", session.uuid)
                return "protocol error: repeated UUID message"
        return None
