"""Rehearsing a scenario in text: the operator plays the caller, the scenario engine answers exactly as
it would on a call (same brain: classifier, objection library, steps, scoring), without a phone.

    rehearsal = Rehearsal(brain, {"first_name": "Marie"})
    for event in rehearsal.start(): ...
    for event in await rehearsal.say("oui bien sûr"): ...   # or rehearsal.silence(), rehearsal.hang_up()
"""

from __future__ import annotations

from dataclasses import dataclass

from .brain import Brain
from .scenario.engine import Turn
from .scenario.model import CallResult


@dataclass(frozen=True)
class Said:
    """A line of the bot, and the step it belongs to."""

    text: str
    step: str
    source: str  # step:<name>, objection:<id>, engine:<key>, freestyle...


@dataclass(frozen=True)
class Heard:
    """What the bot understood of the caller's words."""

    text: str
    intent: str
    objection: str | None
    score: float
    source: str
    sentiment: str | None = None  # how the caller sounded (bot.dialog.nlu.sentiment)


@dataclass(frozen=True)
class Ended:
    result: str
    steps: tuple[str, ...]
    qualification: float | None  # None when the scenario scores nothing
    points: int
    max_points: int


Event = Said | Heard | Ended


class Rehearsal:
    def __init__(self, brain: Brain, values: dict[str, str] | None = None) -> None:
        self.brain = brain
        self.run = brain.new_run(values or {})
        self.ended: Ended | None = None

    def start(self) -> list[Event]:
        return self._turn(self.run.start())

    async def say(self, text: str) -> list[Event]:
        self._check()
        understood = await self.brain.classifier.understand(text)
        heard = Heard(text, understood.intent.value, understood.objection, round(understood.score, 2),
                      understood.source, understood.sentiment)
        return [heard, *self._turn(await self.run.hear(understood))]

    def silence(self) -> list[Event]:
        self._check()
        return self._turn(self.run.silence())

    def hang_up(self) -> list[Event]:
        """The caller hangs up: the result a call gets then (HUNG_UP, with the steps reached)."""
        self._check()
        return [self._end(CallResult.HUNG_UP)]

    def _check(self) -> None:
        if self.ended is not None:
            raise RuntimeError("the rehearsal is over")

    def _turn(self, turn: Turn) -> list[Event]:
        step = self.run.step_name
        events: list[Event] = [Said(line.text, step, line.key) for line in turn.lines]
        if turn.transfer:
            events.append(self._end(CallResult.TRANSFERRED))  # no agent on a rehearsal
        elif turn.end is not None:
            events.append(self._end(turn.end))
        return events

    def _end(self, result: CallResult) -> Ended:
        record = self.run.record
        self.ended = Ended(result.value, tuple(record.steps), record.qualification if record.max_points else None,
                           record.points, record.max_points)
        return self.ended
