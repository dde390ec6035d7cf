"""Recognition on speech servers over the Wyoming protocol (the ``wyoming`` library).

Any maintained Wyoming ASR server works: ``wyoming-faster-whisper`` (Whisper on CPU or a GPU),
and the others Rhasspy/Home Assistant users run. The operator lists them
(``MINIBOT_WYOMING_ASR=tcp://asr1:10300,tcp://asr2:10300``); calls spread across them.

One utterance is one connection (the server closes it after its answer):
  -> ``transcribe`` {language: fr, transcript_names/terms: the scenario's words}
  -> ``audio-start`` {rate, width: 2, channels: 1}
  -> ``audio-chunk`` ... (sent while the caller speaks, so the server has it all at the end)
  -> ``audio-stop``                         <- ``transcript`` {text}

The audio is also kept here until the final answer: when a server fails (refuses, resets, says
nothing within ``answer_timeout``), it is set aside and the utterance is replayed to the next
one, so the call goes on. Every network wait has a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from urllib.parse import urlsplit

from wyoming.asr import Transcribe
from wyoming.asr import Transcript as WyTranscript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncClient
from wyoming.info import Describe, Info

from ..service_pool import ServicePool, where
from .base import AsrUnavailable, Transcript
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)


class WyomingError(RuntimeError):
    """A Wyoming server failed (or every server did); the message says which and why."""


def check_uris(uris: list[str], setting: str) -> list[str]:
    uris = [u.strip() for u in uris if u and u.strip()]
    if not uris:
        raise AsrUnavailable(f"{setting} lists no server: set it to tcp://host:port (several, comma-separated)")
    for uri in uris:
        parts = urlsplit(uri)
        if parts.scheme not in ("tcp", "unix"):
            raise AsrUnavailable(f"{setting}: {where(uri)} is not a tcp:// or unix:// URI")
        if parts.scheme == "tcp" and (parts.hostname is None or parts.port is None):
            raise AsrUnavailable(f"{setting}: {where(uri)} needs a host and a port (tcp://host:10300)")
    return uris


async def connect(uri: str, connect_timeout: float, read_timeout: float) -> AsyncClient:
    client = AsyncClient.from_uri(uri, connect_timeout=connect_timeout, read_timeout=read_timeout)
    try:
        await client.connect()
    except TimeoutError:
        raise WyomingError(f"{where(uri)}: no connection within {connect_timeout:g} s") from None
    except OSError as exc:
        raise WyomingError(f"{where(uri)}: {type(exc).__name__}: {exc}") from None
    return client


async def close(client: AsyncClient | None) -> None:
    if client is None:
        return
    with contextlib.suppress(TimeoutError, OSError):
        await asyncio.wait_for(client.disconnect(), 1.0)


async def describe(uri: str, timeout: float) -> Info:
    """Ask one server what it runs (the Wyoming ``describe``/``info`` exchange)."""
    client = await connect(uri, timeout, timeout)
    try:
        await asyncio.wait_for(client.write_event(Describe().event()), timeout)
        while True:
            event = await client.read_event()  # read_timeout applies
            if event is None:
                raise WyomingError(f"{where(uri)}: closed the connection without an info answer")
            if Info.is_type(event.type):
                return Info.from_event(event)
    except TimeoutError:
        raise WyomingError(f"{where(uri)}: no info answer within {timeout:g} s") from None
    except (OSError, ConnectionError) as exc:
        raise WyomingError(f"{where(uri)}: {type(exc).__name__}: {exc}") from None
    finally:
        await close(client)


class WyomingRecognizer:
    name = "wyoming"
    streaming = False  # Whisper servers answer once, at the end of the utterance

    def __init__(self, uris: list[str], *, language: str = "fr", vocabulary: Vocabulary | None = None,
                 connect_timeout: float = 2.0, answer_timeout: float = 10.0, send_timeout: float = 2.0,
                 cooldown: float = 10.0) -> None:
        self.pool = ServicePool(check_uris(uris, "MINIBOT_WYOMING_ASR"), cooldown=cooldown)
        self.language = language
        self.vocabulary = vocabulary
        self.connect_timeout = connect_timeout
        self.answer_timeout = answer_timeout
        self.send_timeout = send_timeout

    def open(self, sample_rate: int, vocabulary: Vocabulary | None = None) -> WyomingStream:
        return WyomingStream(self, sample_rate, vocabulary or self.vocabulary)

    async def probe_each(self) -> dict[str, str]:
        """Each server's answer to ``describe`` (or why it failed): what /health shows."""

        async def one(uri: str) -> str:
            started = time.monotonic()
            try:
                info = await describe(uri, self.connect_timeout)
            except WyomingError as exc:
                self.pool.failed(uri, str(exc))
                return f"down: {exc}"
            self.pool.succeeded(uri)
            programs = [p.name for p in info.asr if p.installed] or ["no ASR program"]
            return f"ok: {', '.join(programs)} in {(time.monotonic() - started) * 1000:.0f} ms"

        answers = await asyncio.gather(*(one(u) for u in self.pool.uris))
        return {where(u): a for u, a in zip(self.pool.uris, answers, strict=True)}

    async def probe(self) -> str:
        """Up when at least one server answers; the detail names every server's state."""
        states = await self.probe_each()
        up = [u for u, s in states.items() if s.startswith("ok")]
        detail = "; ".join(f"{u} {s}" for u, s in states.items())
        if not up:
            raise WyomingError(f"no Wyoming ASR server answers: {detail}")
        return f"wyoming ASR {len(up)}/{len(states)} up: {detail}"


