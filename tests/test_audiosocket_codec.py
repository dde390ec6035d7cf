import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from audiosocket.codec import Decoder, Kind, ProtocolError, encode, encode_audio, encode_uuid, parse_uuid


def test_header_is_big_endian_and_audio_is_passed_through():
    pcm = (1000).to_bytes(2, "little") * 320
    wire = encode_audio(pcm, 16000)
    assert wire[:3] == bytes([0x12, 0x02, 0x80])  # 640 bytes, network order
    [msg] = Decoder().feed(wire)
    assert msg.kind is Kind.SLIN16 and msg.sample_rate == 16000 and msg.payload == pcm


@pytest.mark.parametrize(
    ("rate", "kind"),
    [(8000, 0x10), (12000, 0x11), (16000, 0x12), (24000, 0x13), (32000, 0x14), (44100, 0x15),
     (48000, 0x16), (96000, 0x17), (192000, 0x18)],
)
def test_every_slin_rate_has_its_kind(rate, kind):
    wire = encode_audio(b"\x01\x00" * 10, rate)
    assert wire[0] == kind
    assert Decoder().feed(wire)[0].sample_rate == rate


def test_uuid_dtmf_hangup_error_roundtrip():
    u = uuid.uuid4()
    d = Decoder()
    msgs = d.feed(encode_uuid(u) + encode(Kind.DTMF, b"#") + encode(Kind.HANGUP) + encode(Kind.ERROR, b"\x02"))
    assert parse_uuid(msgs[0]) == u
    assert [m.kind for m in msgs[1:]] == [Kind.DTMF, Kind.HANGUP, Kind.ERROR]
    assert msgs[1].payload == b"#"


def test_byte_by_byte_feeding_gives_the_same_messages():
    wire = encode_uuid(uuid.uuid4()) + encode_audio(b"\x05\x00" * 160, 8000) * 3
    d = Decoder()
    out = [m for b in wire for m in d.feed(bytes([b]))]
    assert len(out) == 4 and not d.mid_message


@pytest.mark.parametrize(
    ("wire", "problem"),
    [
        (b"\x42\x00\x01x", "unknown message kind 0x42"),
        (b"\x12\x00\x00", "length 0"),
        (b"\x01\x00\x05abcde", "UUID message of 5 bytes"),
        (b"\x03\x00\x01x", "invalid digit"),
        (b"\x10\xff\xff", "oversize audio"),
    ],
)
def test_bad_messages_say_what_is_wrong(wire, problem):
    with pytest.raises(ProtocolError, match=problem):
        Decoder().feed(wire)


def test_first_message_must_be_uuid():
    [msg] = Decoder().feed(encode_audio(b"\x00\x00", 8000))
    with pytest.raises(ProtocolError, match="first message must be UUID"):
        parse_uuid(msg)


@given(st.binary(max_size=2048))
def test_decoder_never_fails_other_than_protocol_error(data):
    d = Decoder()
    try:
        for i in range(0, len(data), 7):
            d.feed(data[i : i + 7])
    except ProtocolError:
        pass
