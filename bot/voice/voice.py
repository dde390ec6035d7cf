"""A voice for calls: a line's pre-recorded file, or its text from the cache, rendered on a miss.

Scenario lines, objection answers and rail returns are rendered before the call (`minibot
scenario render`), so during a call a lookup is a stat and a read. Freestyle answers and lines
with per-contact variables are synthesised during the call, in a worker thread, once per text
even when several calls ask at the same moment.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path

from ..call.prompt import Prompt
from ..config import Settings
from ..dialog.scenario.engine import Line
from ..ops import metrics
from ..speech.pcm import Audio
from ..speech.tts import TtsEngine, TtsUnavailable, load_engine
from .ambience import ambience_tag, load_ambience, mix_ambience
from .cache import AudioCache, CachedLine, cache_key

log = logging.getLogger(__name__)


class CachedVoice:
    def __init__(self, engine: TtsEngine, cache: AudioCache, *, voice: str | None = None,
                 executor: Executor | None = None, http_url: str | None = None,
                 ambience: Audio | None = None, ambience_db: float = -8.0) -> None:
        self.engine, self.cache = engine, cache
        # An optional room loop mixed under every rendered line (bot.voice.ambience); it is part
        # of the key, so plain and mixed renders of a text never share a file.
        self.ambience, self.ambience_db = ambience, ambience_db
        self._ambience_tag = ambience_tag(ambience, ambience_db) if ambience is not None else ""
        # Set when Asterisk runs on another host and fetches the cache over HTTP (bot.voice.server).
        self.http_url = http_url.rstrip("/") if http_url else None
        self.voice = voice or engine.default_voice
        self._executor = executor or ThreadPoolExecutor(1, thread_name_prefix="tts")
        self._rendering: dict[str, asyncio.Future[CachedLine]] = {}
        # Lines already read, most recent last: a turn's reply then costs no executor hop, which
        # under load waits behind other calls' work (bounded by bytes; the file is still checked).
        self._loaded: collections.OrderedDict[str, Prompt] = collections.OrderedDict()
        self._loaded_bytes = 0
        self.loaded_limit = 64 * 2**20

    def key(self, text: str) -> str:
        return cache_key(self.engine.name, self.engine.version + self._ambience_tag, self.voice, text)

    def lookup(self, text: str) -> CachedLine | None:
        return self.cache.lookup(self.key(text))

    def render(self, text: str) -> tuple[CachedLine, bool]:
        """Blocking: the cached line for `text`, and whether it was already there."""
        key = self.key(text)
        if (hit := self.cache.lookup(key)) is not None:
            return hit, True
        started = time.monotonic()
        audio: Audio = self.engine.synthesize(text, self.voice)
        if self.ambience is not None:
            audio = mix_ambience(audio, self.ambience, self.ambience_db)
        stored = self.cache.store(key, audio)
        metrics.TTS_RENDER.observe(time.monotonic() - started)
        return stored, False

    async def prompt(self, line: Line) -> Prompt:
        loop = asyncio.get_running_loop()
        if line.audio is not None:
            return await loop.run_in_executor(None, Prompt.load, line.audio)
        key = self.key(line.text)
        cached = self.cache.lookup(key)
        if cached is None:
            pending = self._rendering.get(key)
            if pending is None:
                log.info("rendering during the call (%s): %r", line.key, line.text[:60])
                pending = loop.run_in_executor(self._executor, lambda: self.render(line.text)[0])
                self._rendering[key] = pending
                pending.add_done_callback(lambda _: self._rendering.pop(key, None))
            cached = await asyncio.shield(pending)
        if (loaded := self._loaded.get(key)) is not None:
            self._loaded.move_to_end(key)
            return loaded
        prompt = await loop.run_in_executor(None, self._read, cached)
        self._keep(key, prompt)
        return prompt

    async def warm(self, texts: list[str]) -> int:
        """Read lines already rendered into memory (before the calls), so that no turn waits on
        a file read; returns how many were loaded."""
        loaded = await asyncio.get_running_loop().run_in_executor(None, self._read_cached, texts)
        for key, prompt in loaded:
            self._keep(key, prompt)
        return len(loaded)

    def _read_cached(self, texts: list[str]) -> list[tuple[str, Prompt]]:
        out = []
        for text in texts:
            key = self.key(text)
            if (cached := self.cache.lookup(key)) is None or key in self._loaded:
                continue
            out.append((key, self._read(cached)))
        return out

    def _read(self, cached: CachedLine) -> Prompt:
        """Blocking: the line as a prompt. Its audio is the barge-in's reference of what plays;
        a remote Asterisk fetches the file over HTTP (uri), a local one reads the path."""
        path: Path = cached.file("sln16")
        uri = f"sound:{self.http_url}/audio/{cached.key[:2]}/{cached.key}.wav" if self.http_url else None
        return Prompt(path, Audio(path.read_bytes(), 16000), uri)

    def _keep(self, key: str, prompt: Prompt) -> None:
        if key in self._loaded:
            return
        self._loaded[key] = prompt
        self._loaded_bytes += len(prompt.audio.pcm)
        while self._loaded_bytes > self.loaded_limit and len(self._loaded) > 1:
            _, old = self._loaded.popitem(last=False)
            self._loaded_bytes -= len(old.audio.pcm)


def voice_from_settings(settings: Settings) -> CachedVoice:
    """The voice the settings describe: engine, voice, cache (size cap), ambience, HTTP URL.
    TtsUnavailable (naming what is missing) when it cannot be built."""
    t = settings.tts
    engine = load_engine(t.engine, xtts_model_dir=t.xtts_model_dir, xtts_voices_dir=t.xtts_voices_dir,
                         models_dir=settings.models_path, wyoming_tts=settings.wyoming_tts, voice=t.voice)
    try:
        ambience = load_ambience(t.ambience) if t.ambience else None
    except ValueError as exc:
        raise TtsUnavailable(str(exc)) from None
    cache = AudioCache(settings.audio_path, max_bytes=t.cache_max_mb * 1024**2)
    return CachedVoice(engine, cache, voice=t.voice, http_url=t.http_url, ambience=ambience, ambience_db=t.ambience_db)
