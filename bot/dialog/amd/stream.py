"""The AMD transcript layer while the callee's greeting is still coming.

The call feeds it what the listen path produces in the first seconds (partial and final
transcripts, utterance durations, how long the callee has been silent) and Asterisk's verdict
when it arrives, and asks `verdict_so_far()` after each: a verdict as soon as one is safe,
None while it is too early.

* A strong voicemail / network phrase decides "machine" at once, even in a partial transcript
  ("bonjour vous êtes bien sur la messagerie de..."): the call can stop listening and hang up or
  wait for the beep. "machine" is final once given.
* A short greeting ("allô ?", "oui bonjour", a name) followed by `human_pause_ms` of silence
  decides "human": the person is waiting for the caller to speak, and the bot greets.
* A longer greeting is judged when it ends, once Asterisk has answered, or after
  `decide_pause_ms` of silence (a recorded greeting pauses for less than a second, then beeps).
* "human" is provisional: if the greeting goes on and shows a strong voicemail phrase (a
  recorded "allô ?... ah non, c'est mon répondeur"), the next answer is "machine".

The layer keeps no clock: durations come from the caller (the listen path knows them), which
keeps it deterministic and testable.
"""

from __future__ import annotations

from .classifier import MACHINE_THRESHOLD, AmdEvidence, AmdVerdict, assess, decide


class AmdTranscriptLayer:
    def __init__(self, *, human_pause_ms: int = 600, decide_pause_ms: int = 1500) -> None:
        self.human_pause_ms = human_pause_ms
        self.decide_pause_ms = decide_pause_ms
        self._finals: list[str] = []
        self._partial = ""
        self._speech_ms = 0  # finished utterances
        self._utterance_ms = 0  # the utterance in progress, as far as known
        self._speaking = False
        self._silence_ms = 0
        self._amd: tuple[str | None, str | None] | None = None
        self._machine: AmdVerdict | None = None

    # ---- feeding -------------------------------------------------------------------------

    def partial(self, text: str, speech_ms: int | None = None) -> AmdVerdict | None:
        """A partial transcript of the utterance in progress (replaces the previous partial);
        `speech_ms`: how long this utterance has lasted so far, when known."""
        self._partial = text.strip()
        self._speaking = True
        self._silence_ms = 0
        if speech_ms is not None:
            self._utterance_ms = max(0, speech_ms)
        return self.verdict_so_far()

    def final(self, text: str, speech_ms: int) -> AmdVerdict | None:
        """The final transcript of one utterance and its duration (ms of speech)."""
        if text.strip():
            self._finals.append(text.strip())
        self._speech_ms += max(0, speech_ms, self._utterance_ms)
        self._partial = ""
        self._utterance_ms = 0
        self._speaking = False
        self._silence_ms = 0
        return self.verdict_so_far()

    def silence(self, ms: int) -> AmdVerdict | None:
        """The callee has been silent for `ms` since the end of their last utterance (or since
        the answer, before any speech). Absolute, not an increment."""
        if not self._speaking:
            self._silence_ms = max(0, ms)
        return self.verdict_so_far()

    def amd(self, status: str | None, cause: str | None) -> AmdVerdict | None:
        """Asterisk's AMDSTATUS / AMDCAUSE, from the AMD snoop's second StasisStart."""
        self._amd = (status, cause)
        return self.verdict_so_far()

    # ---- reading -------------------------------------------------------------------------

    def evidence(self) -> AmdEvidence:
        parts = [*self._finals, self._partial] if self._partial else self._finals
        status, cause = self._amd or (None, None)
        return AmdEvidence(" ".join(parts), self._speech_ms + self._utterance_ms, status, cause)

    def verdict_so_far(self) -> AmdVerdict | None:
        """A verdict as soon as one is safe (see the module), else None."""
        if self._machine is not None:
            return self._machine
        assessment = assess(self.evidence())
        verdict = decide(assessment)
        if verdict.is_machine and assessment.transcript_net >= MACHINE_THRESHOLD:
            return self._latch(verdict)  # what was said is enough, whatever else comes
        if self._speaking:
            return None
        heard = bool(self._finals) or self._speech_ms > 0
        if self._amd is not None and (heard or self._silence_ms >= self.human_pause_ms):
            return self._latch(verdict)
        if not heard:
            return None  # nothing said yet: wait for speech, Asterisk, or the call's own timeout
        if self._silence_ms >= self.human_pause_ms and assessment.short_greeting and not verdict.is_machine:
            return verdict
        if self._silence_ms >= self.decide_pause_ms:
            return self._latch(verdict)
        return None

    def verdict(self) -> AmdVerdict:
        """The verdict now, whatever is missing (the call's timeout, or its end)."""
        if self._machine is not None:
            return self._machine
        return self._latch(decide(assess(self.evidence())))

    def _latch(self, verdict: AmdVerdict) -> AmdVerdict:
        if verdict.is_machine:
            self._machine = verdict
        return verdict
