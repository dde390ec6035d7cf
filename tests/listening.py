"""A call's listen path over real TCP, for the listener tests: an Asterisk-like peer connected to
an AudioSocket server, and the CallListener on the session it opened."""

from __future__ import annotations

import uuid

from audiosocket import AudioSocketServer
from audiosocket.peer import AsteriskPeer
from bot.speech.listener import CallListener


async def listened_call(recognizer, **listener_options) -> tuple[AudioSocketServer, AsteriskPeer, CallListener]:
    server = AudioSocketServer("127.0.0.1", 0)
    await server.start()
    call = uuid.uuid4()
    server.expect(call)
    peer = AsteriskPeer("127.0.0.1", server.port, call)
    await peer.connect()
    session = await server.wait_session(call, 1)
    return server, peer, CallListener(session.subscribe(), recognizer, **listener_options)
