"""The AudioSocket server over real TCP: matching, fan-out, pacing, and bad peers."""

import asyncio
import logging
import random
import time
import uuid

import pytest

from audiosocket import AudioSocketServer, Closed, ServerTimeouts
from audiosocket.codec import Kind, encode, encode_audio, encode_uuid
from audiosocket.peer import AsteriskPeer

FRAME = b"\x10\x00" * 320  # 20 ms at 16 kHz


@pytest.fixture
async def server():
    srv = AudioSocketServer("127.0.0.1", 0, timeouts=ServerTimeouts(handshake=0.5, stalled_payload=0.3))
    await srv.start()
    yield srv
    await srv.close()


async def test_session_is_matched_by_uuid_and_frames_fan_out(server):
    call = uuid.uuid4()
    waiting = asyncio.ensure_future(server.wait_session(call, timeout=2))
    peer = AsteriskPeer("127.0.0.1", server.port, call)
    await peer.connect()
    session = await waiting
    a, b = session.subscribe(), session.subscribe()
    await peer.stream(FRAME * 5)
    got_a = [await asyncio.wait_for(a.get(), 1) for _ in range(5)]
    got_b = [await asyncio.wait_for(b.get(), 1) for _ in range(5)]
    assert [f.seq for f in got_a] == [1, 2, 3, 4, 5] == [f.seq for f in got_b]
    assert all(f.sample_rate == 16000 and f.pcm == FRAME for f in got_a)
    await peer.send_raw(encode(Kind.DTMF, b"7"))
    assert (await asyncio.wait_for(a.get(), 1)).digit == "7"
    await peer.close()
    assert isinstance(await asyncio.wait_for(a.get(), 1), Closed)
    assert await asyncio.wait_for(session.closed, 1) == "peer closed the connection"


async def _connected(server):
    """An Asterisk-like peer on a call the server expects, and the session it opened."""
    call = uuid.uuid4()
    server.expect(call)
    peer = AsteriskPeer("127.0.0.1", server.port, call)
    await peer.connect()
    return peer, await server.wait_session(call, 1)


async def test_wait_session_times_out_with_a_clear_message(server):
    with pytest.raises(TimeoutError, match="did not connect within 0.1 s"):
        await server.wait_session(uuid.uuid4(), timeout=0.1)


async def test_slow_listener_never_blocks_the_reader_or_other_listeners(server):
    peer, session = await _connected(server)
    slow = session.subscribe(maxsize=3)
    fast = session.subscribe()
    for _ in range(20):
        await peer.send_raw(encode_audio(FRAME, 16000))
    got = [await asyncio.wait_for(fast.get(), 1) for _ in range(20)]
    assert got[-1].seq == 20
    assert slow.dropped == 17 and (await slow.get()).seq == 18  # the newest audio survives
    await peer.close()


async def test_outbound_audio_is_paced_in_20ms_frames_and_flushes(server):
    peer, session = await _connected(server)
    session.pacer.enqueue(b"\x01\x00" * 16000)  # 1 s
    await asyncio.sleep(0.5)
    dropped = session.pacer.flush()
    await asyncio.sleep(0.1)
    assert all(len(p) == 640 for _, p in peer.received.frames)  # never a message of 100 ms or more
    frames = [(t, p) for t, p in peer.received.frames if p.strip(b"\x00")]  # the audio, not the silence
    assert 20 <= len(frames) <= 30 and dropped >= 20
    gaps = [b[0] - a[0] for a, b in zip(frames[5:], frames[6:], strict=False)]
    assert 0.015 < sum(gaps) / len(gaps) < 0.025
    await session.hangup()
    await asyncio.sleep(0.05)
    assert peer.received.hangup
    await peer.close()


async def test_the_line_is_fed_silence_whenever_nothing_is_said(server):
    # Asterisk's AudioSocket read waits, its channel locked, until a message comes: a session
    # sends 20 ms of silence every 20 ms from the moment it opens, and audio when there is some.
    peer, session = await _connected(server)
    await asyncio.sleep(0.3)
    silence = list(peer.received.frames)
    assert len(silence) >= 8 and all(p == b"\x00" * 640 for _, p in silence)
    assert max(b[0] - a[0] for a, b in zip(silence, silence[1:], strict=False)) < 0.1
    session.pacer.enqueue(b"\x01\x00" * 1600)  # 100 ms of audio: it goes out between the silences
    await asyncio.sleep(0.2)
    assert sum(1 for _, p in peer.received.frames if p.strip(b"\x00")) == 5
    await session.close()
    await asyncio.sleep(0.05)
    sent = len(peer.received.frames)
    await asyncio.sleep(0.1)
    assert len(peer.received.frames) == sent  # nothing once closed
    await peer.close()


