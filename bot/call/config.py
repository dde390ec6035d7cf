"""What a call needs to know about its surroundings (built from Settings)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..speech.bargein import BargeInConfig
from ..speech.turn import TurnConfig
from ..speech.vad import VadConfig
from .interruption import InterruptionTiming


@dataclass(frozen=True)
class CallConfig:
    # Where Asterisk reaches our AudioSocket server (host:port as Asterisk sees it).
    audiosocket_address: str
    # How a number becomes an endpoint: "PJSIP/{number}@trunk"; a number that already
    # looks like an endpoint (Local/..., PJSIP/...) is dialled as is.
    endpoint_template: str = "PJSIP/{number}@trunk"
    caller_id: str | None = None
    ring_timeout: int = 30  # seconds of ringing before cause 19
    media_timeout: float = 3.0  # externalMedia -> AudioSocket UUID
    amd_context: str = "minibot-amd"
    record: bool = True
    max_call_seconds: int = 600
    vad: VadConfig = field(default_factory=VadConfig)
    barge_in: BargeInConfig = field(default_factory=BargeInConfig)
    turn: TurnConfig | None = None  # end-of-turn rules (words, Smart Turn v3.2 if enabled); None: the defaults
    interruptions: InterruptionTiming = field(default_factory=InterruptionTiming)  # a backchannel never stops the line

    def endpoint_for(self, number: str) -> str:
        return number if "/" in number else self.endpoint_template.format(number=number)
