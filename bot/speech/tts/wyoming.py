"""Synthesis on speech servers over the Wyoming protocol (``wyoming-piper`` and the others).

The TTS protocol here is blocking (callers run it in an executor), so each synthesis runs the
async Wyoming exchange on a private event loop in the calling thread:
  -> ``synthesize`` {text, voice: {name}}
  <- ``audio-start`` {rate, width, channels}, ``audio-chunk`` ..., ``audio-stop``
Servers are tried in turn (round robin); one that fails is set aside and the line goes to the
next. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import threading

from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.info import Describe, Info
from wyoming.tts import Synthesize, SynthesizeVoice

from ..asr.wyoming import WyomingError, check_uris, close, connect, describe
from ..pcm import Audio
from ..service_pool import ServicePool, where
from .base import TtsError, TtsUnavailable, at_rate


class WyomingTtsEngine:
    name = "wyoming"

    def __init__(self, uris: list[str], *, default_voice: str | None = None, connect_timeout: float = 2.0,
                 answer_timeout: float = 15.0, cooldown: float = 10.0) -> None:
        from ..asr.base import AsrUnavailable

        try:
            self.pool = ServicePool(check_uris(uris, "MINIBOT_WYOMING_TTS"), cooldown=cooldown)
        except AsrUnavailable as exc:
            raise TtsUnavailable(str(exc)) from None
        self.connect_timeout = connect_timeout
        self.answer_timeout = answer_timeout
        self._voices: list[str] | None = None
        self._lock = threading.Lock()
        self.default_voice = default_voice or ""

    @property
    def version(self) -> str:
        # What renders a line is the server's voice; the cache key carries its name. A server
        # upgrade is the operator's to announce (clear the cache), as for any remote engine.
        return f"wyoming/{self.default_voice or 'server-default'}"

    def _info(self) -> Info:
        errors = []
        for uri in self.pool.order():
            try:
                return asyncio.run(describe(uri, self.connect_timeout))
            except WyomingError as exc:
                self.pool.failed(uri, str(exc))
                errors.append(str(exc))
        raise TtsUnavailable("no Wyoming TTS server answers: " + "; ".join(errors))

    def voices(self) -> list[str]:
        with self._lock:
            if self._voices is None:
                info = self._info()
                self._voices = sorted({v.name for p in info.tts for v in p.voices if v.installed})
            return list(self._voices)

    async def probe_each(self) -> dict[str, str]:
        async def one(uri: str) -> str:
            try:
                info = await describe(uri, self.connect_timeout)
            except WyomingError as exc:
                self.pool.failed(uri, str(exc))
                return f"down: {exc}"
            self.pool.succeeded(uri)
            return f"ok: {sum(len(p.voices) for p in info.tts)} voices"

        answers = await asyncio.gather(*(one(u) for u in self.pool.uris))
        return {where(u): a for u, a in zip(self.pool.uris, answers, strict=True)}

    async def probe(self) -> str:
        states = await self.probe_each()
        detail = "; ".join(f"{u} {s}" for u, s in states.items())
        if not any(s.startswith("ok") for s in states.values()):
            raise WyomingError(f"no Wyoming TTS server answers: {detail}")
        return f"wyoming TTS: {detail}"

    def synthesize(self, text: str, voice: str | None = None, sample_rate: int | None = None) -> Audio:
        voice = voice or self.default_voice or None
        errors = []
        for uri in self.pool.order():
            try:
                audio = asyncio.run(self._one(uri, text, voice))
            except WyomingError as exc:
                self.pool.failed(uri, str(exc))
                errors.append(str(exc))
                continue
            self.pool.succeeded(uri)
            return at_rate(audio, sample_rate)
        raise TtsError("wyoming: every server failed: " + "; ".join(errors))

    async def _one(self, uri: str, text: str, voice: str | None) -> Audio:
        client = await connect(uri, self.connect_timeout, self.answer_timeout)
        try:
            async with asyncio.timeout(self.answer_timeout):
                await client.write_event(Synthesize(text=text, voice=SynthesizeVoice(name=voice) if voice else None)
                                         .event())
                rate, width, channels, chunks = None, 2, 1, []
                while True:
                    event = await client.read_event()
                    if event is None:
                        raise WyomingError(f"{where(uri)}: closed the connection before audio-stop")
                    if AudioStart.is_type(event.type):
                        start = AudioStart.from_event(event)
                        rate, width, channels = start.rate, start.width, start.channels
                    elif AudioChunk.is_type(event.type):
                        chunk = AudioChunk.from_event(event)
                        rate, width, channels = chunk.rate, chunk.width, chunk.channels
                        chunks.append(chunk.audio)
                    elif AudioStop.is_type(event.type):
                        break
                    elif Describe.is_type(event.type):
                        continue
        except TimeoutError:
            raise WyomingError(f"{where(uri)}: no complete answer within {self.answer_timeout:g} s") from None
        except (OSError, ConnectionError) as exc:
            raise WyomingError(f"{where(uri)}: {type(exc).__name__}: {exc}") from None
        finally:
            await close(client)
        if rate is None or not chunks:
            raise WyomingError(f"{where(uri)}: answered no audio")
        if width != 2 or channels != 1:
            raise WyomingError(f"{where(uri)}: audio is {width * 8}-bit {channels}-channel, expected 16-bit mono")
        return Audio(b"".join(chunks), rate)