async def _open_raw(server):
    return await asyncio.open_connection("127.0.0.1", server.port)


async def _closed_by_server(reader, timeout=2.0) -> bool:
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(1024):
                pass
        return True
    except (TimeoutError, ConnectionError):
        return False


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\x42\x00\x01x", "unknown message kind"),
        (b"\x12\x00\x00", "length 0"),
        (b"\x12\xff\xff", "oversize"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "unknown message kind 0x47"),
        (encode_audio(FRAME, 16000), "first message must be UUID"),
    ],
)
async def test_garbage_before_uuid_closes_only_that_connection(server, caplog, payload, reason):
    good = uuid.uuid4()
    server.expect(good)
    peer = AsteriskPeer("127.0.0.1", server.port, good)
    await peer.connect()
    session = await server.wait_session(good, 1)
    sub = session.subscribe()
    reader, writer = await _open_raw(server)
    with caplog.at_level(logging.WARNING, logger="audiosocket.server"):
        writer.write(payload)
        assert await _closed_by_server(reader)
    assert sum(reason in r.getMessage() for r in caplog.records) == 1
    await peer.stream(FRAME)
    assert (await asyncio.wait_for(sub.get(), 1)).seq == 1  # the good call never noticed
    writer.close()
    await peer.close()


async def test_unknown_and_repeated_uuid_are_refused(server, caplog):
    known = uuid.uuid4()
    server.expect(known)
    first = AsteriskPeer("127.0.0.1", server.port, known)
    await first.connect()
    await server.wait_session(known, 1)
    with caplog.at_level(logging.WARNING):
        second = AsteriskPeer("127.0.0.1", server.port, known)
        await second.connect()
        assert await second.wait_closed_by_server()
        stranger = AsteriskPeer("127.0.0.1", server.port, uuid.uuid4())
        await stranger.connect()
        assert await stranger.wait_closed_by_server()
    text = caplog.text
    assert "repeated UUID" in text and "unknown UUID" in text
    assert not first.received.hangup and server.session(known) is not None
    await first.close(), await second.close(), await stranger.close()


async def test_stalled_payload_and_silent_connection_time_out(server, caplog):
    call = uuid.uuid4()
    server.expect(call)
    reader, writer = await _open_raw(server)
    writer.write(encode_uuid(call) + b"\x12\x02\x80" + FRAME[:100])  # header, then a stall
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert await _closed_by_server(reader)
        assert 0.25 < time.monotonic() - t0 < 1.5
        silent_reader, silent_writer = await _open_raw(server)
        assert await _closed_by_server(silent_reader)  # no UUID within the handshake timeout
    assert "payload stalled" in caplog.text and "no UUID message within 0.5 s" in caplog.text
    writer.close(), silent_writer.close()


async def test_silence_after_uuid_is_not_an_error(server):
    peer, session = await _connected(server)
    await asyncio.sleep(0.8)  # longer than every timeout: silence sends nothing at all
    assert not session.is_closed
    await peer.close()


async def test_error_and_abrupt_close_end_the_session(server):
    for tail, expected in ((encode(Kind.ERROR, b"\x04"), "error message (code 04)"), (b"\x12\x02", "mid-message")):
        call = uuid.uuid4()
        server.expect(call)
        reader, writer = await _open_raw(server)
        writer.write(encode_uuid(call) + tail)
        await writer.drain()
        session = await server.wait_session(call, 1)
        if expected == "mid-message":
            # Half-closed: closing with the server's silence frames unread would send a reset.
            writer.write_eof()
        reason = await asyncio.wait_for(session.closed, 2)
        assert expected in reason
        writer.close()


async def test_fuzz_random_garbage_never_takes_the_server_down(server):
    rng = random.Random(1234)
    good = uuid.uuid4()
    server.expect(good)
    peer = AsteriskPeer("127.0.0.1", server.port, good)
    await peer.connect()
    session = await server.wait_session(good, 1)
    sub = session.subscribe(maxsize=1000)

    async def garbage(i):
        call = uuid.uuid4()
        server.expect(call)
        _, writer = await _open_raw(server)
        prefix = encode_uuid(call) if i % 2 else b""
        writer.write(prefix + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 600))))
        await asyncio.sleep(rng.random() * 0.05)
        writer.close()

    sender = asyncio.ensure_future(peer.stream(FRAME * 25))
    await asyncio.gather(*(garbage(i) for i in range(200)))
    await sender
    seqs = []
    while not sub.queue.empty():
        seqs.append(sub.queue.get_nowait().seq)
    assert seqs == list(range(1, 26))
    assert not session.is_closed
    await peer.close()
