"""AudioSocket (Asterisk 22): wire codec, per-call sessions, paced outbound audio, TCP server."""

from .codec import (
    AUDIO_RATES,
    Decoder,
    Kind,
    Limits,
    Message,
    ProtocolError,
    encode,
    encode_audio,
    encode_uuid,
)
from .server import AudioSocketServer, ServerTimeouts
from .session import AudioFrame, AudioSocketSession, Closed, DtmfDigit, Subscription

__all__ = [
    "AUDIO_RATES",
    "AudioFrame",
    "AudioSocketServer",
    "AudioSocketSession",
    "Closed",
    "Decoder",
    "DtmfDigit",
    "Kind",
    "Limits",
    "Message",
    "ProtocolError",
    "ServerTimeouts",
    "Subscription",
    "encode",
    "encode_audio",
    "encode_uuid",
]
