"""The listen path of one call: AudioSocket frames -> VAD (+ echo-aware barge-in) -> ASR.

Two tasks under one TaskGroup: the frame loop (cheap, on the event loop, never waits on the
recogniser) and the ASR loop (feeds the engine, whose CPU work runs in an executor). They
talk through an unbounded command queue: while an utterance lasts its audio must reach the
recogniser whole, and the VAD gate bounds it to speech.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field

from audiosocket import AudioFrame, Closed, DtmfDigit, Subscription

from ..ops import metrics
from . import events as ev
from .asr.base import Recognizer, RecognizerStream, release
from .bargein import BargeInConfig, EchoAwareBargeIn, words_audio
from .beep import BeepDetector
from .pcm import FRAME_MS, StreamResampler, resample
from .turn import MODEL_SECONDS, SmartTurn, SmartTurnUnavailable, TurnConfig, TurnJudgement, judge, shared_model
from .vad import WEBRTC_RATES, SpeechDetector, SpeechEnded, SpeechStarted, VadConfig

log = logging.getLogger(__name__)
ECHO_ONLY_AFTER = 0.2  # s without the caller's voice over a lowered prompt: what follows is its echo


@dataclass
class ListenerStats:
    frames: int = 0
    frame_lag_ms: list[float] = field(default_factory=list)  # arrival -> VAD decision, per frame
    asr_final_ms: list[float] = field(default_factory=list)  # end-of-speech decision -> final text
    eos_to_final_ms: list[float] = field(default_factory=list)  # last voiced audio -> final text
    barge_ins: int = 0
    early_ends: int = 0  # utterances ended once the recogniser had caught up (its words decided the silence)
    turn_verdicts: list[TurnJudgement] = field(default_factory=list)  # semantic end of turn, per pause
    _cap: int = 200_000

    def lag(self, ms: float) -> None:
        if len(self.frame_lag_ms) < self._cap:
            self.frame_lag_ms.append(ms)


@dataclass(frozen=True, slots=True)
class _Open:
    rate: int


@dataclass(frozen=True, slots=True)
class _Audio:
    pcm: bytes
    until: float  # arrival (monotonic) of the last frame in pcm: where the recogniser will be


@dataclass(frozen=True, slots=True)
class _End:
    ended: ev.SpeechEnded


@dataclass(frozen=True, slots=True)
class _Pause:
    voiced_end: float  # the caller's last voiced frame before the pause (the VAD's clock)


class CallListener:
    def __init__(
        self,
        subscription: Subscription,
        recognizer: Recognizer,
        *,
        vad: VadConfig | None = None,
        barge_in: BargeInConfig | None = None,
        turn: TurnConfig | None = None,
        turn_model: SmartTurn | None = None,
    ) -> None:
        self._sub = subscription
        self._recognizer = recognizer
        self._vad_config = vad or VadConfig()
        # The end-of-turn rules (bot.speech.turn): the words always, Smart Turn when enabled.
        self._turn = turn if turn is not None else TurnConfig()
        self._turn_model = turn_model
        if self._turn.enabled and turn_model is None:
            try:
                self._turn_model = shared_model()
            except SmartTurnUnavailable as exc:
                log.warning("Smart Turn off, the words and the silence only: %s", exc)
        if self._turn_model is not None and not self._turn.words:
            # The model's verdict replaces the recogniser-driven early end (which would fire at
            # 400 ms, before a verdict that holds an unfinished sentence could arrive).
            self._vad_config = self._vad_config.model_copy(update={"early_end_ms": 0})
        self.dictation: str | None = None  # what the step asks to dictate (phone, ...): pauses between groups held
        self._utt = bytearray()  # the utterance's audio at the line's rate (its last 8 s), for the model
        self._words = ""  # the streaming recogniser's words in the utterance so far
        self._judged_for: float | None = None  # the pause (its last voiced end) judged or being judged
        self._judging: asyncio.Task | None = None
        self._probability: tuple[float, float | None] | None = None  # (pause, the model's P(complete))
        self._verdict: tuple[float, TurnJudgement | None] | None = None  # (pause, what ends it)
        self._pause_words: tuple[float, str] | None = None  # (pause, a batch recogniser's guess of the words)
        self._barge_config = barge_in or BargeInConfig()
        self.events: asyncio.Queue[ev.ListenEvent] = asyncio.Queue()
        self.stats = ListenerStats()
        self._asr_cmds: asyncio.Queue[_Open | _Audio | _End | None] = asyncio.Queue()
        self._rate: int | None = None
        self._vad: SpeechDetector | None = None
        self._barge: EchoAwareBargeIn | None = None
        self._to_vad: StreamResampler | None = None
        # frames under a prompt, (arrival, pcm): 300 ms, the most a barge-in's words may need
        self._held: collections.deque[tuple[float, bytes]] = collections.deque(maxlen=15)
        self._barged = False
        self._lowered = False  # the prompt plays on, lowered, after a barge-in
        self._near_end_at = 0.0  # the caller's voice was last heard over it
        self._pending_prompt: tuple[bytes, int, float] | None = None
        self._vad_buf = bytearray()
        self._beep_wanted = False  # beep detection costs an FFT per frame: only on request
        self._beep: BeepDetector | None = None
        self._wake: asyncio.TimerHandle | None = None  # an end of speech brought forward
        # A batch recogniser decodes in the caller's pauses (see _maybe_guess): after how long.
        self._guess_ms: int = getattr(recognizer, "pause_guess_ms", 0)
        self._guessed_for: float | None = None  # the pause (its last voiced end) a guess was asked for

    @property
    def subscription(self) -> Subscription:
        return self._sub

    def silent_for(self, now: float) -> float | None:
        """Seconds the caller has been quiet inside the utterance in progress (None outside)."""
        return self._vad.silent_for(now) if self._vad is not None else None

    @property
    def last_voice_at(self) -> float | None:
        """The last frame the VAD found voiced (monotonic), even one not (yet) part of confirmed
        speech: an onset takes 80 ms to confirm, and the bot must not start inside it."""
        return self._vad.last_voiced_at if self._vad is not None else None

    def watch_for_beep(self, on: bool = True) -> None:
        """Report a voicemail's beep (BeepDetected) while on."""
        self._beep_wanted = on
        if not on:
            self._beep = None

    # -- prompt timeline, from the call controller ------------------------------------

    def prompt_started(self, pcm: bytes, sample_rate: int, started_at: float) -> None:
        """A prompt began playing to the caller at ``started_at`` (monotonic)."""
        self._barged = self._lowered = False
        if self._barge is None:
            self._pending_prompt = (pcm, sample_rate, started_at)
            return
        self._barge.start_prompt(resample(pcm, sample_rate, self._barge.rate), started_at)

    def prompt_lowered(self, at: float, gain_db: float) -> None:
        """After a barge-in the prompt plays on, ``gain_db`` quieter from ``at``: the caller's
        frames are still told from its echo (only their speech reaches the VAD and recogniser)."""
        if self._barge is not None:
            self._barge.lower(at, gain_db)
            self._lowered = True
            self._near_end_at = at

    def prompt_restored(self, at: float) -> None:
        """The prompt is back at full voice (the caller only acknowledged): a new barge-in may come."""
        if self._barge is not None:
            self._barge.lower(at, 0.0)
        self._barged = self._lowered = False

    def prompt_stopped(self, at: float) -> None:
        self._lowered = False
        if self._barge is not None:
            self._barge.stop_prompt(at)
        self._pending_prompt = None

    # -- running ------------------------------------------------------------------------

    async def run(self) -> None:
        """Until the media closes. Events go to ``self.events``; the last is MediaClosed."""
        reason = "listener stopped"
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._asr_loop(), name="listener-asr")
            try:
                reason = await self._frame_loop()
            finally:
                self._asr_cmds.put_nowait(None)  # the recogniser finishes what is queued, then stops
        self.events.put_nowait(ev.MediaClosed(reason))

    def _setup(self, rate: int) -> None:
        self._rate = rate
        vad_rate = rate if rate in WEBRTC_RATES else 16000
        if self._vad_config.engine == "silero":
            vad_rate = 16000  # at 8 kHz Silero took -45 dBFS line noise after speech for speech (tests)
        self._to_vad = None if vad_rate == rate else StreamResampler(rate, vad_rate)
        self._vad = SpeechDetector(vad_rate, self._vad_config)
        self._barge = EchoAwareBargeIn(rate, self._barge_config)
        if self._pending_prompt is not None:
            pcm, prate, at = self._pending_prompt
            self._pending_prompt = None
            self._barge.start_prompt(resample(pcm, prate, rate), at)

    async def _frame_loop(self) -> str:
        while True:
            deadlines = [d for d in (self._vad.next_deadline() if self._vad else None, self._check_deadline(),
                                     self._guess_deadline()) if d is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            try:
                async with asyncio.timeout(timeout):
                    item = await self._sub.get()
            except TimeoutError:
                self._vad_events(self._vad.tick(time.monotonic()))
                self._maybe_judge(time.monotonic())
                self._maybe_guess(time.monotonic())
                continue
            if isinstance(item, AudioFrame):
                self._on_frame(item)
            elif isinstance(item, DtmfDigit):
                self.events.put_nowait(ev.DtmfReceived(item.digit, item.arrived))
            elif isinstance(item, Closed):
                if self._vad is not None:
                    self._vad_events(self._vad.finish(time.monotonic()))
                return item.reason

    def _on_frame(self, frame: AudioFrame) -> None:
        if self._rate != frame.sample_rate:
            self._setup(frame.sample_rate)
        now = frame.arrived
        self.stats.frames += 1
        if self._beep_wanted:
            if self._beep is None or self._beep.rate != frame.sample_rate:
                self._beep = BeepDetector(frame.sample_rate)
            if (beep := self._beep.process(frame.pcm, now)) is not None:
                self.events.put_nowait(ev.BeepDetected(beep.ended_at, beep.frequency))
        barge = self._barge
        if barge.echo_possible(now) and not self._barged:
            # Under a prompt: only the echo-aware detector may open the turn.
            self._held.append((now, frame.pcm))
            hit = barge.process(frame.pcm, now)
            if hit is not None:
                self._barged = True
                self.stats.barge_ins += 1
                self.events.put_nowait(ev.BargeInDetected(hit.at, hit.confirmed_at, hit.echo_delay_ms))
                self._vad.force_start(hit.at, now)
                self.events.put_nowait(ev.SpeechStarted(hit.at, now))
                self._asr_cmds.put_nowait(_Open(self._rate))
                words = words_audio(self._held, hit, self._barge_config.lookback_ms)
                self._asr_cmds.put_nowait(_Audio(words, now))
                self._utt = bytearray()
                self._keep(words)
                self._held.clear()
            self.stats.lag((time.monotonic() - frame.arrived) * 1000)
            return
        if barge.prompt_active and not barge.echo_possible(now):
            barge.end_prompt()
        pcm = for_vad = frame.pcm
        if self._lowered and barge.echo_possible(now):
            # The prompt plays on, lowered, after a barge-in: a frame of its echo alone is
            # silence for the caller's utterance (else it would not end when they stop), and,
            # once their voice has been gone a moment, for the recogniser too (else it would
            # write the bot's words into theirs). The moment keeps the quiet parts of their
            # words, which the detector may take for echo; the VAD bridges such gaps itself.
            if barge.near_end(pcm, now):
                self._near_end_at = now
            else:
                for_vad = bytes(len(pcm))
                if now - self._near_end_at > ECHO_ONLY_AFTER:
                    pcm = for_vad
        was_speaking = self._vad.speaking
        for vad_frame in self._vad_frames(for_vad):
            self._vad_events(self._vad.process(vad_frame, now))
        if was_speaking and self._vad.speaking:
            self._asr_cmds.put_nowait(_Audio(pcm, now))
            self._keep(pcm)
        self._maybe_judge(now)
        self._maybe_guess(now)
        self.stats.lag((time.monotonic() - frame.arrived) * 1000)

    def _vad_frames(self, pcm: bytes) -> list[bytes]:
        """20 ms frames at the VAD's rate (webrtcvad knows 8/16/32/48 kHz only)."""
        if self._to_vad is None:
            return [pcm]
        self._vad_buf += self._to_vad.process(pcm)
        n = self._vad.sample_rate * FRAME_MS // 1000 * 2
        out = []
        while len(self._vad_buf) >= n:
            out.append(bytes(self._vad_buf[:n]))
            del self._vad_buf[:n]
        return out

    def _vad_events(self, vad_events: list) -> None:
        for e in vad_events:
            if isinstance(e, SpeechStarted):
                self.events.put_nowait(ev.SpeechStarted(e.at, e.confirmed_at))
                self._asr_cmds.put_nowait(_Open(self._rate))
                lookback = e.lookback
                if self._to_vad is not None:
                    lookback = resample(lookback, self._vad.sample_rate, self._rate)
                self._asr_cmds.put_nowait(_Audio(lookback, e.confirmed_at))
                self._utt = bytearray()
                self._keep(lookback)
            elif isinstance(e, SpeechEnded):
                self.stats.early_ends += e.early
                ended = ev.SpeechEnded(e.at, time.monotonic(), e.duration)
                self.events.put_nowait(ended)
                self._asr_cmds.put_nowait(_End(ended))

    async def _asr_loop(self) -> None:
        stream: RecognizerStream | None = None
        heard = ""  # the streaming recogniser's words so far in this utterance
        decoded_until = 0.0  # arrival time of the last frame the recogniser has decoded
        guessed_for: float | None = None  # the pause the stream's guess began in
        try:
            while True:
                batch = [await self._asr_cmds.get()]
                while not self._asr_cmds.empty():
                    batch.append(self._asr_cmds.get_nowait())
                cmds = _merge_audio(batch)
                for i, cmd in enumerate(cmds):
                    if cmd is None:
                        if stream is not None:
                            await self._finish(stream, None)
                        return
                    try:
                        if isinstance(cmd, _Open):
                            if stream is not None:  # an utterance never ended: let its resources go
                                await release(stream)
                            stream, heard, decoded_until = self._recognizer.open(cmd.rate), "", 0.0
                            self._words, guessed_for = "", None
                        elif isinstance(cmd, _Audio) and stream is not None:
                            if _known_before_end(cmds, i, heard, decoded_until):
                                continue  # only the silence after words already known: not worth the wait
                            partial = await stream.feed(cmd.pcm)
                            decoded_until = cmd.until
                            if partial is not None:
                                heard = self._words = partial.text
                                self.events.put_nowait(ev.PartialTranscript(partial.text, time.monotonic()))
                            if heard.strip():
                                self._caught_up(decoded_until)
                        elif isinstance(cmd, _Pause) and stream is not None:
                            guess = getattr(stream, "guess", None)
                            guessed_for = cmd.voiced_end if guess is not None and guess() else None
                            if guessed_for is not None:
                                self._judge_on_guess(guessed_for, getattr(stream, "guessed", None))
                        elif isinstance(cmd, _End) and stream is not None:
                            s, stream = stream, None
                            if guessed_for != cmd.ended.at and hasattr(s, "drop_guess"):
                                s.drop_guess()  # they spoke after it began (or none began)
                            await self._finish(s, cmd.ended, heard)
                    except Exception:
                        # A recogniser failure costs this utterance, never the call.
                        log.exception("recogniser failed on an utterance")
                        if stream is not None:
                            await release(stream)
                        stream = None
        finally:
            if stream is not None:  # the call ended mid-utterance: no final, but a socket or decoder to free
                await release(stream)
            if self._wake is not None:
                self._wake.cancel()
            if self._judging is not None:
                self._judging.cancel()

    # -- decoding in the caller's pauses ----------------------------------------------------

    def _guess_deadline(self) -> float | None:
        """When the pause in progress is long enough for a batch recogniser to decode it."""
        vad = self._vad
        if not self._guess_ms or vad is None or not vad.speaking or self._guessed_for == vad.last_voiced_end:
            return None
        return vad.last_voiced_end + self._guess_ms / 1000

    def _maybe_guess(self, now: float) -> None:
        """A batch recogniser (Whisper) has no words until it decodes: decoding only once the
        turn has ended puts the whole decode after the end-of-speech wait. Decoding at the
        caller's pause overlaps the two; a pause that turns out to be mid-sentence costs one
        wasted decode (the turn's final reads the whole utterance again)."""
        deadline = self._guess_deadline()
        if deadline is None or now < deadline:
            return
        self._guessed_for = self._vad.last_voiced_end
        self._asr_cmds.put_nowait(_Pause(self._guessed_for))

    # -- semantic end of turn ---------------------------------------------------------------

    def _keep(self, pcm: bytes) -> None:
        self._utt += pcm
        limit = self._rate * 2 * MODEL_SECONDS  # the model reads the last 8 s
        if len(self._utt) > limit:
            del self._utt[: len(self._utt) - limit]

    def _check_deadline(self) -> float | None:
        """When the pause in progress is long enough to judge it without words: by the model,
        or, on a dictation step, by the step alone (a batch recogniser has no words yet)."""
        vad = self._vad
        if vad is None or not vad.speaking or self._judged_for == vad.last_voiced_end:
            return None
        if self._turn_model is None and not self.dictation:
            return None  # the words judge the pause when the recogniser catches up (_caught_up)
        return vad.last_voiced_end + self._turn.check_after_ms / 1000

    def _maybe_judge(self, now: float) -> None:
        deadline = self._check_deadline()
        if deadline is None or now < deadline or (self._judging is not None and not self._judging.done()):
            return
        pause = self._vad.last_voiced_end
        self._judged_for = pause
        if self._turn_model is None or (self._turn.words and self._words.strip()):
            self._settle(pause)  # the words (or the dictation step) decide; the model would not be heard
            return
        # Until the verdict comes the pause may be inside a sentence: the default end of speech
        # (600 ms) must not fire before a slow model (hundreds of ms on a loaded machine) answers.
        self._vad.end_turn_after(self._turn.incomplete_end_ms)
        self._judging = asyncio.get_running_loop().create_task(
            self._judge(pause, bytes(self._utt), self._rate), name="listener-turn")

    async def _judge(self, pause: float, pcm: bytes, rate: int) -> None:
        """Ask Smart Turn (in an executor: tens of ms of CPU) whether the caller is done, and
        set how long this pause must last to end the turn. A verdict that comes after the caller
        spoke again is dropped (the VAD voids it)."""
        assert self._turn_model is not None
        try:
            probability = await asyncio.get_running_loop().run_in_executor(
                None, self._turn_model.probability, pcm, rate)
        except Exception:
            log.exception("end-of-turn model failed; this pause ends on the words or the silence")
            probability = None
        self._probability = (pause, probability)
        self._settle(pause)

    def _judge_on_guess(self, pause: float, guessed: asyncio.Future | None) -> None:
        """A batch recogniser (Whisper) began decoding the caller's words in this pause: hold the
        turn until they come (bounded by ``incomplete_end_ms``), then let them judge it as a
        streaming recogniser's would. It costs the reply nothing: that decode is the turn's
        final, and the reply waited for it anyway."""
        vad = self._vad
        if guessed is None or not self._turn.words or vad is None or not vad.speaking \
                or vad.last_voiced_end != pause:
            return
        if self._verdict is None or self._verdict[0] != pause:
            vad.end_turn_after(self._turn.incomplete_end_ms)
            self._schedule_tick()

        def heard(done: asyncio.Future) -> None:
            text = "" if done.cancelled() or done.exception() is not None else str(done.result() or "")
            self._pause_words = (pause, text)
            if text.strip() and self._vad is not None and self._vad.speaking:
                # The words so far, as a streaming recogniser's partial: the answer is classified,
                # an interruption judged and a voicemail's greeting recognised without waiting for
                # the end of the turn (which the words may now hold).
                self.events.put_nowait(ev.PartialTranscript(text, time.monotonic()))
            self._settle(pause, waited=True)

        guessed.add_done_callback(heard)

    def _settle(self, pause: float, *, waited: bool = False) -> None:
        """Set what silence ends the pause after ``pause`` from everything known about it now: the
        words so far, the model's verdict, the step's dictation. Called again as each arrives."""
        vad = self._vad
        if vad is None or not vad.speaking or vad.last_voiced_end != pause:
            return  # they spoke again: the pause is over
        probability = self._probability[1] if self._probability and self._probability[0] == pause else None
        words = self._words
        if not words and self._pause_words is not None and self._pause_words[0] == pause:
            words = self._pause_words[1]
        verdict = judge(self._turn, probability, words if self._turn.words or self._turn_model else "",
                        dictation=self.dictation)
        if self._verdict == (pause, verdict) and not waited:
            return
        self._verdict = (pause, verdict)
        if verdict is not None:
            self.stats.turn_verdicts.append(verdict)
        vad.end_turn_after(verdict.end_after_ms if verdict is not None else None)
        self._schedule_tick()

    def _schedule_tick(self) -> None:
        """The end of speech moved: the frame loop may be waiting on the old deadline (no frames
        come in silence on some paths), so a timer ticks the VAD at the new one."""
        deadline = self._vad.next_deadline() if self._vad is not None else None
        if deadline is None:
            return
        if self._wake is not None:
            self._wake.cancel()
        self._wake = asyncio.get_running_loop().call_later(max(0.0, deadline - time.monotonic()), self._tick)

    def _caught_up(self, decoded_until: float) -> None:
        """The recogniser has words for audio up to ``decoded_until``: if that reaches into the
        caller's silence, every word of the utterance is known and they decide how long the
        pause must last (an open ending holds it, a closed sentence ends it sooner), and the
        frame loop may be waiting on the old deadline (no frames come in silence on some
        paths), so a timer ticks the VAD."""
        vad = self._vad
        if vad is None or not vad.recognizer_caught_up(decoded_until):
            return
        if self._turn.words:
            self._settle(vad.last_voiced_end)
        else:
            self._schedule_tick()

    def _tick(self) -> None:
        self._wake = None
        if self._vad is not None:
            self._vad_events(self._vad.tick(time.monotonic()))

    async def _finish(self, stream: RecognizerStream, ended: ev.SpeechEnded | None, heard: str = "") -> None:
        """The utterance's final transcript. A streaming recogniser's words, already decoded up to
        the end of speech, are the turn's text at once: its own final pass (lattice rescoring,
        hundreds of ms on a large model) would only delay the reply, so it runs after, unheard."""
        now = time.monotonic()
        if ended is None:
            ended = ev.SpeechEnded(now, now, 0.0)
        if heard.strip() and ended.duration > 0:
            self._final(heard, ended, now)
            await stream.finish()  # releases the decoder
            return
        final = await stream.finish()
        self._final(final.text, ended, time.monotonic())

    def _final(self, text: str, ended: ev.SpeechEnded, now: float) -> None:
        latency = now - ended.detected_at
        self.stats.asr_final_ms.append(latency * 1000)
        self.stats.eos_to_final_ms.append((now - ended.at) * 1000)
        if ended.duration > 0:  # not the flush of an utterance cut off by the media closing
            metrics.ASR_LATENCY.observe(now - ended.at)
        self.events.put_nowait(ev.FinalTranscript(text, now, ended.duration, latency, ended.at))


def _known_before_end(cmds: list, i: int, heard: str, decoded_until: float) -> bool:
    """Audio ``cmds[i]`` is followed by its utterance's end, and the recogniser has already
    decoded past the last voiced frame with words: the turn's text is known without it."""
    nxt = cmds[i + 1] if i + 1 < len(cmds) else None
    return isinstance(nxt, _End) and bool(heard.strip()) and decoded_until > nxt.ended.at


def _merge_audio(batch: list) -> list:
    """Join consecutive audio commands: one executor hop per batch, not per 20 ms frame."""
    out: list = []
    for cmd in batch:
        if isinstance(cmd, _Audio) and out and isinstance(out[-1], _Audio):
            out[-1] = _Audio(out[-1].pcm + cmd.pcm, cmd.until)
        else:
            out.append(cmd)
    return out

