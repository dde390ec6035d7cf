"""One call, from originate (or an inbound StasisStart) to the last channel it created.

The topology is DESIGN.md §3 with AMD in parallel (facts §4.3 pattern C): the caller
channel stays in Stasis; a ``spy=in`` snoop and an externalMedia
AudioSocket channel share a mixing bridge (the listen path); a second ``spy=in`` snoop runs
AMD in the dialplan; a ``spy=both`` snoop is recorded (both sides). Prompts play on a bridge
that holds the caller channel alone (``-talk``): unlike a channel playback, which holds the
channel's command queue until it ends (facts §5.3), a bridge playback leaves it free, so a
barge-in can lower the line at once (VOLUME(TX)) while the caller's words decide
(bot.call.interruption). Every channel and bridge created here is removed on every exit path.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from ari import events as ev
from ari.client import AriClient
from ari.errors import AriError, AriHttpError, AriNotFound
from ari.stream import AriGone, ConnectionLost, EventStream, Reconnected, Subscription
from audiosocket import AudioSocketServer

from ..ops import metrics
from ..ops.logs import call_id_var
from ..speech import events as sev
from ..speech.asr.base import Recognizer
from ..speech.asr.vocabulary import Biased
from ..speech.listener import CallListener
from .config import CallConfig
from .interruption import Interruptions, remaining, resume_point
from .outcome import Outcome, outcome_for_cause
from .prompt import Prompt
from .readiness import SOFTHANGUP_SHUTDOWN, NotDialled, asterisk_down, note_for, refused

log = logging.getLogger(__name__)


def mask(number: str) -> str:
    """Phone numbers in logs keep their last two digits only."""
    digits = number.strip()
    return digits[:3] + "*" * max(0, len(digits) - 5) + digits[-2:] if len(digits) > 5 else "***"


class CallEnded(Exception):
    """The caller channel is gone (hung up, or Asterisk lost): stop the conversation."""


@dataclass
class Timeline:
    started: float = field(default_factory=time.monotonic)
    entries: list[tuple[float, str]] = field(default_factory=list)

    def add(self, what: str) -> None:
        self.entries.append((time.monotonic() - self.started, what))

    def __str__(self) -> str:
        return "\n".join(f"{t:7.2f}s  {what}" for t, what in self.entries)


@dataclass(frozen=True, slots=True)
class Utterance:
    """One line of the transcript: who spoke, what, and when (monotonic)."""

    speaker: str  # bot | caller
    text: str
    at: float
    sentiment: str | None = None  # a caller turn's: positive | neutral | negative | irritated
    step: str | None = None  # a caller turn's: the scenario step it answered (sentiment per step, bot.campaign.live)


@dataclass(frozen=True, slots=True)
class DtmfPressed:
    """A key the caller pressed (ARI ChannelDtmfReceived), passed to the conversation with the
    listen events."""

    digit: str
    at: float  # monotonic


@dataclass(frozen=True, slots=True)
class ObjectionMatch:
    id: str
    score: float
    at: float  # monotonic


@dataclass
class CallRecord:
    call_id: str
    direction: str  # outbound | inbound
    number: str
    placed_at: datetime = field(default_factory=lambda: datetime.now(UTC))  # wall clock, for storage
    outcome: Outcome | None = None
    cause: int | None = None
    cause_txt: str = ""
    amd_status: str | None = None
    amd_cause: str | None = None
    answered_at: float | None = None  # monotonic
    first_audio_at: float | None = None  # monotonic: the first PlaybackStarted
    ended_at: float | None = None
    recording: str | None = None
    played: list[str] = field(default_factory=list)
    barge_ins: int = 0  # the caller spoke over the bot (less the acknowledgements it played on through)
    backchannels: int = 0  # acknowledgements over the bot's line, which played on
    transcripts: list[str] = field(default_factory=list)
    utterances: list[Utterance] = field(default_factory=list)  # both sides, in time order (add_utterance)
    dtmf: list[tuple[float, str]] = field(default_factory=list)  # (monotonic, digit) the caller pressed
    objections: list[ObjectionMatch] = field(default_factory=list)
    freestyle_turns: int = 0
    amd_verdict: str | None = None  # human | machine: Asterisk's AMD and the transcript layer together
    turn_latencies: list[float] = field(default_factory=list)  # caller end of speech -> next bot audio, s
    barge_in_reactions: list[float] = field(default_factory=list)  # caller onset -> prompt lowered or stopped, s
    qualification: float | None = None
    result: str | None = None  # what the conversation concluded (a scenario's CallResult)
    steps: list[str] = field(default_factory=list)  # the scenario steps reached, in order (the funnel)
    callback_at: datetime | None = None  # the callback time the caller confirmed aloud (CALLBACK_REQUESTED)
    opt_out_evidence: str = ""  # OPTED_OUT: the request's words and their confirmation, dated (bot.compliance)
    note: str = ""
    interrupted: str = ""  # why Asterisk or the media path cut the call: stored INTERRUPTED, retried as such
    timeline: Timeline = field(default_factory=Timeline)
    disclosure_done_at: float | None = None  # monotonic: the AI disclosure played to its end (bot.call.disclosure)

    def wall(self, monotonic: float) -> datetime:
        """A monotonic instant of this call as wall-clock time."""
        return self.placed_at + timedelta(seconds=monotonic - self.timeline.started)

    def said(self, text: str) -> None:
        self.add_utterance(Utterance("bot", text, time.monotonic()))

    def add_utterance(self, utterance: Utterance) -> None:
        """Keep the transcript in time order: a caller's words are known only once recognised,
        after the bot may already have started its next line."""
        bisect.insort(self.utterances, utterance, key=lambda u: u.at)

    def caller_mood(self, text: str, sentiment: str | None, step: str | None = None) -> None:
        """Note how the caller sounded on their latest utterance with these words, and the step it answered."""
        for i in range(len(self.utterances) - 1, -1, -1):
            u = self.utterances[i]
            if u.speaker == "caller" and u.text == text:
                self.utterances[i] = Utterance(u.speaker, u.text, u.at, sentiment or u.sentiment, step or u.step)
                return

    @property
    def answer_to_first_audio(self) -> float | None:
        if self.answered_at is None or self.first_audio_at is None:
            return None
        return self.first_audio_at - self.answered_at


Conversation = Callable[["Call"], Awaitable[None]]


class Call:
    """Drive one call. ``run()`` returns the CallRecord once every resource is cleaned up."""

    def __init__(self, config: CallConfig, client: AriClient, stream: EventStream, server: AudioSocketServer,
                 recognizer: Recognizer, conversation: Conversation, *, number: str, direction: str = "outbound",
                 channel_id: str | None = None, call_id: str | None = None,
                 on_answer: Callable[[], Awaitable[None]] | None = None) -> None:
        self.config, self.client, self.stream, self.server = config, client, stream, server
        self.recognizer = recognizer
        self.conversation = conversation
        self.on_answer = on_answer
        self.call_id = call_id or uuid.uuid4().hex[:12]
        self.record = CallRecord(self.call_id, direction, number)
        self.caller_id = channel_id or f"mb-{self.call_id}"
        self.media_uuid = uuid.uuid4()
        self._ids = {k: f"{self.caller_id}-{k}" for k in ("listen", "amd", "rec", "ext", "bridge", "agent", "xfer",
                                                                 "talk")}
        self._sub: Subscription = stream.subscribe([self.caller_id, self.caller_id + "-2"])
        self._created: list[tuple[str, str]] = []  # (kind, id) to remove at the end, in order
        self._stasis: dict[str, asyncio.Future[ev.StasisStart]] = {}
        self._amd: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()
        self._gone: asyncio.Future[ev.ChannelDestroyed | None] = asyncio.get_running_loop().create_future()
        self._destroyed: asyncio.Future[None] = asyncio.get_running_loop().create_future()  # the caller's
        self._playbacks: dict[str, asyncio.Future[ev.PlaybackFinished]] = {}
        self._stopped: set[str] = set()
        self._talk: str | None = None  # the bridge prompts play on (None: on the caller channel)
        self._stop_until: dict[str, float] = {}  # playback → a barge-in before this stops it at once
        self._lowered_for: str | None = None  # the playback the line was lowered for (VOLUME(TX))
        self._lowering_failed = False
        self._bg: set[asyncio.Task] = set()
        self._heard: asyncio.Queue[sev.ListenEvent] = asyncio.Queue()  # listen events for the conversation
        self._answered = False
        self._ari_gone = False
        self._lost_by_symptom = False  # interrupted on the audio path's closing, its cause not yet known
        self._hangup_request: tuple[int, str] | None = None  # (Q.850 cause, text) of the caller's
        self.listener: CallListener | None = None
        self.hangup_requested = False
        self.answer_keys: frozenset[str] = frozenset()  # keys that answer what the bot is saying (set by it)
        self.last_prompt_at = 0.0  # monotonic: when the bot last started to speak
        self._reply_due_since: float | None = None  # the caller's last end of speech not yet answered
        self.interruptions = Interruptions(config.interruptions)  # a backchannel barge-in resumes the line
        self.gone_at: float | None = None  # monotonic: when the caller channel was found gone
        self._sounded: set[str] = set()  # the playbacks Asterisk started

    # -- public: what a conversation may do ----------------------------------------------

    @property
    def ended(self) -> bool:
        return self._gone.done()

    async def play(self, prompts: list[Prompt], *, wait: bool = True, offset_ms: int = 0, resumes: int = 0,
                   stop_within: float = 0.0) -> bool:
        """Play prompts as one playback (one DELETE stops them all, facts §5.3). Returns True
        if it played to the end, False if stopped (barge-in) or failed. A barge-in that is only
        a backchannel ("oui", "mm") does not stop it: the line plays on, lowered while the words
        decide (bot.call.interruption). One that comes within ``stop_within`` seconds of the
        start stops it at once (the callee's "allô" over the greeting: it is said again whole)."""
        self._check_alive()
        if self._lowered_for is not None:
            await self._lower(None)  # the last line was lowered: this one starts at full voice
        pid = f"{self.caller_id}-p{len(self.record.played)}"
        done = asyncio.get_running_loop().create_future()
        self._playbacks[pid] = done
        self.record.played.extend(p.path.name for p in prompts)
        self.record.timeline.add(f"play {', '.join(p.path.name for p in prompts)}")
        asked = time.monotonic()  # the playback cannot start before it is asked for
        self.last_prompt_at = asked
        self._stop_until[pid] = asked + stop_within
        try:
            await self._start_playback(pid, [p.media_uri for p in prompts], offset_ms)
        except AriNotFound:
            self._set_gone(None)  # the caller channel is gone: nobody to talk to
            raise CallEnded() from None
        except AriError as exc:
            if not asterisk_down(exc):
                raise
            self._lost(note_for(exc))
            raise CallEnded() from None
        pcm = b"".join(p.audio.at_rate(16000).pcm for p in prompts)
        if self.listener is not None:
            # The echo-aware barge-in needs what is played (a list plays back to back), and a
            # start time that is never late: its echo-delay search looks forward only.
            self.listener.prompt_started(pcm[offset_ms * 32:], 16000, asked)
        if not wait:
            return True
        finished = await self._until(done)
        if finished.playback.state == "done" and pid not in self._stopped:
            return True
        cut = self.interruptions.last_cut
        if cut is None or cut.playback_id != pid or cut.ducked or resumes >= self.interruptions.timing.resumes_max:
            return False  # a lowered line stops only for an interruption
        if not await self.interruptions.was_backchannel(pid):
            self.record.timeline.add(f"interruption ({self.interruptions.why}): the caller's turn")
            return False
        at = resume_point(pcm, 16000, offset_ms / 1000 + cut.onset - asked, self.interruptions.timing.rewind_max)
        rest, offset = remaining(prompts, at)
        self.record.timeline.add(f"false interruption ({self.interruptions.why}): the line resumes at {at:.1f} s")
        return not rest or await self.play(rest, offset_ms=offset, resumes=resumes + 1)

    async def _start_playback(self, pid: str, media: list[str], offset_ms: int) -> None:
        if self._talk is not None:
            try:
                await self.client.play_on_bridge(self._talk, media, playback_id=pid, offset_ms=offset_ms)
                return
            except AriHttpError as exc:
                if exc.status != 500 or "playback channel" not in exc.message:
                    raise
                # No chan_bridge_media (facts §5.4): prompts play on the channel, and stop on a barge-in.
                log.warning("call %s: Asterisk cannot play to a bridge (load chan_bridge_media.so): "
                            "prompts play on the channel and stop on every barge-in", self.call_id)
                talk, self._talk = self._talk, None
                await self._quiet(self.client.remove_channels(talk, [self.caller_id]))
        await self.client.play(self.caller_id, media, playback_id=pid, offset_ms=offset_ms)

    async def _lower(self, pid: str | None) -> bool:
        """Lower the line for playback ``pid`` (None: back to full voice). False when Asterisk
        would not (no func_volume, or the prompt holds the channel): the caller then gets a stop."""
        timing = self.interruptions.timing
        value = "0" if pid is None or timing.duck_db is None else timing.duck_volume
        try:
            # a bridged channel's command runs at once; the bound is for an Asterisk in trouble
            await asyncio.wait_for(self.client.set_variable(self.caller_id, "VOLUME(TX)", value), 0.5)
        except (AriError, TimeoutError) as exc:
            if pid is not None and not self._lowering_failed:
                log.warning("call %s: the line could not be lowered (%s): barge-ins stop it "
                            "(load func_volume.so)", self.call_id, str(exc) or "no answer within 0.5 s")
            self._lowering_failed = self._lowering_failed or pid is not None
            return False
        was, self._lowered_for = self._lowered_for, pid
        if self.listener is not None:
            now = time.monotonic()
            if pid is not None:
                self.listener.prompt_lowered(now, timing.duck_db or 0.0)
            elif was is not None and not self._playbacks[was].done():
                self.listener.prompt_restored(now)  # a backchannel: the same line, a new barge-in may come
        return True

    def _lowerable(self, pid: str, event: sev.BargeInDetected) -> bool:
        return (self._talk is not None and self.interruptions.timing.duck_db is not None
                and not self._lowering_failed and event.at >= self._stop_until.get(pid, 0.0))

    async def _judge_lowered(self, pid: str) -> None:
        """The caller spoke over a lowered line: a backchannel brings it back, anything else stops it."""
        listener = self.listener
        backchannel = await self.interruptions.judge_lowered(
            listener.silent_for if listener is not None else lambda now: None)
        why = self.interruptions.why
        if backchannel:
            self.record.timeline.add(f"backchannel ({why}): the line plays on at full voice")
            self.record.backchannels += 1
            self.record.barge_ins -= 1  # it did not cut the bot off (exports count interruptions)
        else:
            self.record.timeline.add(f"interruption ({why}): the line stops, the caller's turn")
            playing = self._playbacks.get(pid)
            if playing is not None and not playing.done():
                await self.stop_playbacks()
        if self._lowered_for == pid and not self.ended:
            await self._lower(None)

    async def stop_playbacks(self) -> None:
        """Barge-in: stop the playing playback and cancel every queued one."""
        pending = [pid for pid, fut in self._playbacks.items() if not fut.done()]
        self._stopped.update(pending)
        await asyncio.gather(*(self._quiet(self.client.stop_playback(pid)) for pid in pending))
        if self.listener is not None:
            self.listener.prompt_stopped(time.monotonic())

    async def next_listen_event(self, timeout: float | None = None) -> sev.ListenEvent | None:
        """The next event of the listen path (None on timeout). Barge-ins have already been
        acted on (the prompt stopped) by the time the conversation sees them."""
        getter = asyncio.ensure_future(self._heard.get())
        try:
            done, _ = await asyncio.wait({getter, self._gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not getter.done():
                getter.cancel()
        if getter in done:
            return getter.result()
        self._check_alive()
        return None

    async def _pump_listen_events(self) -> None:
        """Act on the listen path at once, whatever the conversation is awaiting (a playback
        to finish, typically): a barge-in must stop the prompt within its budget."""
        assert self.listener is not None
        barges = metrics.BargeInWatch()
        while True:
            event = await self.listener.events.get()
            if isinstance(event, sev.BargeInDetected):
                playing = next((pid for pid, fut in self._playbacks.items() if not fut.done()), None)
                lowered = playing is not None and self._lowerable(playing, event) and await self._lower(playing)
                if not lowered:
                    await self.stop_playbacks()
                reacted = time.monotonic()
                self.interruptions.barged(playing, event, reacted, ducked=lowered)
                if lowered:
                    self._background(self._judge_lowered(playing))
                barges.barged(event, reacted)
                self.record.barge_in_reactions.append(reacted - event.at)
                self.record.barge_ins += 1
                delay = "" if event.echo_delay_ms is None else f", echo delay {event.echo_delay_ms:.0f} ms"
                what = "the line is lowered while the words decide" if lowered else "the line stops"
                self.record.timeline.add(f"barge-in ({(reacted - event.at) * 1000:.0f} ms after onset{delay}): {what}")
            elif isinstance(event, sev.FinalTranscript) and event.text:
                self.record.transcripts.append(event.text)
                ended = event.speech_ended_at or event.at
                # timed from when the caller started speaking, so a reply never precedes its question
                self.record.add_utterance(Utterance("caller", event.text, ended - event.speech_duration))
                if not any(not f.done() for f in self._playbacks.values()):
                    # Words that come while the bot speaks (said over its greeting, answered once it
                    # has played) wait for no immediate reply: not a turn to time.
                    self._reply_due_since = ended
                self.record.timeline.add(f"heard: {event.text!r}")
            elif isinstance(event, sev.FinalTranscript):
                self.record.timeline.add(f"heard no words ({event.speech_duration:.1f} s of sound)")
            barges.heard(event)  # judges earlier barge-ins false or real (bot.ops.metrics)
            self.interruptions.heard(event)
            self._heard.put_nowait(event)
            if isinstance(event, sev.MediaClosed):
                if not self.ended and not self.hangup_requested and self.record.outcome is not Outcome.TRANSFERRED:
                    # The AudioSocket closed under us (Asterisk lost, or the channel torn down): the
                    # bot cannot hear, so it must not talk on. Hang up and end the conversation.
                    self._lost("chemin audio perdu (connexion AudioSocket fermée)", symptom=True)
                    await self.hangup("media path lost")
                    self._set_gone(None)
                return

    async def amd_verdict(self, timeout: float) -> tuple[str, str] | None:
        try:
            return await asyncio.wait_for(asyncio.shield(self._amd), timeout)
        except TimeoutError:
            return None

    async def hangup(self, note: str = "") -> None:
        if self.ended or self.hangup_requested:
            return
        self.hangup_requested = True
        self.record.note = self.record.note or note
        self.record.timeline.add(f"bot hangs up{': ' + note if note else ''}")
        await self._quiet(self.client.hangup(self.caller_id))

    async def transfer(self, endpoint: str, *, timeout: int = 20) -> bool:
        """Connect the caller to a human agent. False (and the call goes on) if the agent
        leg fails; True once the two are bridged, after which the bot is out of the call."""
        await self.stop_playbacks()
        agent = self._ids["agent"]
        self._sub.add(agent)
        self._stasis[agent] = asyncio.get_running_loop().create_future()
        self.record.timeline.add("transfer: dialling the agent")
        try:
            await self.client.originate(endpoint, app_args=["agent", self.call_id], timeout=timeout,
                                        channel_id=agent, caller_id=self.config.caller_id)
            self._created.append(("channel", agent))
            await self._until(self._stasis[agent], timeout + 5)
        except (AriError, TimeoutError, _LegFailed) as exc:
            self.record.timeline.add(f"transfer failed: {exc}")
            return False
        xfer = self._ids["xfer"]
        await self.client.create_bridge(bridge_id=xfer)
        self._created.append(("bridge", xfer))
        self._sub.add(xfer)
        await self.client.add_channels(xfer, [self.caller_id, agent])
        self.record.outcome = Outcome.TRANSFERRED
        self.record.timeline.add("transfer: caller and agent bridged")
        await self._teardown_media()
        return True

    # -- running -----------------------------------------------------------------------------

    async def run(self) -> CallRecord:
        # Every log line of this call's tasks carries its id (they inherit the context).
        token = call_id_var.set(self.call_id)
        metrics.CALLS_IN_PROCESS.inc()
        try:
            return await self._run()
        finally:
            metrics.CALLS_IN_PROCESS.dec()
            call_id_var.reset(token)

    async def _run(self) -> CallRecord:
        reader = asyncio.create_task(self._read_events(), name=f"call-{self.call_id}-events")
        prepare = getattr(self.conversation, "prepare", None)
        if prepare is not None:
            # Work the conversation can do while the phone rings (rendering the contact's lines).
            self._background(prepare())
        try:
            if self.record.direction == "outbound":
                await self._originate()
            else:
                await self._answer_inbound()
            if self._answered:
                await self._converse()
        except CallEnded:
            pass
        except (AriError, TimeoutError, _LegFailed) as exc:
            self._failed(exc)
            if not self.ended:
                await self._quiet(self.client.hangup(self.caller_id))
        finally:
            if self._bg:
                await asyncio.wait(self._bg, timeout=5)
            await self._cleanup()
            await self._await_destroyed()
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
            self._sub.close()
            self.server.forget(self.media_uuid)
        self._finish()
        return self.record

    async def _await_destroyed(self) -> None:
        """An outbound caller channel's ChannelDestroyed (its cause) comes ~10 ms after StasisEnd:
        keep reading until it does (bounded), so the call's cause is never lost to that race.
        An inbound channel gets none (only its ChannelHangupRequest carries the cause)."""
        outbound = self.record.direction == "outbound"
        if outbound and self.ended and not self._destroyed.done() and not self._ari_gone:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._destroyed), 2.0)
        if self.record.cause is None and self._hangup_request is not None:
            self.record.cause, self.record.cause_txt = self._hangup_request
            self.record.timeline.add(f"hang-up cause {self.record.cause} (from the hang-up request)")

    async def _originate(self) -> None:
        cfg = self.config
        self.record.timeline.add(f"dial {mask(self.record.number)}")
        log.info("call %s: dialling %s", self.call_id, mask(self.record.number))
        self._stasis[self.caller_id] = asyncio.get_running_loop().create_future()
        try:
            await self.client.originate(
                cfg.endpoint_for(self.record.number), app_args=["outbound", self.call_id], caller_id=cfg.caller_id,
                timeout=cfg.ring_timeout, channel_id=self.caller_id, other_channel_id=self.caller_id + "-2",
                variables={"MINIBOT_CALL_ID": self.call_id})
        except AriError as exc:
            if refused(exc):  # nothing rang: not a dial (the dialer gives the attempt back)
                raise NotDialled(note_for(exc)) from exc
            raise
        try:
            await self._until(self._stasis[self.caller_id], cfg.ring_timeout + 15)
        except _LegFailed:
            return  # never answered: the outcome comes from the cause
        self._on_answer()

    async def _answer_inbound(self) -> None:
        self.record.timeline.add(f"inbound call from {mask(self.record.number)}")
        await self.client.answer(self.caller_id)
        self._on_answer()

    def _on_answer(self) -> None:
        self._answered = True
        self.record.answered_at = time.monotonic()
        self.record.timeline.add("answered")
        if self.on_answer is not None:  # e.g. the dialer marks the stored call as in progress
            self._background(self._hook(self.on_answer))

    async def _hook(self, hook: Callable[[], Awaitable[None]]) -> None:
        try:
            await hook()
        except Exception as exc:  # bookkeeping never costs the call
            log.warning("call %s: answer hook failed: %s", self.call_id, exc)

    async def _converse(self) -> None:
        # The listen path comes first and alone on the critical path; AMD and the recording
        # snoop are set up beside it and never hold up the first words.
        listen: asyncio.Task | None = None
        async with asyncio.TaskGroup() as tg:
            tg.create_task(self._start_amd())
            tg.create_task(self._start_recording())
            try:
                await self._start_talking()
                await self._start_listening()
                listen = tg.create_task(self.listener.run())
                pump = tg.create_task(self._pump_listen_events())
                await self._until(asyncio.ensure_future(self.conversation(self)))
            except CallEnded:
                pass
            except (AriError, TimeoutError, _LegFailed) as exc:
                self._failed(exc)
            finally:
                if not self.ended and self.record.outcome is not Outcome.TRANSFERRED:
                    await self.hangup("conversation over")
                await self._teardown_media()
                if listen is not None:
                    listen.cancel()
                    pump.cancel()

    async def _start_talking(self) -> None:
        """The bridge the prompts play on, the caller channel alone in it (with no way to lower
        the line, prompts play on the channel)."""
        if self.interruptions.timing.duck_db is None:
            return
        talk = self._ids["talk"]
        self._sub.add(talk)
        try:
            await self.client.create_bridge(bridge_id=talk)
            self._created.append(("bridge", talk))
            await self.client.add_channels(talk, [self.caller_id])
        except AriError as exc:
            if asterisk_down(exc):
                raise
            # e.g. the caller hung up meanwhile: the first prompt, on the channel, finds out
            log.warning("call %s: no bridge for the prompts (%s): they play on the channel", self.call_id, exc)
            return
        self._talk = talk

    async def _start_listening(self) -> None:
        cfg, ids = self.config, self._ids
        self._sub.add(ids["ext"], ids["bridge"])
        self._stasis[ids["ext"]] = asyncio.get_running_loop().create_future()
        session_wait = self.server.expect(self.media_uuid)
        await self._snoop("listen", spy="in", app_args=["listen"], wait=False)
        await self.client.create_bridge(bridge_id=ids["bridge"])
        self._created.append(("bridge", ids["bridge"]))
        # Asterisk connects to our AudioSocket server inside this request.
        await self.client.external_media(external_host=cfg.audiosocket_address, data=str(self.media_uuid),
                                         channel_id=ids["ext"])
        self._created.append(("channel", ids["ext"]))
        await self._until(self._stasis[ids["ext"]], 5)  # addChannel before StasisStart gives 422
        await self.client.add_channels(ids["bridge"], [ids["listen"], ids["ext"]])
        session = await self._until(session_wait, cfg.media_timeout)
        # A conversation that knows its scenario's names hands them to the recogniser, guarded
        # (bot.speech.asr.vocabulary); the model stays shared by every call.
        vocabulary = getattr(self.conversation, "vocabulary", None)
        recognizer = Biased(self.recognizer, vocabulary) if vocabulary is not None else self.recognizer
        self.listener = CallListener(session.subscribe(), recognizer, vad=cfg.vad, barge_in=cfg.barge_in,
                                     turn=cfg.turn)
        self.record.timeline.add("listening")

    async def _snoop(self, role: str, *, spy: str, app_args: list[str], wait: bool = True) -> str:
        """A snoop channel on the caller, owned by this call; with ``wait``, once it is in Stasis."""
        sid = self._ids[role]
        self._sub.add(sid)
        self._stasis[sid] = asyncio.get_running_loop().create_future()
        await self.client.snoop(self.caller_id, spy=spy, app_args=app_args, snoop_id=sid)
        self._created.append(("channel", sid))
        if wait:
            await self._until(self._stasis[sid], 5)
        return sid

    async def _start_amd(self) -> None:
        try:
            amd = await self._snoop("amd", spy="in", app_args=["amd-snoop"])
            # The dialplan brings the verdict back to this worker's own Stasis app (one WebSocket per
            # app name: several workers on one Asterisk each register their own).
            await self.client.set_variable(amd, "MINIBOT_APP", self.client.config.app)
            await self.client.continue_in_dialplan(amd, self.config.amd_context)
        except CallEnded:
            pass
        except (AriError, TimeoutError, _LegFailed) as exc:
            # The transcript layer still judges; a missing AMD never ends the call.
            self.record.timeline.add(f"AMD unavailable: {exc}")

    async def _start_recording(self) -> None:
        if not self.config.record:
            return
        try:
            rec = await self._snoop("rec", spy="both", app_args=["record"])
            name = f"minibot-{self.call_id}"
            await self.client.record(rec, name, format="wav", max_duration_s=self.config.max_call_seconds)
            self.record.recording = name
        except CallEnded:
            pass
        except (AriError, TimeoutError, _LegFailed) as exc:
            self.record.timeline.add(f"recording unavailable: {exc}")

    # -- events --------------------------------------------------------------------------

    async def _read_events(self) -> None:
        while True:
            event = await self._sub.get()
            if isinstance(event, ConnectionLost):
                self.record.timeline.add(f"ARI connection lost: {event.reason}")
            elif isinstance(event, Reconnected):
                self.record.timeline.add("ARI reconnected")
                await self._verify_alive()
            elif isinstance(event, AriGone):
                self._ari_gone = True
                self._lost("liaison ARI perdue pendant l'appel (Asterisk arrêté ou injoignable)")
                self._set_gone(None)
                for fut in self._pending_futures():
                    _fail(fut, _LegFailed("ARI connection lost"))
            elif isinstance(event, ev.StasisStart):
                self._on_stasis_start(event)
            elif isinstance(event, ev.ChannelDestroyed):
                self._on_destroyed(event)
            elif isinstance(event, ev.ChannelHangupRequest) and event.channel.id == self.caller_id:
                self._on_hangup_request(event)
                if event.soft and event.cause == SOFTHANGUP_SHUTDOWN:
                    self._lost("Asterisk arrêté pendant l'appel")
            elif isinstance(event, ev.ChannelDtmfReceived) and event.channel.id == self.caller_id:
                now = time.monotonic()
                self.record.dtmf.append((now, event.digit))
                self.record.timeline.add(f"dtmf {event.digit}")
                self._heard.put_nowait(DtmfPressed(event.digit, now))
                if event.digit in self.answer_keys and any(not f.done() for f in self._playbacks.values()):
                    # a key the current question expects is an answer: stop talking, as for speech
                    self.record.timeline.add(f"barge-in by key {event.digit}")
                    self._background(self.stop_playbacks())
            elif isinstance(event, ev.StasisEnd) and event.channel.id == self.caller_id and self._answered:
                # The caller channel only leaves Stasis when it hangs up. For an inbound call it is
                # the last event: nothing subscribed it explicitly, so no ChannelDestroyed follows.
                self._set_gone(None)
            elif isinstance(event, ev.PlaybackStarted):
                now = time.monotonic()
                self._sounded.add(event.playback.id)
                if self.record.first_audio_at is None:
                    self.record.first_audio_at = now
                if self._reply_due_since is not None:
                    # The turn latency: the caller's end of speech to the bot's next audio.
                    self.record.turn_latencies.append(now - self._reply_due_since)
                    metrics.TURN_LATENCY.observe(now - self._reply_due_since)
                    self._reply_due_since = None
            elif isinstance(event, ev.PlaybackFinished):
                fut = self._playbacks.get(event.playback.id)
                if fut is not None and not fut.done():
                    fut.set_result(event)
                if self.listener is not None and not any(not f.done() for f in self._playbacks.values()):
                    self.listener.prompt_stopped(time.monotonic())
            elif isinstance(event, ev.Dial) and event.peer.id == self.caller_id and event.dialstatus:
                self.record.timeline.add(f"dial status {event.dialstatus}")

    def _on_stasis_start(self, event: ev.StasisStart) -> None:
        cid = event.channel.id
        if cid == self._ids["amd"] and event.args and event.args[0] == "amd":
            status = event.args[1] if len(event.args) > 1 else ""
            cause = event.args[2] if len(event.args) > 2 else ""
            self.record.amd_status, self.record.amd_cause = status, cause
            self.record.timeline.add(f"AMD {status} {cause}")
            if not self._amd.done():
                self._amd.set_result((status, cause))
            return
        fut = self._stasis.get(cid)
        if fut is not None and not fut.done():
            fut.set_result(event)

    def _on_hangup_request(self, event: ev.ChannelHangupRequest) -> None:
        # A soft request's cause is a flag (32: our own DELETE), not a Q.850 cause (facts §3.2):
        # Asterisk then clears the call normally (16).
        cause = 16 if event.soft or not event.cause else event.cause
        if self._hangup_request is None or not event.soft:
            self._hangup_request = (cause, _CAUSE_TEXT.get(cause, ""))

    def _on_destroyed(self, event: ev.ChannelDestroyed) -> None:
        cid = event.channel.id
        if cid == self.caller_id:
            if not self._destroyed.done():
                self._destroyed.set_result(None)
            self.record.cause, self.record.cause_txt = event.cause, event.cause_txt
            self.record.timeline.add(f"caller channel destroyed: {event.cause} {event.cause_txt}")
            self._set_gone(event)
            fut = self._stasis.get(cid)
            if fut is not None and not fut.done():
                _fail(fut, _LegFailed(f"not answered: {event.cause_txt}"))
        elif cid == self._ids["agent"]:
            fut = self._stasis.get(cid)
            if fut is not None and not fut.done():
                _fail(fut, _LegFailed(f"agent not reached: {event.cause_txt}"))
            elif self.record.outcome is Outcome.TRANSFERRED and not self.ended:
                self._background(self._quiet(self.client.hangup(self.caller_id)))  # the agent left
        media = cid in (self._ids["ext"], self._ids["listen"])
        if media and not self.ended and not self.hangup_requested and self.record.outcome is not Outcome.TRANSFERRED:
            # The bot cannot hear any more: it must not keep talking to a caller it cannot hear.
            if cid == self._ids["ext"]:  # only a fault ends it (a callee's hang-up leaves it until DELETE)
                self._lost("chemin audio perdu (canal AudioSocket terminé)", symptom=True)
            else:  # the listen snoop also ends when the caller hangs up: not proof of a fault
                self.record.note = self.record.note or "chemin audio perdu (canal d'écoute terminé)"
                self.record.timeline.add("media path lost")
            self._background(self.hangup("media path lost"))

    def _lost(self, why: str, *, symptom: bool = False) -> None:
        """Asterisk or the media path cut the call: nobody ended it; it is interrupted (retried as
        such), and its note is this one line, not a raw error. The audio path closing is a symptom:
        when Asterisk stops, its AudioSocket may close before the shutdown's hang-up event is read
        (seen in CI), and the cause, arriving second, is the note an operator needs."""
        if not self.record.interrupted or (self._lost_by_symptom and not symptom):
            self._lost_by_symptom = symptom
            self.record.interrupted = why
            self.record.note = why
            self.record.timeline.add(f"interrupted: {why}")

    def _failed(self, exc: BaseException) -> None:
        log.warning("call %s: %s", self.call_id, exc)
        if asterisk_down(exc):
            self._lost(note_for(exc))
        else:
            self.record.note = self.record.note or note_for(exc)

    def _background(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._bg.add(task)
        task.add_done_callback(self._bg.discard)

    def _set_gone(self, event: ev.ChannelDestroyed | None) -> None:
        if not self._gone.done():
            self.gone_at = time.monotonic()
            self._gone.set_result(event)
        for fut in self._playbacks.values():
            if not fut.done():
                _fail(fut, CallEnded())

    def _pending_futures(self) -> list[asyncio.Future]:
        return [f for f in (*self._stasis.values(), *self._playbacks.values()) if not f.done()]

    async def _verify_alive(self) -> None:
        # After an outage (or an Asterisk restart) events may have been missed: ask.
        try:
            await self.client.get_channel(self.caller_id)
        except AriNotFound:
            self.record.timeline.add("caller channel gone during the outage")
            self._lost("appel coupé pendant une panne de la liaison ARI (Asterisk redémarré ?)")
            self._set_gone(None)
            for fut in self._pending_futures():
                _fail(fut, _LegFailed("channel gone during the ARI outage"))
        except AriError:
            pass

    async def _until(self, fut: asyncio.Future, timeout: float | None = None):
        """Await ``fut``, but give up when the caller channel goes away first."""
        if fut is not self._gone:
            done, _ = await asyncio.wait({fut, self._gone}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            if fut in done:
                return fut.result()
            if not done:
                if isinstance(fut, asyncio.Task):
                    fut.cancel()
                raise TimeoutError(f"call {self.call_id}: no answer from Asterisk within {timeout} s")
            if isinstance(fut, asyncio.Task):
                fut.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await fut
            raise CallEnded()
        return await fut

    def last_line_sounded(self) -> bool:
        """Whether Asterisk started the last playback asked for (a caller may have heard it)."""
        return bool(self._playbacks) and next(reversed(self._playbacks)) in self._sounded

    def _check_alive(self) -> None:
        if self.ended:
            raise CallEnded()

    # -- cleanup -------------------------------------------------------------------------

    async def _teardown_media(self) -> None:
        ids = self._ids
        for kind, rid in list(self._created):
            if rid in (ids["ext"], ids["listen"], ids["amd"], ids["bridge"]):
                await self._remove(kind, rid)

    async def _cleanup(self) -> None:
        if self.listener is not None:
            self.listener.prompt_stopped(time.monotonic())
        if self.record.outcome is Outcome.TRANSFERRED and not self.ended:
            # The caller and the agent talk; the bot's part is over, its bookkeeping is not:
            # the agent leg and the bridge are removed once one of them hangs up.
            self.record.timeline.add("waiting for the transferred call to end")
            await self._quiet(asyncio.wait_for(asyncio.shield(self._gone), self.config.max_call_seconds))
        for kind, rid in reversed(self._created):
            await self._remove(kind, rid)

    async def _remove(self, kind: str, rid: str) -> None:
        if (kind, rid) not in self._created:
            return
        self._created.remove((kind, rid))
        call = self.client.destroy_bridge(rid) if kind == "bridge" else self.client.hangup(rid)
        try:
            await call
        except AriNotFound:
            pass  # already gone with its target (snoops end with the caller channel)
        except AriError as exc:
            log.warning("call %s: could not remove %s %s: %s", self.call_id, kind, rid, exc)

    def _finish(self) -> None:
        rec = self.record
        rec.ended_at = time.monotonic()
        if rec.outcome is None:
            rec.outcome = outcome_for_cause(rec.cause, answered=self._answered)
        rec.timeline.add(f"outcome {rec.outcome.value}")
        log.info("call %s: %s (cause %s)", self.call_id, rec.outcome.value, rec.cause)
        metrics.observe_call_end(rec)

    async def _quiet(self, aw: Awaitable) -> None:
        try:
            await aw
        except (AriError, TimeoutError) as exc:
            log.debug("call %s: ignored %s", self.call_id, exc)


# Asterisk's cause texts (main/causes.c) for the causes a hang-up request carries.
_CAUSE_TEXT = {1: "Unallocated (unassigned) number", 16: "Normal Clearing", 17: "User busy",
               18: "No user responding", 19: "User alerting, no answer", 21: "Call Rejected",
               31: "Normal, unspecified", 34: "Circuit/channel congestion", 38: "Network out of order",
               41: "Temporary failure", 127: "Interworking, unspecified"}


def _fail(fut: asyncio.Future, exc: BaseException) -> None:
    """Fail a future some code path may no longer await, without asyncio logging
    "exception was never retrieved" for it."""
    fut.set_exception(exc)
    fut.exception()


class _LegFailed(Exception):
    """A channel this call waited for ended or could not be reached instead."""
