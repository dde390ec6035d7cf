"""The scenario format: a campaign conversation as a state machine, read from YAML.

A scenario names who speaks (agent, company, personality), what the call is for (objective,
context, fact sheet), the rail (the ordered main path), and its steps. A step says a line (text
with {{variables}}, or a pre-recorded file), maps the caller's intent to the next step, may score
lead qualification, may branch on the score, and may end the call with a result.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.i18n import _

from ..intents import Intent


class CallResult(StrEnum):
    QUALIFIED = "QUALIFIED"
    NOT_INTERESTED = "NOT_INTERESTED"
    NOT_QUALIFIED = "NOT_QUALIFIED"
    CALLBACK_REQUESTED = "CALLBACK_REQUESTED"
    APPOINTMENT_SCHEDULED = "APPOINTMENT_SCHEDULED"
    # Set by the engine, not by end steps:
    NO_ANSWER = "NO_ANSWER"  # two silences in a row, or nobody said anything
    OPTED_OUT = "OPTED_OUT"  # do-not-call request (kept as evidence by the campaign store)
    TRANSFERRED = "TRANSFERRED"
    ANSWERING_MACHINE = "ANSWERING_MACHINE"  # hung up on a machine
    VOICEMAIL_LEFT = "VOICEMAIL_LEFT"
    HUNG_UP = "HUNG_UP"  # the person hung up before the script concluded (the call's steps say where)


END_RESULTS = (
    CallResult.QUALIFIED,
    CallResult.NOT_INTERESTED,
    CallResult.NOT_QUALIFIED,
    CallResult.CALLBACK_REQUESTED,
    CallResult.APPOINTMENT_SCHEDULED,
)
PERSONALITIES = ("professionnel", "doux", "dynamique", "assertif", "expert", "commercial", "consultatif")
# Filled from the scenario itself; every other {{name}} must be declared in `variables`.
BUILTIN_VARIABLES = ("agent_name", "company_name")
# intent_mapping keys besides the intents: where to go when no mapped intent applies.
DEFAULT_KEY = "default"
DTMF_KEYS = "0123456789*#"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Step(_Strict):
    say: str | None = None  # the line, with {{variables}}
    # What brings the caller back to this step after an answered objection or a silence (default:
    # the line again; on the greeting, its question alone, from its last sentence that asks one).
    ask_again: str | None = None
    audio: str | None = None  # a pre-recorded file to play instead (relative to the scenario file)
    disclosure: bool = False  # this line tells the caller they speak with an automated assistant
    intent_mapping: dict[str, str] = Field(default_factory=dict)  # intent (or "default") → step
    # a key the caller presses → the intent it stands for ("tapez 1 pour être rappelé": {"1": callback})
    dtmf: dict[str, str] = Field(default_factory=dict)
    score: dict[str, int] = Field(default_factory=dict)  # intent → qualification points
    check: Literal["qualification"] | None = None  # branch on the score, says nothing
    qualified: str | None = None
    not_qualified: str | None = None
    freestyle: str | None = None  # context for LLM answers to whatever the caller says at this step
    transfer: bool = False  # after the line, hand the caller to an agent
    result: CallResult | None = None  # an end step: say the line, hang up with this result
    # The caller is asked to dictate this (a number, an address, a postcode, a date): the end of
    # their turn waits longer between groups of digits (bot.speech.turn).
    dictation: Literal["phone", "email", "postcode", "date"] | None = None

    @model_validator(mode="after")
    def _shape(self) -> Step:
        if self.dictation and (self.check or self.result or self.transfer):
            raise ValueError(_("'dictation' est pour une étape qui écoute la réponse de la personne, pas un check, "
                               "une étape de fin ou un transfert"))
        if self.check:
            if not (self.qualified and self.not_qualified):
                raise ValueError(_("un check de qualification a besoin de 'qualified' et de 'not_qualified'"))
            if self.say or self.audio or self.intent_mapping:
                raise ValueError(_("un check de qualification ne dit rien et n'a pas d'intent_mapping"))
        elif not (self.say or self.audio):
            raise ValueError(_("une étape a besoin de 'say' ou de 'audio' (ou bien c'est un 'check')"))
        if self.result and self.result not in END_RESULTS:
            raise ValueError(_("le result d'une étape de fin est l'un de : {results}").format(
                results=", ".join(END_RESULTS)))
        if self.result and (self.intent_mapping or self.transfer):
            raise ValueError(_("une étape de fin raccroche : ni intent_mapping ni transfer"))
        if self.ask_again is not None and (self.check or self.result or not self.ask_again.strip()):
            raise ValueError(_("'ask_again' est la question qu'une étape qui écoute repose : ni vide, ni sur un "
                               "check ou une étape de fin"))
        if self.dtmf and (self.check or self.result):
            raise ValueError(_("seule une étape qui attend une réponse associe des touches ('dtmf')"))
        for key, intent in self.dtmf.items():
            if key not in DTMF_KEYS:
                raise ValueError(_("touche dtmf {key!r} : l'une de {keys}").format(key=key, keys=DTMF_KEYS))
            Intent.parse(intent)  # says which intents exist
        return self

    @property
    def is_end(self) -> bool:
        return self.result is not None or self.transfer


class Settings(_Strict):
    qualification_threshold: float = Field(0.7, gt=0, le=1)  # share of the points available
    max_turns: int = Field(20, ge=1)  # caller turns before the bot wraps up
    max_autonomous_turns: int = Field(2, ge=0)  # objection answers in a row before the rail resumes
    max_silences: int = Field(2, ge=1)  # consecutive silences that end the call as no-answer
    silence_timeout: float = Field(6.0, gt=0)  # seconds without speech that count as one silence
    # An irritated caller (bot.dialog.nlu.sentiment): "apologise" says the engine's `irritated` line
    # (a short apology, a callback or an end offered) instead of the next question; "continue" goes on.
    on_irritated: Literal["apologise", "continue"] = "apologise"


class Voicemail(_Strict):
    say: str | None = None
    audio: str | None = None

    @model_validator(mode="after")
    def _one(self) -> Voicemail:
        if not (self.say or self.audio):
            raise ValueError(_("un message de répondeur a besoin de 'say' ou de 'audio'"))
        return self


class Scenario(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    agent_name: str
    company_name: str
    objective: Literal["appointment", "lead", "transfer"]
    personality: Literal[PERSONALITIES] = "professionnel"  # type: ignore[valid-type]
    themes: list[str] = Field(default_factory=list)  # objection themes besides general and standard
    recorded: bool = False  # the call is recorded: the first line must say so
    context: str = ""  # what the campaign is about, for freestyle answers
    facts: list[str] = Field(default_factory=list)  # the only facts a freestyle answer may state
    variables: list[str] = Field(default_factory=list)  # per-contact values the lines use
    # Names callers may say that a recogniser has never heard (a product, a town, an advisor):
    # with the agent's and company's names they bias recognition (bot.speech.asr.vocabulary).
    vocabulary: list[str] = Field(default_factory=list)
    settings: Settings = Field(default_factory=Settings)
    voicemail: Voicemail | None = None  # left after the beep; without it the bot hangs up on machines
    lines: dict[str, str] = Field(default_factory=dict)  # overrides of the engine's own lines (lines.py)
    rail: list[str] = Field(min_length=2)
    steps: dict[str, Step] = Field(min_length=2)

    @property
    def first_step(self) -> str:
        return self.rail[0]

    def next_on_rail(self, step: str) -> str | None:
        if step in self.rail:
            i = self.rail.index(step)
            return self.rail[i + 1] if i + 1 < len(self.rail) else None
        return None


MAPPING_KEYS = tuple(i.value for i in Intent) + (DEFAULT_KEY,)
