"""Prometheus metrics, on one registry that `/metrics` exposes.

No label names a call, a contact or a campaign: a label value is a time series for the life of
the process, so labels only take small closed sets (outcome, result, AMD verdict); a value
outside its set is counted as "other". Per-call detail lives in the database (calls, call_events).

Where each figure is observed:
- counters of a call's ending (outcome, result, AMD verdict, freestyle turns, objections matched):
  once, when the call ends (`observe_call_end`, from `Call.run`; the dialer counts the calls that
  never ran, or were cut off, as failed/interrupted);
- barge-ins, their reaction time and false barge-ins: live, as the listen path reports them
  (`BargeInWatch`, fed by the call's listen-event pump);
- ASR latency (the listener), intent latency (the scenario conversation), turn latency (the call,
  on the bot's next PlaybackStarted), TTS render time (the voice, on a cache miss): as they happen;
- campaigns and calls active: gauges read from the database (`refresh_campaign_gauges`), so that
  every process of a scaled-out deployment reports the same, whole figure.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

import asyncpg
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ..call.outcome import Outcome
from ..dialog.scenario.model import CallResult
from ..speech import events as sev

if TYPE_CHECKING:
    from ..call.call import CallRecord

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

OUTCOMES = (*(o.value for o in Outcome), "interrupted")
RESULTS = tuple(r.value for r in CallResult)
VERDICTS = ("human", "machine")
OTHER = "other"

# -- gauges ------------------------------------------------------------------------------------

CAMPAIGNS_ACTIVE = Gauge("minibot_campaigns_active", "Campaigns in the RUNNING state (database-wide).",
                         registry=REGISTRY)
CALLS_ACTIVE = Gauge("minibot_calls_active", "Calls DIALING or IN_PROGRESS (database-wide, every worker).",
                     registry=REGISTRY)
CALLS_IN_PROCESS = Gauge("minibot_calls_in_process", "Calls this process is running now (its share of the load).",
                         registry=REGISTRY)

# -- counters ----------------------------------------------------------------------------------

CALLS = Counter("minibot_calls", "Calls ended, by outcome (answered, busy, no_answer, ..., interrupted).",
                ["outcome"], registry=REGISTRY)
CALL_RESULTS = Counter("minibot_call_results", "Conversations concluded, by the scenario's result.",
                       ["result"], registry=REGISTRY)
AMD_VERDICTS = Counter("minibot_amd_verdicts", "Answered calls judged human or machine (Asterisk AMD and the "
                       "transcript layer together).", ["verdict"], registry=REGISTRY)
FREESTYLE_TURNS = Counter("minibot_freestyle_turns", "Bot turns answered by the freestyle LLM.", registry=REGISTRY)
OBJECTIONS_MATCHED = Counter("minibot_objections_matched", "Caller objections matched in the objection library.",
                             registry=REGISTRY)
BARGE_INS = Counter("minibot_barge_ins", "Prompts interrupted by the caller's voice.", registry=REGISTRY)
FALSE_BARGE_INS = Counter("minibot_false_barge_ins", "Barge-ins after which the caller said no word (the utterance "
                          "the barge-in opened was transcribed empty): echo or noise taken for speech.",
                          registry=REGISTRY)

for _value in OUTCOMES:  # every series exists from the start: rates need no "absent" special case
    CALLS.labels(_value)
for _value in RESULTS:
    CALL_RESULTS.labels(_value)
for _value in VERDICTS:
    AMD_VERDICTS.labels(_value)

# -- histograms (seconds; buckets around each budget of DESIGN.md) -----------------------------

ASR_LATENCY = Histogram(
    "minibot_asr_latency_seconds", "The caller's last voiced audio to the final transcript (VAD end-of-speech "
    "wait included).", registry=REGISTRY,
    buckets=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0))
INTENT_LATENCY = Histogram(
    "minibot_intent_latency_seconds", "Classifying one caller answer (intent and objection match, LLM fallback "
    "included).", registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0))
TURN_LATENCY = Histogram(
    "minibot_turn_latency_seconds", "The caller's end of speech to the bot's next audio (budget 0.6 s).",
    registry=REGISTRY, buckets=(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0))
BARGE_IN_REACTION = Histogram(
    "minibot_barge_in_reaction_seconds", "The caller's speech onset over a prompt to the prompt stopped "
    "(budget 0.15 s).", registry=REGISTRY,
    buckets=(0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 1.0))
TTS_RENDER = Histogram(
    "minibot_tts_render_seconds", "Synthesising one line on a cache miss (synthesis, ambience, cache write).",
    registry=REGISTRY, buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0))


def _closed(value: str, allowed: Iterable[str]) -> str:
    return value if value in allowed else OTHER


# -- call end ----------------------------------------------------------------------------------

def observe_call_end(record: CallRecord) -> None:
    """Count what a finished call's record says. Called once per call (``Call.run``; the dialer
    for records of calls that never ran). Barge-ins are not counted here: `BargeInWatch` counts
    them live."""
    outcome = record.outcome.value if record.outcome is not None else Outcome.FAILED.value
    CALLS.labels(_closed(outcome, OUTCOMES)).inc()
    if record.result is not None:
        CALL_RESULTS.labels(_closed(record.result, RESULTS)).inc()
    if record.amd_verdict is not None:
        AMD_VERDICTS.labels(_closed(record.amd_verdict, VERDICTS)).inc()
    if record.freestyle_turns:
        FREESTYLE_TURNS.inc(record.freestyle_turns)
    if record.objections:
        OBJECTIONS_MATCHED.inc(len(record.objections))


def observe_interrupted() -> None:
    """A call cut off before it could end (worker stopped, dialer error): it has no record."""
    CALLS.labels("interrupted").inc()


# -- barge-ins ---------------------------------------------------------------------------------

class BargeInWatch:
    """Counts one call's barge-ins and judges each one false or real, from its listen events.

    Definition: a barge-in is false when the utterance it opened brings no word, that is when the
    first final transcript of speech that ended after the barge-in onset is empty. The live path
    has no ground truth (bench.media has one: where the caller really spoke); what it can know is
    whether the recogniser heard words. A fixed delay ("no transcript within 2 s") was not used: an
    offline recogniser (Whisper) only transcribes once the caller stops, so a real interruption of
    a long sentence would count as false. A barge-in still open when the media closes (the
    recogniser failed on it) is not judged.
    """

    def __init__(self) -> None:
        self._open: list[float] = []  # onsets of barge-ins not judged yet

    def barged(self, event: sev.BargeInDetected, stopped_at: float) -> None:
        """The call stopped its prompt at ``stopped_at`` (monotonic) for this barge-in."""
        BARGE_INS.inc()
        BARGE_IN_REACTION.observe(max(0.0, stopped_at - event.at))
        self._open.append(event.at)

    def heard(self, event: object) -> None:
        """Every other listen event of the call, in order."""
        if not self._open or not isinstance(event, sev.FinalTranscript):
            return
        ended = event.speech_ended_at or event.at
        judged = [onset for onset in self._open if onset <= ended]
        if not judged:
            return  # the end of an utterance older than the barge-in (a slow recogniser)
        self._open = [onset for onset in self._open if onset > ended]
        if not event.text.strip():
            FALSE_BARGE_INS.inc(len(judged))

    @property
    def pending(self) -> int:
        return len(self._open)


# -- database gauges ---------------------------------------------------------------------------

async def refresh_campaign_gauges(pool: asyncpg.Pool) -> tuple[int, int]:
    """Set the campaigns/calls active gauges from the database; returns (campaigns, calls)."""
    row = await pool.fetchrow(
        """SELECT (SELECT count(*) FROM campaigns WHERE status = 'RUNNING') AS campaigns,
                  (SELECT count(*) FROM calls WHERE status IN ('DIALING', 'IN_PROGRESS')) AS calls""")
    CAMPAIGNS_ACTIVE.set(row["campaigns"])
    CALLS_ACTIVE.set(row["calls"])
    return row["campaigns"], row["calls"]


async def refresh_campaign_gauges_every(pool: asyncpg.Pool, seconds: float = 5.0) -> None:
    """Keep the database gauges fresh until cancelled (a task of `minibot serve`); a database
    outage leaves the last figures and one warning per failure."""
    while True:
        try:
            await refresh_campaign_gauges(pool)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            log.warning("metrics: cannot read the active campaigns and calls (%s)", exc)
        await asyncio.sleep(seconds)
