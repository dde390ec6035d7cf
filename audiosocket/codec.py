"""AudioSocket wire codec, sans I/O (Asterisk 22: include/asterisk/res_audiosocket.h).

A message is ``[kind:1][length:2, big-endian][payload]``. Audio payloads are 16-bit signed
PCM in host order (little-endian on every platform Asterisk runs on). The decoder is fed raw
bytes and yields whole messages; it never touches a socket, so transport, tests and fuzzers
drive it the same way.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from enum import IntEnum

HEADER = struct.Struct(">BH")
MAX_PAYLOAD = 0xFFFF


class Kind(IntEnum):
    HANGUP = 0x00
    UUID = 0x01
    DTMF = 0x03
    SLIN8 = 0x10
    SLIN12 = 0x11
    SLIN16 = 0x12
    SLIN24 = 0x13
    SLIN32 = 0x14
    SLIN44 = 0x15
    SLIN48 = 0x16
    SLIN96 = 0x17
    SLIN192 = 0x18
    ERROR = 0xFF


AUDIO_RATES: dict[Kind, int] = {
    Kind.SLIN8: 8000,
    Kind.SLIN12: 12000,
    Kind.SLIN16: 16000,
    Kind.SLIN24: 24000,
    Kind.SLIN32: 32000,
    Kind.SLIN44: 44100,
    Kind.SLIN48: 48000,
    Kind.SLIN96: 96000,
    Kind.SLIN192: 192000,
}
KIND_FOR_RATE: dict[int, Kind] = {rate: kind for kind, rate in AUDIO_RATES.items()}
DTMF_DIGITS = frozenset(b"0123456789*#ABCD")


class ProtocolError(Exception):
    """The peer sent something AudioSocket does not allow; the connection must close."""


@dataclass(frozen=True, slots=True)
class Message:
    kind: Kind
    payload: bytes = b""

    @property
    def is_audio(self) -> bool:
        return self.kind in AUDIO_RATES

    @property
    def sample_rate(self) -> int:
        return AUDIO_RATES[self.kind]


def encode(kind: Kind, payload: bytes = b"") -> bytes:
    """Header and payload as one buffer, so a single write carries both (facts §1.4)."""
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"AudioSocket payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    return HEADER.pack(kind, len(payload)) + payload


def encode_uuid(call_uuid: uuid.UUID) -> bytes:
    return encode(Kind.UUID, call_uuid.bytes)


def encode_audio(pcm: bytes, sample_rate: int) -> bytes:
    try:
        kind = KIND_FOR_RATE[sample_rate]
    except KeyError:
        raise ValueError(f"no AudioSocket kind for {sample_rate} Hz") from None
    return encode(kind, pcm)


def encode_hangup() -> bytes:
    return encode(Kind.HANGUP)


@dataclass(frozen=True, slots=True)
class Limits:
    """What one inbound message may be. Anything else is a protocol error."""

    # 250 ms is far above any real frame (Asterisk sends 20 ms) and far below a flood.
    max_audio_ms: int = 250


class Decoder:
    """Incremental decoder: ``feed(data)`` returns the messages completed by ``data``.

    Validation happens here so every transport gets the same rules: unknown kind, an audio
    or DTMF message of length zero, a UUID that is not 16 bytes, an audio frame longer than
    ``limits.max_audio_ms``: each raises ProtocolError naming the problem.
    """

    def __init__(self, limits: Limits | None = None) -> None:
        self._limits = limits or Limits()
        self._buf = bytearray()
        self._need: tuple[Kind, int] | None = None  # header parsed, waiting for the payload

    @property
    def pending(self) -> int:
        """Bytes received but not yet part of a whole message (a stalled payload shows here)."""
        return len(self._buf)

    @property
    def mid_message(self) -> bool:
        return self._need is not None or bool(self._buf)

    def feed(self, data: bytes) -> list[Message]:
        self._buf += data
        out: list[Message] = []
        while True:
            if self._need is None:
                if len(self._buf) < HEADER.size:
                    return out
                raw_kind, length = HEADER.unpack_from(self._buf)
                kind = self._check_header(raw_kind, length)
                del self._buf[: HEADER.size]
                self._need = (kind, length)
            kind, length = self._need
            if len(self._buf) < length:
                return out
            payload = bytes(self._buf[:length])
            del self._buf[:length]
            self._need = None
            out.append(self._check_payload(kind, payload))

    def _check_header(self, raw_kind: int, length: int) -> Kind:
        try:
            kind = Kind(raw_kind)
        except ValueError:
            raise ProtocolError(f"unknown message kind 0x{raw_kind:02x} (length {length})") from None
        if kind is Kind.UUID and length != 16:
            raise ProtocolError(f"UUID message of {length} bytes, expected 16")
        if kind is Kind.DTMF and length != 1:
            raise ProtocolError(f"DTMF message of {length} bytes, expected 1")
        if kind in AUDIO_RATES:
            if length == 0:
                raise ProtocolError(f"audio message ({kind.name}) of length 0")
            cap = AUDIO_RATES[kind] * 2 * self._limits.max_audio_ms // 1000
            if length > cap:
                raise ProtocolError(
                    f"oversize audio message: {length} bytes of {kind.name} "
                    f"(more than {self._limits.max_audio_ms} ms)"
                )
        return kind

    @staticmethod
    def _check_payload(kind: Kind, payload: bytes) -> Message:
        if kind is Kind.DTMF and payload[0] not in DTMF_DIGITS:
            raise ProtocolError(f"DTMF message with invalid digit 0x{payload[0]:02x}")
        return Message(kind, payload)


def parse_uuid(message: Message) -> uuid.UUID:
    if message.kind is not Kind.UUID:
        raise ProtocolError(f"first message must be UUID, got {message.kind.name}")
    return uuid.UUID(bytes=message.payload)
