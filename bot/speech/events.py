"""What the listen path tells the rest of a call. Plain dataclasses, passed on a queue."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    at: float  # monotonic time the caller's voice began (first voiced frame)
    confirmed_at: float


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    at: float  # end of the last voiced frame
    detected_at: float  # when the silence that ends it was long enough
    duration: float


@dataclass(frozen=True, slots=True)
class PartialTranscript:
    text: str
    at: float


@dataclass(frozen=True, slots=True)
class FinalTranscript:
    text: str
    at: float
    speech_duration: float
    asr_latency: float  # end-of-speech decision -> this text, seconds
    speech_ended_at: float = 0.0  # monotonic: the utterance's last voiced audio


@dataclass(frozen=True, slots=True)
class BargeInDetected:
    at: float  # caller onset over the prompt
    confirmed_at: float
    echo_delay_ms: float | None


@dataclass(frozen=True, slots=True)
class BeepDetected:
    at: float  # when the tone ended: a voicemail is recording from here
    frequency: float


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    digit: str
    at: float


@dataclass(frozen=True, slots=True)
class MediaClosed:
    reason: str


ListenEvent = (
    SpeechStarted
    | SpeechEnded
    | PartialTranscript
    | FinalTranscript
    | BargeInDetected
    | BeepDetected
    | DtmfReceived
    | MediaClosed
)
