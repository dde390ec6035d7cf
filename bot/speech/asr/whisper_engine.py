"""faster-whisper (CTranslate2): the offline default, on Whisper base or a size the operator pulls.

Decoding is pinned to what a phone line needs. Whisper's defaults (beam 5, temperature
fallback, conditioning on previous text, timestamps) loop for seconds on 8 kHz audio and
hallucinate on silence; greedy decoding with a token cap keeps one utterance well under a
second of CPU on Whisper base. French is forced (a short "oui" is too little audio for
language detection).

Ready when the caller stops (``streaming``): while the caller speaks, the growing utterance is
re-decoded every ``stride`` seconds of new audio, in the background, and the words two
successive decodes agree on are committed (LocalAgreement-2, as in whisper_streaming, Macháček
et al. 2023). At the end of speech, a re-decode that began after the words ended (the
utterance closes with the silence that ended the turn) already holds them all: its text is the
final, with no decode after the caller stopped. Otherwise the decoder is given the committed
words as a forced prefix and generates only the rest. It costs CPU while the caller speaks (each
re-decode reads the whole utterance again) and only pays on a machine with cores to spare: a
re-decode starts only when a worker is free, so under load it falls back to one decode at the end.
``feed`` never returns partials:
an unstable hypothesis is not the caller's words, and the listener takes partials as the turn.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from ...i18n import _
from .base import AsrUnavailable, Transcript
from .vocabulary import Vocabulary

log = logging.getLogger(__name__)

WHISPER_RATE = 16000
MAX_WINDOW = 28.0
# A re-decode that read all but this much of the utterance's end read all its words: what follows
# the words is the silence that ended the turn (MINIBOT_VAD__END_SILENCE_MS, 600 ms by default).
COVERED = 0.4  # Whisper's window is 30 s: longer utterances are decoded whole at the end


@dataclass(slots=True)
class StreamCost:
    """The work this utterance's decodes did: how many, and the seconds of audio they read, split
    by when they ran. (CPU time cannot be told apart per stream: CTranslate2 decodes on threads
    of its own; bench.asr measures the process's CPU per second of audio.)"""

    decodes: int = 0
    audio_while_speaking: float = 0.0
    audio_after_end: float = 0.0


class WhisperRecognizer:
    name = "whisper"
    streaming = False  # no partials to the listener (see the module docstring)

    def __init__(
        self,
        model_dir: str | Path,
        executor: Executor | None = None,
        *,
        language: str = "fr",
        device: str = "cpu",
        compute_type: str = "int8",
        beam_size: int = 1,
        cpu_threads: int = 1,
        workers: int = 2,
        max_new_tokens: int = 96,
        vocabulary: Vocabulary | None = None,
        stream_while_speaking: bool = False,
        stride: float = 0.6,
        guess_after_ms: int = 200,
        prompt_vocabulary: bool = False,
    ) -> None:
        model_dir = Path(model_dir)
        if not (model_dir / "model.bin").exists():
            raise AsrUnavailable(_("pas de modèle Whisper dans {path} (model.bin absent)").format(path=model_dir))
        from faster_whisper import WhisperModel

        # One model shared by all calls; ``workers`` lets that many utterances decode at once.
        # CTranslate2 creates its decode threads here, so they keep normal priority (only the
        # executor threads that call it are niced).
        try:
            self._model = WhisperModel(str(model_dir), device=device, compute_type=compute_type,
                                       cpu_threads=cpu_threads, num_workers=workers)
        except (ValueError, RuntimeError) as exc:  # no CUDA, or a compute type the device lacks
            raise AsrUnavailable(_("Whisper sur {device} ({compute}) ne peut pas charger {path} : {error}").format(
                device=device, compute=compute_type, path=model_dir, error=exc)) from None
        self.model_dir = model_dir
        self.executor = executor
        self.language = language
        self.beam_size = beam_size
        self.max_new_tokens = max_new_tokens
        self.vocabulary = vocabulary
        # A call's scenario vocabulary (open(..., vocabulary)) reaches the prompt only with this.
        self.prompt_vocabulary = prompt_vocabulary
        self.stream_while_speaking = stream_while_speaking
        self.stride = stride
        self.workers = workers
        # The listener asks for a guess after this much of the caller's silence (0: never).
        self.pause_guess_ms = guess_after_ms
        # Decodes submitted and not finished (counted on the event loop). A re-decode while the
        # caller speaks only starts when a worker is free: a final never queues behind guesses,
        # so under load streaming costs nothing and falls back to one decode at the end.
        self.busy = 0
        self.guessing = 0  # of which guesses in a caller's pause (WhisperStream.guess)
        self.recitations = 0  # decodes that read the prompt back, done again without it

    def guess_released(self, _done: object = None) -> None:
        self.busy -= 1
        self.guessing -= 1

    def open(self, sample_rate: int, vocabulary: Vocabulary | None = None) -> WhisperStream:
        return WhisperStream(self, sample_rate, (vocabulary if self.prompt_vocabulary else None) or self.vocabulary)

    def transcribe(self, samples: np.ndarray, vocabulary: Vocabulary | None = None, *, prefix: str = "",
                   words: bool = False):
        """Blocking (run in an executor): the text, or with ``words`` the list of (word, end s).
        ``prefix``: words known to open the utterance, forced on the decoder. With a
        ``vocabulary``, a decode that reads the prompt back is done again without it."""
        heard = self._decode(samples, vocabulary, prefix=prefix, words=words)
        if vocabulary is not None and vocabulary.recited(heard if not words else _text(heard)):
            self.recitations += 1
            log.info("Whisper read its prompt back (%d words): decoded again without it",
                     len(heard if words else heard.split()))
            heard = self._decode(samples, None, prefix=prefix, words=words)
        return heard

    def _decode(self, samples: np.ndarray, vocabulary: Vocabulary | None, *, prefix: str, words: bool):
        initial = (vocabulary.prompt() if vocabulary else "") or None
        segments, _info = self._model.transcribe(
            samples,
            language=self.language,
            beam_size=self.beam_size,
            best_of=1,
            temperature=0.0,
            without_timestamps=not words,
            word_timestamps=words,
            condition_on_previous_text=False,
            initial_prompt=initial,
            prefix=prefix or None,
            hotwords=(vocabulary.hotwords() or None) if vocabulary and not initial else None,
            max_new_tokens=self.max_new_tokens,
            vad_filter=False,
        )
        if words:
            # Words as Whisper spells them, leading space included ("Est", "-ce"): joined back
            # with "".join they give the text, where " ".join would give "Est -ce".
            return [(w.word, w.end) for s in segments for w in (s.words or []) if w.word.strip()]
        return " ".join(s.text.strip() for s in segments).strip()


def _text(words: list[tuple[str, float]]) -> str:
    return "".join(w for w, _ in words).strip()


def _retrieved(task: asyncio.Future) -> None:
    """A re-decode's failure costs only its guess: the final decodes the utterance itself."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("a re-decode while speaking failed: %r", task.exception())


def _agree(a: list[str], b: list[str]) -> int:
    """How many leading words two hypotheses share (case, spaces and punctuation aside)."""
    norm = lambda w: "".join(c for c in w.lower() if c.isalnum())  # noqa: E731
    n = 0
    for x, y in zip(a, b, strict=False):
        if norm(x) != norm(y):
            break
        n += 1
    return n


class WhisperStream:
    def __init__(self, engine: WhisperRecognizer, sample_rate: int, vocabulary: Vocabulary | None = None) -> None:
        self._engine = engine
        self._rate = sample_rate
        self._vocabulary = vocabulary
        self._chunks: list[bytes] = []
        self._samples = 0
        self._decoded_at = 0  # samples when the last background decode started
        self._previous: list[tuple[str, float]] = []
        self._latest: tuple[int, list[tuple[str, float]]] | None = None  # (samples read, words)
        self._committed: list[tuple[str, float]] = []  # (word, end s) two decodes agreed on
        self._task: asyncio.Task | None = None
        self._guess: asyncio.Future | None = None  # a decode begun in the caller's pause
        self._lock = threading.Lock()
        self._done = False
        self.cost = StreamCost()

    @property
    def committed(self) -> str:
        """The words two decodes have agreed on so far."""
        return _text(self._committed)

    async def settled(self) -> None:
        """Wait for the decodes under way, if any (tests and benchmarks: a decoder that keeps up)."""
        for pending in (self._task, self._guess):
            if pending is not None:
                await asyncio.shield(pending)

    async def feed(self, pcm: bytes) -> Transcript | None:
        self._chunks.append(pcm)
        self._samples += len(pcm) // 2
        eng = self._engine
        if (eng.stream_while_speaking and (self._task is None or self._task.done()) and eng.busy < eng.workers
                and (self._samples - self._decoded_at) / self._rate >= eng.stride
                and self._samples / self._rate <= MAX_WINDOW):
            self._decoded_at = self._samples
            pcm_now = b"".join(self._chunks)
            self._task = asyncio.get_running_loop().create_task(self._background(pcm_now))
            self._task.add_done_callback(_retrieved)
        return None

    def guess(self) -> bool:
        """The caller paused: decode what they said so far, in case the turn ends in this pause.
        Then the final is ready when the turn ends (the pause's decode overlaps the end-of-speech
        wait) instead of a decode after it. The listener calls ``drop_guess`` when they spoke again.
        Only on a free decoder, and guesses never hold every decoder (with two, one guess at a
        time): a final never queues behind guesses, and under load they give way. Not while this
        stream's last guess runs. Returns whether one began."""
        eng = self._engine
        if (self._done or (self._guess is not None and not self._guess.done())
                or eng.busy >= eng.workers or eng.guessing >= max(1, eng.workers - 1)
                or not self._samples or self._samples / self._rate > MAX_WINDOW):
            return False
        samples = self._samples16k(b"".join(self._chunks))
        loop = asyncio.get_running_loop()
        # Counted now, not when the task first runs: the next stream's guess must see it.
        eng.busy += 1
        eng.guessing += 1
        self._guess = loop.run_in_executor(eng.executor, lambda: self._timed(
            eng.transcribe, samples, self._vocabulary, after_end=False))
        self._guess.add_done_callback(_retrieved)
        self._guess.add_done_callback(eng.guess_released)
        return True

    @property
    def guessed(self) -> asyncio.Future | None:
        """The guess under way or done (its text), for the listener to judge the pause on its words."""
        return self._guess

    def drop_guess(self) -> None:
        """The caller spoke after the guess began: it misses their last words (it runs on, unread)."""
        self._guess = None

    def _samples16k(self, pcm: bytes) -> np.ndarray:
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        if self._rate != WHISPER_RATE:
            x = soxr.resample(x, self._rate, WHISPER_RATE)
        return x.astype(np.float32)

    def _timed(self, fn, samples: np.ndarray, *args, after_end: bool, **kw):
        with self._lock:
            self.cost.decodes += 1
            if after_end:
                self.cost.audio_after_end += len(samples) / WHISPER_RATE
            else:
                self.cost.audio_while_speaking += len(samples) / WHISPER_RATE
        return fn(samples, *args, **kw)

    async def _run(self, fn):
        self._engine.busy += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._engine.executor, fn)
        finally:
            self._engine.busy -= 1

    async def _background(self, pcm: bytes) -> list[tuple[str, float]]:
        words = await self._run(lambda: self._timed(
            self._engine.transcribe, self._samples16k(pcm), self._vocabulary, words=True, after_end=False))
        self._latest = (len(pcm) // 2, words)
        if self._done:
            return words
        # The last word may still be growing: only words before it can be agreed on.
        n = _agree([w for w, _ in self._previous[:-1]], [w for w, _ in words[:-1]])
        if n > len(self._committed):
            self._committed = words[:n]
        self._previous = words
        return words

    async def finish(self) -> Transcript:
        pcm = b"".join(self._chunks)
        self._chunks.clear()
        seconds = len(pcm) / 2 / self._rate
        total = len(pcm) // 2
        covered = total - int(COVERED * self._rate)
        task, self._task, self._done = self._task, None, True
        guess, self._guess = self._guess, None
        if not pcm:
            return Transcript("", final=True, audio_seconds=0.0)
        if guess is not None:  # begun in the pause that ended the turn: every word, mostly decoded
            try:
                return Transcript(await asyncio.shield(guess), final=True, audio_seconds=seconds)
            except Exception:  # noqa: BLE001 - the decodes below still give the final
                pass
        # The utterance ends with the silence that ended it (the VAD's end-of-speech wait): a
        # re-decode that started after the words did already has them all. Its text is the final
        # with no decode after the end of speech, done or under way (then it is nearly done).
        if self._latest is not None and self._latest[0] >= covered:
            return Transcript(_text(self._latest[1]), final=True, audio_seconds=seconds)
        if task is not None and not task.done() and self._decoded_at >= covered:
            try:
                return Transcript(_text(await asyncio.shield(task)), final=True, audio_seconds=seconds)
            except Exception:  # noqa: BLE001 - the decode below still gives the final
                pass
        # Otherwise a re-decode still under way is not waited for: on a loaded machine it may
        # have seconds to go, and the final's own decode reads the whole utterance anyway. It
        # finishes on its own (an executor job cannot be stopped) and its result is dropped.
        samples = self._samples16k(pcm)
        committed = self._committed if seconds <= MAX_WINDOW else []
        if not committed:
            text = await self._run(lambda: self._timed(
                self._engine.transcribe, samples, self._vocabulary, after_end=True))
            return Transcript(text, final=True, audio_seconds=seconds)
        head = _text(committed)
        # The whole utterance again (a cut tail loses its context), with the committed words
        # forced as the decoder's prefix: it reads them in one pass and generates only the rest.
        text = await self._run(lambda: self._timed(
            self._engine.transcribe, samples, self._vocabulary, prefix=head, after_end=True))
        if not text.startswith(head):  # faster-whisper returns the prefix with the text
            text = f"{head} {text}"
        return Transcript(text.strip(), final=True, audio_seconds=seconds)
