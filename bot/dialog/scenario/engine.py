"""The scenario engine: one run of a scenario for one call, turn by turn.

Pure decision logic, no audio and no telephony: it is told what the caller meant (an
`Understanding`), that the caller stayed silent, or that a machine answered, and it answers with
a `Turn` (the lines to say, and whether the call then ends, with which result, or is transferred).
The call layer plays the lines and comes back with the caller's next words.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ...campaign.callback_time import PARIS
from ..intents import Intent, Understanding
from ..nlu.normalize import normalize
from ..nlu.rules import AFFIRM_EXACT
from ..objections.library import Library
from .callback import Proposal, propose
from .lines import engine_line
from .loader import last_question, render
from .model import DEFAULT_KEY, CallResult, Scenario, Step

log = logging.getLogger(__name__)

# The seeds' two thresholds: under ANSWER_AT the match is a guess (freestyle takes over); from
# CONFIDENT_AT the pre-recorded answer is played as it is.
ANSWER_AT, CONFIDENT_AT = 0.5, 0.7
# Objections that say no to the offer itself: a caller who said one and then goes silent or
# hangs up has refused (NOT_INTERESTED, which starts the legal rest), not failed to answer.
REFUSALS = frozenset({"not_interested", "never_buy_by_phone"})


@dataclass(frozen=True, slots=True)
class Line:
    text: str  # what is said (variables filled in)
    key: str  # where it comes from: step:<name>, objection:<id>, engine:<key>, freestyle, rail_return
    audio: Path | None = None  # a pre-recorded file to play instead of synthesising `text`


@dataclass(slots=True)
class Turn:
    lines: list[Line]
    end: CallResult | None = None  # hang up after the lines, with this result
    transfer: bool = False  # hand the caller to an agent after the lines
    why: str = ""  # for the call's timeline

    @property
    def text(self) -> str:
        return " ".join(line.text for line in self.lines)


# How a yes to a yes/no question the engine asked may begin (normalised words, a word boundary after).
CONFIRMING_STARTS = tuple(f"{w} " for w in ("oui", "ouais", "exactement", "absolument", "tout a fait", "ce est ca",
                                            "ce est bien ca", "voila", "affirmatif", "en effet"))

class FreestyleAnswerer(Protocol):
    """An LLM answer for what no step or library entry answers; None when none can be had."""

    async def __call__(
        self, caller_text: str, step_context: str | None, hint: str | None, history: list[tuple[str, str]]
    ) -> str | None: ...


class RailReturn(Protocol):
    id: str
    text: str


class RailReturnPicker(Protocol):
    """Lead-ins back to the script after an aside ("Pour revenir à ma question,")."""

    def pick(self, rng: random.Random) -> RailReturn: ...


@dataclass
class RunRecord:
    """What the campaign keeps about the conversation."""

    steps: list[str] = field(default_factory=list)
    turns: int = 0
    objections: list[str] = field(default_factory=list)
    freestyle_turns: int = 0
    points: int = 0
    max_points: int = 0
    opted_out: bool = False
    # The evidence of a do-not-call request (French law wants the request, not only a "oui"): the
    # caller's words that asked, the question the bot asked to confirm, and the words that confirmed.
    opt_out_request: str = ""
    opt_out_question: str = ""
    opt_out_confirmation: str = ""
    refused: bool = False  # said no to the offer (a refusal objection, or a no to the opt-out question)
    callback_at: datetime | None = None  # the callback time the caller confirmed aloud
    sentiments: list[str] = field(default_factory=list)  # per caller turn
    result: CallResult | None = None

    @property
    def qualification(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0


class ScenarioRun:
    def __init__(
        self,
        scenario: Scenario,
        values: dict[str, str] | None = None,
        *,
        library: Library | None = None,
        freestyle: FreestyleAnswerer | None = None,
        rail_returns: RailReturnPicker | None = None,
        base_dir: Path | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.scenario = scenario
        self.values = {"agent_name": scenario.agent_name, "company_name": scenario.company_name, **(values or {})}
        self.library = library
        self.freestyle = freestyle
        self.rail_returns = rail_returns
        self.base_dir = base_dir
        self.rng = rng or random.Random()
        self.record = RunRecord()
        self.step_name = scenario.first_step
        self.history: list[tuple[str, str]] = []  # (caller, bot), for freestyle
        self._autonomous = 0  # objection answers in a row at this step
        self._last_aside: str | None = None  # the objection last answered at this step
        self._silences = 0
        self._scored: set[str] = set()
        self.clock = clock or (lambda: datetime.now(PARIS))  # wall clock, for callback times
        self._asked_opt_out = False  # "Vous ne souhaitez plus être appelé, c'est bien cela ?" awaits an answer
        self._proposed: Proposal | None = None  # a callback time said back, awaiting a yes or a correction
        self._asked_when = False  # "À quel moment puis-je vous rappeler ?" awaits an answer
        self._offered_way_out = False  # an irritated caller was offered a callback or an end
        self._apologised = False

    # -- what the call layer calls -------------------------------------------------------

    def start(self) -> Turn:
        return self._enter(self.scenario.first_step, why="start")

    async def hear(self, understood: Understanding) -> Turn:
        self.record.turns += 1
        self._silences = 0
        if understood.sentiment:
            self.record.sentiments.append(understood.sentiment)
        turn = await self._pending(understood) or await self._respond(understood)
        self.history.append((understood.text, turn.text))
        if turn.end:
            self.record.result = turn.end
        return turn

    def silence(self) -> Turn:
        self._silences += 1
        if self._asked_opt_out or self.record.refused:
            # They said no, and say nothing to what followed: a refusal, not a missed call.
            self._asked_opt_out = False
            self.record.refused = True
            return self._end([self._engine("goodbye_refused")], CallResult.NOT_INTERESTED, "refusal, then silence")
        if self._proposed is not None:
            if self._silences >= self.scenario.settings.max_silences:
                return self._callback_confirmed("callback time, then silence")
            line = Line(self._proposed.question(self.clock()), "engine:callback_confirm")
            return Turn([self._engine("still_there"), line], why="silence after a callback time")
        if self._silences >= self.scenario.settings.max_silences:
            return self._end([self._engine("no_answer")], CallResult.NO_ANSWER, "silences")
        return Turn([self._engine("still_there"), *self._ask_again_lines(self.step)], why="silence")

    def machine(self) -> Turn:
        message = self.scenario.voicemail
        if message is None:
            return self._end([], CallResult.ANSWERING_MACHINE, "answering machine")
        line = Line(render(message.say or "", self.values), "voicemail", self._audio(message.audio))
        return self._end([line], CallResult.VOICEMAIL_LEFT, "voicemail message")

    def hung_up(self) -> CallResult | None:
        """The result of a call the caller hung up on: what was already decided, a refusal when
        they had refused (or were asked to confirm an opt-out), else None (nothing concluded)."""
        if self.record.result is not None:
            return self.record.result
        if self.record.refused or self._asked_opt_out:
            self.record.refused = True
            self.record.result = CallResult.NOT_INTERESTED
        elif self._proposed is not None:
            self.record.callback_at = self._proposed.at
            self.record.result = CallResult.CALLBACK_REQUESTED
        return self.record.result

    def no_transfer(self) -> Turn:
        """The agent leg failed (busy, no agent): promise a callback rather than drop the caller."""
        return self._end([self._engine("no_transfer")], CallResult.CALLBACK_REQUESTED, "transfer failed")

    @property
    def step(self) -> Step:
        return self.scenario.steps[self.step_name]

    @property
    def finished(self) -> bool:
        return self.record.result is not None

    # -- decisions ------------------------------------------------------------------------

    async def _pending(self, u: Understanding) -> Turn | None:
        """The answer to a question the engine itself asked (opt-out, callback time, way out),
        or None to understand the words as usual."""
        said = normalize(u.text)
        # A yes to "vous ne souhaitez plus être appelé ?" may come with more words than a bare "oui"
        # ("oui d'accord pour ça", as a recogniser writes it): an affirmation that starts as a clear yes.
        clear_yes = u.intent is Intent.AFFIRM and (said in AFFIRM_EXACT or said.startswith(CONFIRMING_STARTS))
        if self._asked_opt_out:
            self._asked_opt_out = False
            if u.decided_opt_out or clear_yes:
                self.record.opt_out_confirmation = u.text
                return self._opt_out("do-not-call request, confirmed")
            if u.intent is Intent.DENY or u.intent is Intent.OPT_OUT:
                # "non" to "vous ne souhaitez plus être appelé ?" is ambiguous in French; what is
                # not: they want this call over. A refusal (60-day rest), no do-not-call record.
                self.record.refused = True
                return self._end([self._engine("goodbye_refused")], CallResult.NOT_INTERESTED, "refused")
            return None
        if self._proposed is not None:
            if u.decided_opt_out:
                return None
            correction = propose(u.text, self.clock(), before=self._proposed.asked)
            if correction is not None:
                return self._propose(correction)
            if u.intent is Intent.AFFIRM:
                return self._callback_confirmed("callback time confirmed")
            self._proposed = None
            if u.intent in (Intent.DENY, Intent.UNSURE, Intent.CALLBACK):
                self._asked_when = True
                return Turn([self._engine("callback_when")], why="callback time refused: asking when")
            return None
        if self._asked_when:
            self._asked_when = False
            proposal = propose(u.text, self.clock())
            if proposal is not None:
                return self._propose(proposal)
            if u.intent in (Intent.CALLBACK, Intent.AFFIRM, Intent.UNSURE, Intent.DENY):
                return self._end([self._engine("callback")], CallResult.CALLBACK_REQUESTED, "callback, no time")
            return None
        if self._offered_way_out:
            self._offered_way_out = False
            if u.intent in (Intent.CALLBACK, Intent.AFFIRM) and (proposal := propose(u.text, self.clock())):
                return self._propose(proposal)
            if u.intent in (Intent.CALLBACK, Intent.AFFIRM):
                return self._end([self._engine("callback")], CallResult.CALLBACK_REQUESTED, "irritated: callback")
            if u.intent in (Intent.DENY, Intent.OBJECTION, Intent.UNSURE):
                self.record.refused = True
                return self._end([self._engine("goodbye_refused")], CallResult.NOT_INTERESTED, "irritated: end")
        return None

    def _opt_out(self, why: str) -> Turn:
        self.record.opted_out = True
        return self._end([self._engine("opt_out")], CallResult.OPTED_OUT, why)

    def _propose(self, proposal: Proposal) -> Turn:
        self._proposed = proposal
        line = Line(proposal.question(self.clock()), "engine:callback_confirm")  # words depend on the time
        moved = "" if proposal.legal else " (moved into legal hours)"
        return Turn([line], why=f"callback {proposal.at.isoformat()}{moved}")

    def _callback_confirmed(self, why: str) -> Turn:
        proposal, self._proposed = self._proposed, None
        assert proposal is not None
        self.record.callback_at = proposal.at
        line = Line(proposal.confirmed(self.clock()), "engine:callback_confirmed")
        return self._end([line], CallResult.CALLBACK_REQUESTED, why)

    async def _respond(self, u: Understanding) -> Turn:
        step, settings = self.step, self.scenario.settings
        if u.intent is Intent.OPT_OUT:  # legal weight: honoured whatever the step maps
            self.record.opt_out_request, self.record.opt_out_question, self.record.opt_out_confirmation = u.text, "", ""
            if u.confirm:  # "stop", a conditional request: ask rather than decide
                self._asked_opt_out = True
                question = self._engine("confirm_opt_out")
                self.record.opt_out_question = question.text
                return Turn([question], why="opt-out to confirm")
            return self._opt_out("do-not-call request")
        if u.objection in REFUSALS or (u.intent is Intent.DENY and self._deny_ends_as_refusal()):
            self.record.refused = True
        elif u.intent is Intent.AFFIRM:
            self.record.refused = False  # "ah si, finalement ça m'intéresse": no refusal any more
        if (u.sentiment == "irritated" and settings.on_irritated == "apologise" and not self._apologised
                and u.intent not in (Intent.CALLBACK, Intent.TRANSFER)):
            # Not the next sales question: a short apology, and a callback or an end offered.
            self._apologised = self._offered_way_out = True
            return Turn([self._engine("irritated")], why="irritated caller: apology, way out offered")
        if self.record.turns > settings.max_turns:
            return self._enter(self._wrap_up_step(), lead=[self._engine("max_turns")], why="max turns")
        mapped = step.intent_mapping.get(u.intent.value)
        if mapped:
            return self._leave(u, mapped)
        if u.intent is Intent.REPEAT:
            return Turn(self._step_lines(step), why="repeat")
        if u.intent is Intent.TRANSFER:
            target = next((n for n, s in self.scenario.steps.items() if s.transfer), None)
            if target:
                return self._enter(target, why="asked for a human")
            return self._end(
                [self._engine("no_transfer")], CallResult.CALLBACK_REQUESTED, "asked for a human, none here"
            )
        if u.intent is Intent.CALLBACK:
            proposal = propose(u.text, self.clock())
            if proposal is not None:  # said back aloud, a correction taken
                return self._propose(proposal)
            return self._end([self._engine("callback")], CallResult.CALLBACK_REQUESTED, "callback")
        if u.objection and u.objection == self._last_aside:
            # The same objection again after its answer: the caller means it. Take their "no"
            # path rather than argue a second time.
            target = step.intent_mapping.get(Intent.DENY.value) or step.intent_mapping.get(DEFAULT_KEY)
            target = target or self.scenario.next_on_rail(self.step_name)
            if target is not None:
                return self._leave(u, target, why=f"{u.objection} again → {target}")
        aside = u.intent in (Intent.OBJECTION, Intent.QUESTION) or step.freestyle
        if aside and self._autonomous < settings.max_autonomous_turns:
            self._autonomous += 1
            return await self._answer_aside(u)
        target = step.intent_mapping.get(DEFAULT_KEY) or self.scenario.next_on_rail(self.step_name)
        if target is None:  # validation forbids it; stay safe if a scenario slipped through
            return self._end([], CallResult.NOT_QUALIFIED, f"step {self.step_name!r} leads nowhere")
        return self._leave(u, target)

    async def _answer_aside(self, u: Understanding) -> Turn:
        """Answer an objection or a question, then bring the caller back to this step's question."""
        entry = None
        if u.objection and self.library is not None and u.score >= ANSWER_AT:
            try:
                entry = self.library.by_id(u.objection)
            except KeyError:
                log.warning("objection %r is not in this scenario's library", u.objection)
        answer: Line | None = None
        self._last_aside = entry.id if entry is not None else None
        if entry is not None:
            self.record.objections.append(entry.id)
            if u.score >= CONFIDENT_AT:
                answer = Line(render(entry.answer, self.values), f"objection:{entry.id}")
        if answer is None and self.freestyle is not None:
            text = await self.freestyle(u.text, self.step.freestyle, entry.answer if entry else None, self.history[-5:])
            if text:
                self.record.freestyle_turns += 1
                answer = Line(text, "freestyle")
        if answer is None and entry is not None:
            answer = Line(render(entry.answer, self.values), f"objection:{entry.id}")
        if answer is None:
            key = "question_later" if u.intent is Intent.QUESTION else "not_understood"
            answer = self._engine(key)
        lines = [answer]
        if self.rail_returns is not None:
            lead_in = self.rail_returns.pick(self.rng)
            lines.append(Line(lead_in.text, f"rail_return:{lead_in.id}"))
        lines += self._ask_again_lines(self.step)
        return Turn(lines, why=f"aside ({entry.id if entry else u.intent.value})")

    def _deny_ends_as_refusal(self) -> bool:
        target = self.step.intent_mapping.get(Intent.DENY.value)
        return target is not None and self.scenario.steps[target].result is CallResult.NOT_INTERESTED

    def _wrap_up_step(self) -> str:
        """Where a conversation that ran too long ends, this turn: the end step the rail's
        qualification check leads to (so the result reflects what the caller said), else the
        rail's last step (an end step, validation makes sure)."""
        steps = self.scenario.steps
        for name in reversed(self.scenario.rail):
            check = steps[name]
            if check.check:
                qualified = self.record.qualification >= self.scenario.settings.qualification_threshold
                branch = check.qualified if qualified else check.not_qualified
                if branch and steps[branch].result:
                    return branch
                break
        return self.scenario.rail[-1]

    def _leave(self, u: Understanding, target: str, *, why: str = "") -> Turn:
        self._score(u)
        return self._enter(target, why=why or f"{u.intent.value} → {target}")

    def _score(self, u: Understanding) -> None:
        step = self.step
        if step.score and self.step_name not in self._scored:
            self._scored.add(self.step_name)
            self.record.points += max(0, step.score.get(u.intent.value, 0))
            self.record.max_points += max(max(step.score.values()), 0)

    def _enter(self, name: str, *, lead: list[Line] | None = None, why: str = "") -> Turn:
        lines = list(lead or [])
        for _ in range(len(self.scenario.steps)):  # checks chain; a loop of checks cannot spin
            step = self.scenario.steps[name]
            self.step_name = name
            self._autonomous = 0
            self._last_aside: str | None = None
            self.record.steps.append(name)
            if step.check == "qualification":
                qualified = self.record.qualification >= self.scenario.settings.qualification_threshold
                name = step.qualified if qualified else step.not_qualified  # type: ignore[assignment]
                continue
            lines += self._step_lines(step)
            if step.result:
                return self._end(lines, step.result, why)
            return Turn(lines, transfer=step.transfer, end=CallResult.TRANSFERRED if step.transfer else None, why=why)
        raise RuntimeError(f"qualification checks loop at {name!r}")

    def _end(self, lines: list[Line], result: CallResult, why: str) -> Turn:
        self.record.result = result
        return Turn(lines, end=result, why=why)

    def _step_lines(self, step: Step) -> list[Line]:
        text = render(step.say, self.values) if step.say else ""
        return [Line(text, f"step:{self.step_name}", self._audio(step.audio))]

    def _ask_again_lines(self, step: Step) -> list[Line]:
        """What brings the caller back to the step: its `ask_again`, else its line, except the
        greeting's: after "vous êtes un robot ?" the bot answers and asks "Vous avez une petite
        minute ?", it does not introduce itself twice. (Elsewhere a question often points back
        at the sentence before it, "ce créneau vous conviendrait ?": the whole line is safer.)"""
        if step.ask_again:
            return [Line(render(step.ask_again, self.values), f"ask_again:{self.step_name}")]
        text = render(step.say, self.values) if step.say and not step.audio else ""
        question = last_question(text) if step.disclosure else text
        if question == text:
            return self._step_lines(step)
        return [Line(question, f"ask_again:{self.step_name}")]

    def _engine(self, key: str) -> Line:
        return Line(render(engine_line(self.scenario.lines, key), self.values), f"engine:{key}")

    def _audio(self, relative: str | None) -> Path | None:
        if not relative:
            return None
        return (self.base_dir / relative) if self.base_dir else Path(relative)
