"""A scripted caller on a simulated line, for the demo and the benchmarks.

It plays the Asterisk side over real AudioSocket TCP: the caller's voice at a given moment,
the bot's prompt coming back as line echo, frames every 20 ms (the snoop path), and the echo
cut off once the bot stops its prompt on a barge-in, as a real playback stop would.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ari.simulator.line import hybrid_echo, mix
from audiosocket.peer import AsteriskPeer

from ..speech.pcm import Audio, to_float, to_pcm


@dataclass
class CallerScript:
    voice: Audio | None  # what the caller says (None: stays silent)
    voice_at: float = 0.0  # seconds after the call's media starts
    prompt: Audio | None = None  # the bot's prompt, playing from the start
    echo_db: float = -12.0
    echo_delay_ms: float = 120.0
    tail_s: float = 1.0  # silence after the script; no frames (chan_audiosocket) at the end


@dataclass
class CallerRun:
    started: float  # monotonic, when the first frame was sent (the prompt's start)
    voice_onset: float | None  # monotonic, when the caller's first loud frame was sent
    frames_sent: int


async def run_caller(
    peer: AsteriskPeer,
    script: CallerScript,
    *,
    on_start: Callable[[float], None] | None = None,
    echo_stop: Callable[[], float | None] | None = None,
) -> CallerRun:
    """Stream the script in real time. ``echo_stop()`` returns when the bot stopped its prompt
    (monotonic) or None; the echo ends one echo delay after that."""
    rate = peer.sample_rate
    voice = to_float(script.voice.at_rate(rate).pcm) * 0.8 if script.voice else np.zeros(0, np.float32)
    echo = np.zeros(0, np.float32)
    if script.prompt is not None and script.echo_db > -90:
        echo = hybrid_echo(to_float(script.prompt.at_rate(rate).pcm), rate,
                           delay_ms=script.echo_delay_ms, level_db=script.echo_db)
    v_off = int(script.voice_at * rate)
    length = max(len(echo), v_off + len(voice))
    length += (-length) % (rate // 50)
    caller = mix(length, (v_off, voice)) if len(voice) else mix(length)
    frame = rate // 50
    onset_sample = v_off + int(np.argmax(np.abs(voice) > 0.02)) if len(voice) else None
    started = time.monotonic()
    if on_start:
        on_start(started)
    onset_time = None
    for i in range(0, length, frame):
        chunk = caller[i : i + frame].copy()
        stop = echo_stop() if echo_stop else None
        echo_end = len(echo) if stop is None else int((stop - started) * rate + script.echo_delay_ms * rate / 1000)
        n = max(0, min(len(chunk), echo_end - i, len(echo) - i))
        chunk[:n] += echo[i : i + n]
        await peer.stream(to_pcm(chunk))
        if onset_time is None and onset_sample is not None and i + frame > onset_sample:
            onset_time = peer.send_times[-1]
    await peer.silence(script.tail_s)
    return CallerRun(started, onset_time, peer.frames_sent)