class WyomingStream:
    """One utterance. Audio goes to the current server as it comes and is kept until the final
    answer, so a failure anywhere replays it to the next server."""

    def __init__(self, rec: WyomingRecognizer, sample_rate: int, vocabulary: Vocabulary | None) -> None:
        self._rec = rec
        self._rate = sample_rate
        self._vocabulary = vocabulary
        self._chunks: list[bytes] = []
        self._client: AsyncClient | None = None
        self._uri: str | None = None
        self._tried: list[str] = []
        self._order = rec.pool.order()
        self.server: str | None = None  # where the final came from (for figures and logs)

    def _audio(self, pcm: bytes) -> AudioChunk:
        return AudioChunk(rate=self._rate, width=2, channels=1, audio=pcm)

    def _transcribe(self) -> Transcribe:
        vocab = self._vocabulary
        return Transcribe(language=self._rec.language,
                          transcript_names=list(vocab.names) if vocab and vocab.names else None,
                          transcript_terms=list(vocab.terms) if vocab and vocab.terms else None)

    async def _send(self, *events) -> None:
        assert self._client is not None
        async with asyncio.timeout(self._rec.send_timeout):
            for event in events:
                await self._client.write_event(event.event())

    async def _start(self) -> None:
        """Connect to the next server and send it the utterance so far."""
        for uri in self._order:
            if uri in self._tried:
                continue
            self._tried.append(uri)
            try:
                self._client = await connect(uri, self._rec.connect_timeout, self._rec.answer_timeout)
                self._uri = uri
                await self._send(self._transcribe(), AudioStart(rate=self._rate, width=2, channels=1),
                                 *(self._audio(c) for c in self._chunks))
                return
            except (WyomingError, TimeoutError, OSError, ConnectionError) as exc:
                await self._fail(uri, exc)
        raise WyomingError("every Wyoming ASR server failed for this utterance: "
                           + ", ".join(where(u) for u in self._tried))

    async def _fail(self, uri: str, exc: BaseException) -> None:
        why = str(exc) if isinstance(exc, WyomingError) else f"{type(exc).__name__}: {exc}".rstrip(": ")
        self._rec.pool.failed(uri, why)
        client, self._client, self._uri = self._client, None, None
        await close(client)

    async def feed(self, pcm: bytes) -> Transcript | None:
        if not pcm:
            return None
        self._chunks.append(pcm)
        try:
            if self._client is None:
                await self._start()  # sends the chunk just kept
            else:
                await self._send(self._audio(pcm))
        except WyomingError:
            raise
        except (TimeoutError, OSError, ConnectionError) as exc:
            assert self._uri is not None
            await self._fail(self._uri, exc)  # the next feed or finish replays to another server
        except BaseException:
            await close(self._client)
            self._client = None
            raise
        return None

    async def aclose(self) -> None:
        """Abandoned (the call ended mid-utterance): hang up on the server."""
        client, self._client = self._client, None
        await close(client)

    async def finish(self) -> Transcript:
        seconds = sum(len(c) for c in self._chunks) / 2 / self._rate
        if not self._chunks:
            return Transcript("", final=True, audio_seconds=0.0)
        try:
            while True:
                if self._client is None:
                    await self._start()
                uri = self._uri
                assert uri is not None
                try:
                    text = await self._final()
                except (WyomingError, TimeoutError, OSError, ConnectionError) as exc:
                    if isinstance(exc, TimeoutError):
                        exc = WyomingError(f"{where(uri)}: no transcript within {self._rec.answer_timeout:g} s")
                    await self._fail(uri, exc)
                    continue
                self._rec.pool.succeeded(uri)
                self.server = where(uri)
                return Transcript(text, final=True, audio_seconds=seconds)
        finally:
            await close(self._client)
            self._client = None

    async def _final(self) -> str:
        assert self._client is not None and self._uri is not None
        await self._send(AudioStop())
        async with asyncio.timeout(self._rec.answer_timeout):
            while True:
                event = await self._client.read_event()
                if event is None:
                    raise WyomingError(f"{where(self._uri)}: closed the connection without a transcript")
                if WyTranscript.is_type(event.type):
                    return WyTranscript.from_event(event).text.strip()
                # transcript-start/-chunk of streaming servers, or anything newer: the final follows
