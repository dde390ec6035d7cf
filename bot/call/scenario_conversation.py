"""A scenario conversation on a live call: the engine's turns played, the caller's words
classified, the answering-machine question settled as the greeting comes in.

The bot greets as soon as the callee's "allô ?" pauses (waiting for Asterisk's AMD would leave a
person in silence for seconds). Until the AMD transcript layer has settled, what the callee says
keeps feeding it; a machine found late (a recorded "allô ?... je suis absent") still ends in the
voicemail message or a hang-up, never in a pitch to a recording.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Protocol

from ..compliance.opt_out_evidence import Said, opt_out_evidence
from ..dialog.amd import AmdTranscriptLayer, AmdVerdict
from ..dialog.brain import Brain
from ..dialog.intents import Intent, Understanding
from ..dialog.scenario.engine import Line, RunRecord, ScenarioRun, Turn
from ..dialog.scenario.loader import render
from ..dialog.scenario.model import CallResult
from ..ops import metrics
from ..speech import events as sev
from ..speech.asr.vocabulary import Vocabulary, for_scenario
from .anticipation import Anticipation
from .call import Call, CallEnded, CallRecord, DtmfPressed, ObjectionMatch, Utterance
from .disclosure import REPEAT_KEY, as_played, short_disclosure
from .first_words import FirstWords, FirstWordsTiming, answers_the_greeting, decide, greeting_cut_early
from .prompt import Prompt
from .silence import CallerSilence, SilenceTiming

log = logging.getLogger(__name__)


class Voice(Protocol):
    """Audio for a line: its pre-recorded file, or the line rendered by a TTS engine."""

    async def prompt(self, line: Line) -> Prompt: ...


@dataclass
class GreetingTiming:
    first_words: FirstWordsTiming = field(default_factory=FirstWordsTiming)  # when the bot speaks first
    amd_max: float = 7.0  # longest wait for a verdict on a long greeting
    amd_window: float = 20.0  # after the answer, what the callee says still feeds the AMD layer (a whole greeting)
    beep_max: float = 20.0  # longest wait for a voicemail's beep
    no_beep_quiet: float = 2.0  # a box that never beeps: its greeting over once quiet this long


@dataclass
class ScenarioConversation:
    brain: Brain
    voice: Voice
    values: dict[str, str] = field(default_factory=dict)  # the contact's variables
    agent_endpoint: str | None = None  # where a transfer step sends the caller
    timing: GreetingTiming = field(default_factory=GreetingTiming)
    run: ScenarioRun | None = None  # set when the call starts, for the campaign to read after
    silence: SilenceTiming = field(default_factory=SilenceTiming)  # bounds on waiting for late words

    @property
    def vocabulary(self) -> Vocabulary:
        """The scenario's names, for the call's recogniser (read when the call starts listening)."""
        return for_scenario(self.brain.scenario)

    async def prepare(self) -> None:
        """While the phone rings: render this contact's own lines (the greeting with their name,
        the voicemail message), so the bot answers an "allô" without a synthesis delay."""
        scenario = self.brain.scenario
        values = {"agent_name": scenario.agent_name, "company_name": scenario.company_name, **self.values}
        first = scenario.steps[scenario.first_step]
        texts = [first.say] if first.say and not first.audio else []
        texts.append(self._repeat_line().text)  # ready in case the greeting is cut
        if scenario.voicemail and scenario.voicemail.say:
            texts.append(scenario.voicemail.say)
        for text in texts:
            try:
                await self.voice.prompt(Line(render(text, values), "prepare"))
            except Exception as exc:  # the call renders it again when needed, and reports then
                log.warning("could not render ahead: %s", exc)

    async def __call__(self, call: Call) -> None:
        self._anticipation = Anticipation(self.brain.classifier)
        self._keys: list[DtmfPressed] = []  # pressed before the bot asked anything
        self._amd: AmdTranscriptLayer | None = None
        self._caller = CallerSilence(self.silence)  # every listen event the conversation takes is noted
        self._backlog: list[object] = []  # events taken while a silence re-prompt played, not yet handled
        self._late: str | None = None  # an answer whose words came while the silence re-prompt played
        # When the greeting, cut by the callee's voice, began: words said over it may answer it.
        self._greeting_cut_at: float | None = None
        try:
            await self._converse(call)
        except (CallEnded, asyncio.CancelledError):
            # The caller's hang-up reaches the conversation as CallEnded, or as the cancellation of
            # its task by Call._until.
            if call.ended:
                self._hung_up(call)
            raise
        finally:
            if self.run is not None:
                call.record.steps = list(self.run.record.steps)
            self._anticipation.close()
            if call.record.amd_verdict is None and self._amd is not None:
                # The callee hung up (or the call failed) before the scenario ended: still say
                # who it was, from what was heard so far (the layer leans to "human").
                self._feed_amd_status(call, self._amd)
                verdict = self._amd.verdict()
                call.record.amd_verdict = "machine" if verdict.is_machine else "human"
                call.record.timeline.add(f"verdict at hang-up: {call.record.amd_verdict} ({verdict.reason})")

    def _hung_up(self, call: Call) -> None:
        """The person hung up mid-script: that is the call's result (not a blank the figures skip),
        with the step they reached."""
        run = self.run
        if run is None or call.record.result is not None or not run.record.steps:
            return
        if call.record.amd_verdict == "machine":
            return
        if (result := run.hung_up()) is not None:
            # What they had said still counts: a conclusion the engine reached (an opt-out heard while
            # the bot acknowledged it above all), a refusal before the line went dead (never NO_ANSWER:
            # it starts the legal rest), a callback they were confirming.
            self._finish(call, run, result)
            return
        self._finish(call, run, CallResult.HUNG_UP)
        call.record.timeline.add(f"hung up at step {run.record.steps[-1]}")

    async def _converse(self, call: Call) -> None:
        self.run = run = self.brain.new_run(self.values)
        self._disclosure_played = False
        self._amd = amd = AmdTranscriptLayer()
        self._beep_at: float | None = None
        if call.listener is not None:
            call.listener.watch_for_beep()
        verdict = await self._greeting(call, amd)
        if verdict is not None and verdict.is_machine:
            await self._machine(call, run, verdict)
            return
        turn = run.start()
        greeting = True
        reprompt_for: float | None = None  # a silence re-prompt: when the question it repeats was asked
        while True:
            stopped_by_machine = await self._say(call, turn, amd, greeting=greeting, answer_since=reprompt_for)
            greeting = False
            if stopped_by_machine:
                await self._machine(call, run, amd.verdict())
                return
            if turn.transfer:
                if self.agent_endpoint and await call.transfer(self.agent_endpoint):
                    self._finish(call, run, CallResult.TRANSFERRED)
                    return
                turn = run.no_transfer()
                continue
            if turn.end is not None:
                self._finish(call, run, turn.end)
                await call.hangup(f"scenario: {turn.end.value}")
                return
            if call.listener is not None:  # a number, an address being dictated: longer pauses between groups
                call.listener.dictation = run.step.dictation
            # An answer to a question the bot said again after a silence may still come: its words late.
            since = reprompt_for if reprompt_for is not None else call.last_prompt_at
            reprompt_for = None
            heard, self._late = self._late, None
            if heard is None:
                heard = await self._caller_answer(call, amd, self.brain.scenario.settings.silence_timeout, since=since)
            self._greeting_cut_at = None  # the greeting's question has its answer (or its silence)
            if isinstance(heard, AmdVerdict):
                await self._machine(call, run, heard)
                return
            if heard is None:
                turn = run.silence()
                if turn.end is None:
                    reprompt_for = since
                continue
            if isinstance(heard, Understanding):  # a key the step maps
                call.record.timeline.add(f"understood {heard.intent.value} (key {heard.text})")
                turn = await run.hear(heard)
                continue
            started = time.monotonic()
            understood = await self._anticipation.understand(heard)
            metrics.INTENT_LATENCY.observe(time.monotonic() - started)
            if understood.objection:
                call.record.objections.append(ObjectionMatch(understood.objection, understood.score, time.monotonic()))
            call.record.timeline.add(
                f"understood {understood.intent.value}"
                + (f"/{understood.objection}" if understood.objection else "")
                + (" (to confirm)" if understood.confirm else "")
                + f" ({understood.score:.2f}, {understood.source})"
                + (f", {understood.sentiment}" if understood.sentiment else "")
            )
            call.record.caller_mood(heard, understood.sentiment, run.step_name)  # the step it answers
            turn = await run.hear(understood)

    # -- answering machine -----------------------------------------------------------------

    async def _greeting(self, call: Call, amd: AmdTranscriptLayer,
                        speaking_since: float | None = None) -> AmdVerdict | None:
        """Wait for the callee's greeting; None or a human verdict: the bot speaks now."""
        t = self.timing
        answered = call.record.answered_at or time.monotonic()
        while True:
            now = time.monotonic()
            self._feed_amd_status(call, amd)
            if (v := amd.verdict_so_far()) is not None and v.is_machine:
                return v
            listener = call.listener
            turn = decide(t.first_words, now=now, answered=answered, speaking_since=speaking_since,
                          quiet=listener.silent_for(now) if listener else None,
                          last_voice_at=listener.last_voice_at if listener else None)
            if turn is FirstWords.SPEAK:
                # Silence (a person waiting for us, or a machine AMD will name), or "allô ?" and a pause.
                return None if speaking_since is None else amd.verdict_so_far()
            # A long greeting: a person who talks, or a recording. Let the evidence decide.
            if turn is FirstWords.LONG and ((v := amd.verdict_so_far()) is not None or now - answered >= t.amd_max):
                return v or amd.verdict()
            event = await self._next_event(call, 0.04)
            self._keep_if_over_greeting(call, event)
            if isinstance(event, DtmfPressed):
                self._keys.append(event)  # for the first question that maps it
            self._note_beep(call, event)
            self._feed_amd(call, amd, event, answered)
            if isinstance(event, sev.SpeechStarted) and speaking_since is None:
                speaking_since = event.at

    async def _machine(self, call: Call, run: ScenarioRun, verdict: AmdVerdict) -> None:
        call.record.timeline.add(f"answering machine: {verdict.reason}")
        call.record.amd_verdict = "machine"
        turn = run.machine()
        if turn.lines:
            await call.stop_playbacks()
            await self._after_beep(call)
            lines = list(turn.lines)  # noted as heard: what the box recorded is in the transcript
            await self._play_noting(call, lines, [await self.voice.prompt(line) for line in lines])
        self._finish(call, run, turn.end or CallResult.ANSWERING_MACHINE)
        await call.hangup(f"answering machine: {verdict.reason}")

    async def _after_beep(self, call: Call) -> None:
        """A voicemail message must start after the beep (before it, the box is still talking
        and records nothing): wait for the beep, or for a long quiet from a box that has none."""
        t = self.timing
        deadline = time.monotonic() + t.beep_max
        while self._beep_at is None and (now := time.monotonic()) < deadline:
            quiet = call.listener.silent_for(now) if call.listener else None
            if quiet is not None and quiet >= t.no_beep_quiet:
                call.record.timeline.add("no beep heard; the greeting is over")
                break
            self._note_beep(call, await self._next_event(call, 0.05))
        if call.listener is not None:
            call.listener.watch_for_beep(False)

    def _note_beep(self, call: Call, event: object) -> None:
        if isinstance(event, sev.BeepDetected) and self._beep_at is None:
            self._beep_at = event.at
            call.record.timeline.add(f"voicemail beep ({event.frequency:.0f} Hz)")

    # -- turns -------------------------------------------------------------------------------

    async def _say(self, call: Call, turn: Turn, amd: AmdTranscriptLayer, *, greeting: bool = False,
                   answer_since: float | None = None) -> bool:
        """Play a turn's lines; True when the AMD layer found a machine meanwhile. The transcript keeps
        what played (bot.call.disclosure); a disclosure cut short is said again before the turn.
        ``answer_since``: the turn repeats, after a silence, a question asked then; words of an answer
        to it that come while it plays stop it and are the answer (``_late``)."""
        if turn.lines:
            lines = list(turn.lines)
            if self._disclosure_due(call, lines):
                lines.insert(0, self._repeat_line())
                call.record.timeline.add("disclosure cut short: said again before going on")
            prompts = [await self.voice.prompt(line) for line in lines]
            call.record.timeline.add(f"say ({turn.why}): {' '.join(line.text for line in lines)[:80]!r}")
            call.answer_keys = frozenset(self.run.step.dtmf) if self.run is not None else frozenset()
            started = time.monotonic()
            # False: stopped (the callee spoke over it, or the words of their answer came)
            # The callee's "allô" over the greeting's first moments stops it (said again whole,
            # below); any later barge-in only lowers the line while the words decide.
            stop_within = self.timing.first_words.restart_within if greeting else 0.0
            complete = await self._play_noting(call, lines, prompts, answer_since=answer_since,
                                               stop_within=stop_within)
            cut = call.interruptions.last_cut
            if greeting and not complete and greeting_cut_early(self.timing.first_words, started,
                                                                cut.onset if cut else None):
                # The callee's "allô" came as the bot began: its first words were lost under it.
                # Wait for them to pause, then greet again, whole.
                call.record.timeline.add("greeting cut by the callee's own: said again after it")
                self._greeting_cut_at = started
                verdict = await self._greeting(call, amd, speaking_since=time.monotonic())
                if verdict is not None and verdict.is_machine:
                    return True
                await self._play_noting(call, lines, prompts)
        self._feed_amd_status(call, amd)
        verdict = amd.verdict_so_far()
        return verdict is not None and verdict.is_machine and self._in_amd_window(call)

    async def _caller_answer(self, call: Call, amd: AmdTranscriptLayer, timeout: float,
                             *, since: float) -> str | Understanding | AmdVerdict | None:
        """The caller's answer to the question asked at ``since`` (a final for speech that ended
        after it began, or a key this step maps), a machine verdict, or None after `timeout` of
        silence, counted from the end of their speech (bot.call.silence): while they speak, or
        their words are still being recognised, they are not silent."""
        answered = call.record.answered_at or time.monotonic()
        started = time.monotonic()
        while self._keys:
            if (key := self._mapped_key(self._keys.pop(0))) is not None:
                return key
        while True:
            wait = self._caller.wait(since=since, started=started, timeout=timeout)
            if (now := time.monotonic()) >= wait.deadline:
                self._note_silence(call, wait.why, since)
                return None
            event = await self._next_event(call, wait.deadline - now)
            if isinstance(event, DtmfPressed) and (key := self._mapped_key(event)) is not None:
                return key
            self._note_beep(call, event)
            self._feed_amd(call, amd, event, answered)
            verdict = amd.verdict_so_far()
            if verdict is not None and verdict.is_machine and self._in_amd_window(call):
                return verdict
            if isinstance(event, sev.PartialTranscript):
                self._anticipation.heard(event.text)  # classified while they speak
            answer = isinstance(event, sev.FinalTranscript) and (
                event.speech_ended_at >= since or self._said_over_greeting(event))
            if answer and event.text.strip():
                if wait.why == "recognising":
                    call.record.timeline.add(f"words {event.at - event.speech_ended_at:.1f} s after the speech "
                                             "ended: the answer, not a silence")
                return event.text

    def _said_over_greeting(self, event: sev.FinalTranscript) -> bool:
        """Words the callee said over the greeting that answer it (bot.call.first_words): the
        greeting is said again after them, and they answer its question once it has played."""
        return (self._greeting_cut_at is not None and event.speech_ended_at >= self._greeting_cut_at
                and answers_the_greeting(event.text, event.speech_duration))

    def _keep_if_over_greeting(self, call: Call, event: object) -> None:
        """Taken while waiting to greet again: kept for the greeting's question."""
        if isinstance(event, sev.FinalTranscript) and self._late is None and self._said_over_greeting(event):
            self._late = event.text
            call.record.timeline.add(f"said over the greeting: {event.text!r}, the answer once it has played")

    def _note_silence(self, call: Call, why: str, since: float) -> None:
        """A hold that ran out is worth a line: the recogniser, or the VAD, may be at fault."""
        if why == "recognising" and (unheard := self._caller.unheard(since)) is not None:
            waited = time.monotonic() - unheard.detected_at
            call.record.timeline.add(f"no words for the caller's speech {waited:.1f} s after it ended: "
                                     "counted as a silence")
        elif why == "speaking" and self._caller.speaking_since is not None:
            call.record.timeline.add(f"the caller's speech has not ended in "
                                     f"{time.monotonic() - self._caller.speaking_since:.0f} s: counted as a silence")

    async def _next_event(self, call: Call, timeout: float) -> object | None:
        """The next listen event (None on timeout): first those taken while a re-prompt played."""
        if self._backlog:
            return self._backlog.pop(0)
        event = await call.next_listen_event(timeout=timeout)
        self._caller.note(event)
        return event

    def _mapped_key(self, pressed: DtmfPressed) -> Understanding | None:
        """The intent the current step gives this key (None: the step maps no such key)."""
        intent = self.run.step.dtmf.get(pressed.digit) if self.run is not None else None
        if intent is None:
            return None
        return Understanding(text=pressed.digit, intent=Intent.parse(intent), objection=None, score=1.0, source="dtmf")

    async def _play_noting(self, call: Call, lines: list[Line], prompts: list[Prompt], *,
                           answer_since: float | None = None, stop_within: float = 0.0) -> bool:
        """Play, then note in the transcript what was heard of each line (a cut line marked as such)
        and when the disclosure played to its end. True when it played whole."""
        asked = time.monotonic()
        try:
            if answer_since is None:
                complete = await call.play(prompts, stop_within=stop_within)
            else:
                complete = await self._play_listening(call, prompts, answer_since)
        except (CallEnded, asyncio.CancelledError):
            # The caller hung up over the line (or the call is being ended): the transcript keeps
            # what they heard of it (a playback on the bridge outlives their channel: no
            # "stopped" comes for it).
            if (started := call.last_prompt_at) >= asked and call.last_line_sounded():
                self._note_heard(call, lines, prompts, started, (call.gone_at or time.monotonic()) - started)
            raise
        started = call.last_prompt_at
        played = None if complete else time.monotonic() - started
        cut = call.interruptions.last_cut
        if played is not None and cut is not None and cut.at >= started:
            # Cut by the caller's voice: heard up to the barge-in, not up to the verdict on their
            # words (which came later); a lowered line was not heard under their voice either
            # (a disclosure in it is said again).
            played = cut.at - started
        self._note_heard(call, lines, prompts, started, played)
        return complete

    def _note_heard(self, call: Call, lines: list[Line], prompts: list[Prompt], started: float,
                    played: float | None) -> None:
        """The transcript's lines for what was heard of ``prompts`` (``played`` s of them; None: whole)."""
        for line, heard in zip(lines, as_played([line.text for line in lines],
                                                [p.audio.duration for p in prompts], played), strict=False):
            call.record.add_utterance(Utterance("bot", heard.text, started + heard.starts_at))
            if self._is_disclosure(line):
                self._disclosure_played = True
                if heard.complete and call.record.disclosure_done_at is None:
                    call.record.disclosure_done_at = started + heard.ends_at
                    call.record.timeline.add("disclosure heard to its end")

    async def _play_listening(self, call: Call, prompts: list[Prompt], since: float) -> bool:
        """Play a silence re-prompt while taking the listen events: the words of an answer to the
        question it repeats (speech that ended after ``since``, before the re-prompt) may come now,
        from a recogniser slow under load. They are the answer: the re-prompt stops (the caller
        spoke; asking again would talk over what they said) and ``_late`` keeps them."""
        began = time.monotonic()
        play = asyncio.ensure_future(call.play(prompts))
        try:
            while not play.done():
                event = await call.next_listen_event(timeout=0.05)
                if event is None:
                    continue
                self._caller.note(event)
                late = (isinstance(event, sev.FinalTranscript) and event.text.strip()
                        and since <= event.speech_ended_at < began)
                if late and self._late is None:
                    self._late = event.text
                    call.record.timeline.add("words of the answer came during the silence re-prompt: it stops")
                    await call.stop_playbacks()
                else:
                    self._backlog.append(event)  # handled after, in order
            return await play
        finally:
            if not play.done():
                play.cancel()
                await asyncio.wait({play})
            if not play.cancelled():
                play.exception()  # retrieved: the exception, if any, was the call ending under us

    def _is_disclosure(self, line: Line) -> bool:
        scenario = self.brain.scenario
        first = scenario.steps[scenario.first_step]
        return line.key == REPEAT_KEY or (first.disclosure and line.key == f"step:{scenario.first_step}")

    def _disclosure_due(self, call: Call, lines: list[Line]) -> bool:
        """Played before but never to its end, and this turn does not carry it itself."""
        return (getattr(self, "_disclosure_played", False) and call.record.disclosure_done_at is None
                and not any(self._is_disclosure(line) for line in lines))

    def _repeat_line(self) -> Line:
        scenario = self.brain.scenario
        return Line(short_disclosure(scenario.company_name, scenario.recorded), REPEAT_KEY)

    def _in_amd_window(self, call: Call) -> bool:
        answered = call.record.answered_at or time.monotonic()
        return time.monotonic() - answered <= self.timing.amd_window

    def _feed_amd(self, call: Call, amd: AmdTranscriptLayer, event: object, answered: float) -> None:
        if not self._in_amd_window(call):
            return
        self._feed_amd_status(call, amd)
        if isinstance(event, sev.PartialTranscript):
            amd.partial(event.text)
        elif isinstance(event, sev.FinalTranscript):
            amd.final(event.text, int(event.speech_duration * 1000))
        elif event is None and call.listener is not None:
            quiet = call.listener.silent_for(time.monotonic())
            if quiet is not None:
                amd.silence(int(quiet * 1000))

    @staticmethod
    def _feed_amd_status(call: Call, amd: AmdTranscriptLayer) -> None:
        status = call.record.amd_status
        if status and amd.evidence().amd_status != status:
            amd.amd(status, call.record.amd_cause)

    @staticmethod
    def _finish(call: Call, run: ScenarioRun, result: CallResult) -> None:
        run.record.result = result
        call.record.result = result.value
        call.record.amd_verdict = call.record.amd_verdict or "human"
        call.record.freestyle_turns = run.record.freestyle_turns
        call.record.qualification = run.record.qualification if run.record.max_points else None
        if result is CallResult.CALLBACK_REQUESTED:  # the time said back and confirmed, not re-read later
            call.record.callback_at = run.record.callback_at
        if result is CallResult.OPTED_OUT and run.record.opt_out_request:
            call.record.opt_out_evidence = opt_out_words(call.record, run.record)
        call.record.timeline.add(f"result {result.value} (qualification {run.record.qualification:.0%})")


def opt_out_words(record: CallRecord, run: RunRecord) -> str:
    """The evidence of the call's do-not-call request: its words and their confirmation (the engine
    kept them), each at the time the caller began to say it (their transcript line)."""
    caller = [u for u in record.utterances if u.speaker == "caller"]

    def said(text: str, before: int) -> tuple[Said, int]:
        # the latest line with these words before `before`: the request precedes its confirmation,
        # which may repeat its words
        words = text.strip()
        i = next((i for i in range(before - 1, -1, -1) if caller[i].text.strip() == words), -1)
        return Said(text, record.wall(caller[i].at) if i >= 0 else None), (i if i >= 0 else before)

    confirmation, before = (said(run.opt_out_confirmation, len(caller)) if run.opt_out_confirmation
                            else (None, len(caller)))
    request, _ = said(run.opt_out_request, before)
    return opt_out_evidence(request, run.opt_out_question, confirmation)
