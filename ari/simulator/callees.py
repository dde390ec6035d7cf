"""Scripted called parties: what answers (or does not) when the simulator dials an endpoint.

Times are seconds, multiplied by the simulator's ``time_scale`` (audio itself always plays in
real time). Utterances are speech clips: a fixture name from the speech folder (``"allo"``
-> ``allo_16k.wav``) or a path to a mono 16-bit WAV.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Say:
    """One utterance. When it starts:

    * default: ``at`` seconds after answer (``at=None``: right after the previous utterance);
    * ``after_prompt``: ``at`` seconds (default 0.4) after the bot's current prompt ends (the
      one playing when the previous utterance is over, else the next one): the caller answers
      the bot, even if the bot has queued more (then it talks over it);
    * ``after_turn``: ``at`` seconds (default 0.4) after the bot has said all it queued (the
      caller waits for the end of a several-sentence reply, its question included);
    * ``over_prompt``: ``at`` seconds (default 0.5) into the bot's current or next prompt
      (barge-in).
    """

    clip: str | Path
    at: float | None = None
    after_prompt: bool = False
    after_turn: bool = False
    over_prompt: bool = False
    gain_db: float = 0.0

    def __post_init__(self) -> None:
        if self.after_prompt + self.after_turn + self.over_prompt > 1:
            raise ValueError("a Say is after_prompt, after_turn or over_prompt: one of them at most")


@dataclass
class Callee:
    """Base: ``ring`` seconds of ringing (Dial RINGING) before the outcome. ``media_wait``: seconds
    after the answer before the party's script starts (a Local channel's `;2` waits ~500 ms for media
    after Answer(), so every step of a `[callee-sim]` dialplan comes that much later)."""

    ring: float = 0.0
    media_wait: float = 0.0


@dataclass
class Human(Callee):
    """Answers and follows its script. ``hangup_after``: hangs up that long after answer.
    ``hangup_when_idle``: after its last utterance, hangs up once neither side has spoken
    for that long. Neither: stays on the line until the bot hangs up.

    ``echo_db``/``echo_delay_ms``: the line echo of what the bot plays (None: no echo).
    ``noise_dbfs``: a line noise floor (None: digital silence, as a Local channel gives).
    ``amd``/``amd_after``: the verdict Asterisk's AMD() returns on the AMD snoop (pattern C),
    that long after the snoop is continued into the AMD context. Left unset, they follow what the
    real Asterisk 22 answers with the project's asterisk/amd.conf (tests/live/test_conformance.py):
    a person who speaks within ``initial_silence`` is HUMAN-1000-1000 at ~3.0 s (1 s of silence
    after their greeting); one who says nothing is MACHINE/INITIALSILENCE-5000-5000 at 5.0 s;
    ``amd_direct`` and
    ``amd_direct_after``: the same when AMD runs on the caller channel itself (pattern A,
    facts §4.3: a short greeting gives NOTSURE/TOOLONG-5003 after 5 s).
    """

    utterances: list[Say] = field(default_factory=list)
    keys: list[tuple[float, str]] = field(default_factory=list)  # (s after answer, digits) it presses
    hangup_after: float | None = None
    hangup_when_idle: float | None = None
    echo_db: float | None = -12.0
    echo_delay_ms: float = 120.0
    noise_dbfs: float | None = None
    amd: tuple[str, str] | None = None
    amd_after: float | None = None
    amd_direct: tuple[str, str] = ("NOTSURE", "TOOLONG-5003")
    amd_direct_after: float = 5.0

    def amd_answer(self) -> tuple[str, str, float]:
        """(AMDSTATUS, AMDCAUSE, seconds after the snoop enters AMD())."""
        timed = [u for u in self.utterances if not (u.after_prompt or u.after_turn or u.over_prompt)]
        speaks = any((u.at or 0.0) < 5.0 for u in timed)
        status, cause, after = ("HUMAN", "HUMAN-1000-1000", 3.0) if speaks else \
            ("MACHINE", "INITIALSILENCE-5000-5000", 5.0)
        return (*(self.amd or (status, cause)), self.amd_after if self.amd_after is not None else after)


@dataclass
class Machine(Human):
    """A voicemail: its greeting ``greeting_at`` s after answer, a beep, then it records in
    silence and hangs up ``hangup_when_idle`` s after the bot stops talking."""

    greeting: str | Path = "messagerie"
    greeting_at: float = 0.3
    beep: bool = True
    hangup_when_idle: float | None = 3.0
    amd: tuple[str, str] | None = ("MACHINE", "MAXWORDS-6-5")  # amd.conf: maximum_number_of_words = 5
    amd_after: float | None = 3.4  # as the real Asterisk, on the French voicemail greeting
    amd_direct: tuple[str, str] = ("MACHINE", "LONGGREETING-1500-1500")
    amd_direct_after: float = 2.5


@dataclass
class Agent(Human):
    """A call-centre agent for transfers: answers after a short ring and stays silent until
    hung up."""

    ring: float = 0.5
    echo_db: float | None = None


@dataclass
class Failure(Callee):
    """Does not answer: the far end rejects the call with ``cause`` after ``ring`` s."""

    cause: int = 16


@dataclass
class Busy(Failure):
    cause: int = 17


@dataclass
class Congestion(Failure):
    cause: int = 34


@dataclass
class Rejected(Failure):
    cause: int = 21


@dataclass
class Unallocated(Failure):
    cause: int = 1


@dataclass
class NoAnswer(Callee):
    """Rings until the originate timeout (cause 19, no terminal Dial event)."""


DEFAULT_KINDS = ("human", "machine", "busy", "congestion", "reject", "noanswer", "unallocated", "agent", "hangup",
                 "dtmf")


LOCAL_MEDIA_WAIT = 0.5  # s: measured on Asterisk 22.11 (tests/live/test_conformance.py)


def default_callee(kind: str) -> Callee | None:
    """``Local/<kind>@callee-sim``: the default party behind each extension."""
    callee = {
        "human": lambda: Human(utterances=[Say("allo", at=0.4), Say("interesse", after_prompt=True)],
                               hangup_when_idle=4.0),
        "machine": Machine,
        "busy": Busy,
        "congestion": Congestion,
        "reject": Rejected,
        "noanswer": NoAnswer,
        "unallocated": Unallocated,
        "agent": Agent,
        # answers, says nothing, hangs up 2 s later (asterisk/extensions.conf: Answer, Wait(2), Hangup)
        "hangup": lambda: Human(hangup_after=2.0, echo_db=None),
        # Wait(1), SendDTMF(12#), Wait(3), Hangup: the first key ends ~0.2 s after SendDTMF starts
        "dtmf": lambda: Human(keys=[(1.2, "12#")], hangup_after=5.05, echo_db=None),
    }.get(kind, lambda: None)()
    return callee


def local_callee(kind: str) -> Callee | None:
    """``Local/<kind>@callee-sim`` as the real Asterisk runs it: the default party, its script
    starting after the Local channel's media wait."""
    callee = default_callee(kind)
    if isinstance(callee, Human):
        callee.media_wait = LOCAL_MEDIA_WAIT
    return callee
