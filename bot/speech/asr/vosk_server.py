"""Vosk behind a WebSocket: the protocol of alphacep's vosk-server (websocket/asr_server.py).

Operators run the large French model (vosk-model-fr-0.22 needs several GB of memory) once, on
a machine of its own or a GPU, and point every call worker at it (`MINIBOT_VOSK_URL`,
``ws://asr-host:2700``). The server does the decoding, so this side costs a socket per utterance.

The protocol, one connection per utterance, in lockstep (one answer per message):
  -> ``{"config": {"sample_rate": 8000}}``   (no answer)
  -> binary PCM (s16le, mono)                <- ``{"partial": "..."}``, or ``{"text": "..."}``
                                                when the server's own endpointer closed a segment
  -> ``{"eof" : 1}`` (this exact text)       <- ``{"text": "..."}``, then the server closes
"""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import aiohttp

from ...i18n import _
from .base import AsrUnavailable, Transcript

EOF = '{"eof" : 1}'  # asr_server.py compares the text itself, spaces included


class VoskServerError(RuntimeError):
    """The server could not be reached or answered something else than the protocol's JSON."""


def _where(url: str) -> str:
    """The URL without user info, for messages and logs."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}{parts.path}"


class VoskServerRecognizer:
    name = "vosk-server"
    streaming = True

    def __init__(self, url: str, *, connect_timeout: float = 2.0, answer_timeout: float = 5.0) -> None:
        if urlsplit(url).scheme not in ("ws", "wss"):
            raise AsrUnavailable(_("MINIBOT_VOSK_URL doit être une adresse ws:// ou wss://, pas {url!r}").format(
                url=url))
        self.url = url
        self.where = _where(url)
        self.connect_timeout = connect_timeout
        self.answer_timeout = answer_timeout

    def open(self, sample_rate: int) -> VoskServerStream:
        return VoskServerStream(self, sample_rate)

    async def probe(self) -> str:
        """One empty utterance end to end: what /health reports."""
        started = time.monotonic()
        await VoskServerStream(self, 8000).finish(connect=True)
        return f"{self.name} at {self.where} answered in {(time.monotonic() - started) * 1000:.0f} ms"


class VoskServerStream:
    """One utterance: connects on the first audio, closes after the final answer or an error."""

    def __init__(self, recognizer: VoskServerRecognizer, sample_rate: int) -> None:
        self._rec = recognizer
        self._rate = sample_rate
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._committed: list[str] = []  # segments the server's endpointer closed
        self._last = ""
        self._samples = 0

    async def feed(self, pcm: bytes) -> Transcript | None:
        if not pcm:
            return None
        self._samples += len(pcm) // 2
        answer = await self._exchange(pcm)
        if "text" in answer:  # the server closed a segment: its words are final
            if answer["text"]:
                self._committed.append(answer["text"])
            partial = ""
        else:
            partial = answer.get("partial", "")
        text = " ".join([*self._committed, partial]).strip()
        if text and text != self._last:
            self._last = text
            return Transcript(text, final=False, audio_seconds=self._samples / self._rate)
        return None

    async def finish(self, *, connect: bool = False) -> Transcript:
        if self._ws is None and not connect:  # no audio was sent: nothing to ask
            return Transcript("", final=True, audio_seconds=0.0)
        try:
            answer = await self._exchange(EOF)
        finally:
            await self._close()
        text = " ".join([*self._committed, answer.get("text", "")]).strip()
        return Transcript(text, final=True, audio_seconds=self._samples / self._rate)

    async def aclose(self) -> None:
        """The utterance is abandoned (the call ended): close the socket and its session."""
        await self._close()

    async def _exchange(self, message: bytes | str) -> dict:
        where = self._rec.where
        try:
            if self._ws is None:
                await self._connect()
            assert self._ws is not None
            if isinstance(message, bytes):
                await self._ws.send_bytes(message)
            else:
                await self._ws.send_str(message)
            async with asyncio.timeout(self._rec.answer_timeout):
                reply = await self._ws.receive()
            if reply.type is not aiohttp.WSMsgType.TEXT:
                raise VoskServerError(f"vosk-server at {where}: expected a JSON answer, got {reply.type.name}")
            try:
                answer = json.loads(reply.data)
            except json.JSONDecodeError:
                answer = None
            if not isinstance(answer, dict):
                raise VoskServerError(f"vosk-server at {where}: not a JSON object: {reply.data[:80]!r}")
            return answer
        except BaseException as exc:  # cancellation included: the socket never outlives the utterance
            await self._close()
            if isinstance(exc, TimeoutError):
                raise VoskServerError(f"vosk-server at {where}: no answer within {self._rec.answer_timeout:g} s") \
                    from None
            if isinstance(exc, (aiohttp.ClientError, OSError)):
                raise VoskServerError(f"vosk-server at {where}: {type(exc).__name__}: {exc}") from None
            raise

    async def _connect(self) -> None:
        self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(self._rec.connect_timeout):
                self._ws = await self._session.ws_connect(self._rec.url, autoping=True, heartbeat=None)
        except TimeoutError:
            raise VoskServerError(f"vosk-server at {self._rec.where}: no connection within "
                                  f"{self._rec.connect_timeout:g} s") from None
        await self._ws.send_str(json.dumps({"config": {"sample_rate": self._rate}}))

    async def _close(self) -> None:
        ws, session, self._ws, self._session = self._ws, self._session, None, None
        try:
            if ws is not None:
                await asyncio.wait_for(ws.close(), 1.0)
        except (TimeoutError, aiohttp.ClientError, OSError):
            pass
        finally:
            if session is not None:
                # Shielded: a call ending cancels its recogniser mid-close, which left the session open.
                await asyncio.shield(session.close())
