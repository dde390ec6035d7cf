"""Echo-aware barge-in over the whole range the issue names: echo at -6..-20 dB and
20..250 ms, double talk, and a line with no echo at all."""

import collections

import numpy as np
import pytest

from ari.simulator.line import hybrid_echo, mix
from bot.speech.bargein import EchoAwareBargeIn, words_audio
from bot.speech.pcm import to_float, to_pcm
from tests.conftest import speech

RATE = 16000
PROMPT = to_float(speech("prompt_bot").pcm)


def _first_barge_in(mic: np.ndarray):
    det = EchoAwareBargeIn(RATE)
    det.start_prompt(to_pcm(PROMPT), 0.0)
    for i in range(0, len(mic) - 319, 320):
        hit = det.process(to_pcm(mic[i : i + 320]), (i + 320) / RATE)
        if hit:
            return hit, det
    return None, det


@pytest.mark.parametrize("level", [-6, -12, -20])
@pytest.mark.parametrize("delay", [20, 100, 250])
def test_echo_alone_is_never_taken_for_the_caller(level, delay):
    echo = hybrid_echo(PROMPT, RATE, delay_ms=delay, level_db=level, seed=delay)
    hit, det = _first_barge_in(mix(len(PROMPT) + RATE, (0, echo)))
    assert hit is None
    assert det.echo_delay_ms is not None and abs(det.echo_delay_ms - delay) < 5


@pytest.mark.parametrize("level", [-6, -20, -80])
@pytest.mark.parametrize("delay", [20, 250])
@pytest.mark.parametrize("utterance", ["non_merci", "pas_le_temps"])
def test_caller_over_the_echo_is_detected_quickly(level, delay, utterance):
    echo = hybrid_echo(PROMPT, RATE, delay_ms=delay, level_db=level, seed=delay)
    voice = to_float(speech(utterance).pcm) * 0.8
    offset = int(3.0 * RATE)
    onset = (offset + int(np.argmax(np.abs(voice) > 0.02))) / RATE
    hit, _ = _first_barge_in(mix(len(PROMPT) + RATE, (0, echo), (offset, voice)))
    assert hit is not None
    assert 0 <= hit.confirmed_at - onset <= 0.2


def test_prompt_end_stops_the_check_after_the_echo_tail():
    det = EchoAwareBargeIn(RATE)
    det.start_prompt(to_pcm(PROMPT[:RATE]), 10.0)
    assert det.echo_possible(10.5) and det.echo_possible(11.2)
    assert not det.echo_possible(11.4)
    det.stop_prompt(10.2)
    assert not det.echo_possible(10.6)


def test_the_recogniser_gets_the_caller_from_just_before_the_barge_in_not_the_echo_before():
    echo = hybrid_echo(PROMPT, RATE, delay_ms=120, level_db=-12, seed=1)
    voice = to_float(speech("oui_daccord").pcm) * 0.8
    offset = int(3.0 * RATE)
    onset = (offset + int(np.argmax(np.abs(voice) > 0.02))) / RATE
    mic = mix(len(PROMPT) + RATE, (0, echo), (offset, voice))
    det = EchoAwareBargeIn(RATE)
    det.start_prompt(to_pcm(PROMPT), 0.0)
    held = collections.deque(maxlen=15)  # 300 ms, as the listener holds them
    for i in range(0, len(mic) - 319, 320):
        held.append(((i + 320) / RATE, to_pcm(mic[i : i + 320])))
        if hit := det.process(held[-1][1], held[-1][0]):
            break
    assert hit is not None
    kept = words_audio(held, hit, 100)
    first_kept = held[-1][0] - len(kept) / 2 / RATE  # where the kept audio begins
    assert first_kept <= onset  # the caller's first sound is in it
    assert first_kept >= hit.at - 0.1 - 0.02  # and no more than 100 ms (and a frame) of echo before it
    assert len(kept) < len(b"".join(pcm for _, pcm in held))
    assert words_audio(held, hit, 300) == b"".join(pcm for _, pcm in held)  # the full lookback: all held


GAIN = 0.3  # a soft-spoken caller: under the full echo's prediction, much of their speech reads as echo


@pytest.mark.parametrize("level", [-6, -12, -20])
def test_a_lowered_prompts_echo_is_told_from_the_caller_after_the_barge_in(level):
    # The prompt plays on 20 dB lower from the barge-in (bot.call.interruption): frame by frame
    # the caller's "oui, d'accord", said softly, is near-end speech (under the full prompt's echo
    # much of it would not be), and the lowered echo after it is not.
    echo = hybrid_echo(PROMPT, RATE, delay_ms=120, level_db=level, seed=3)
    voice = to_float(speech("oui_daccord").pcm) * GAIN
    offset = int(2.5 * RATE)
    voiced = np.flatnonzero(np.abs(voice) > 0.02)
    start, end = (offset + voiced[0]) / RATE, (offset + voiced[-1]) / RATE
    det = EchoAwareBargeIn(RATE)
    det.start_prompt(to_pcm(PROMPT), 0.0)
    hit, lowered_at, judged = None, None, []
    for i in range(0, len(PROMPT) - 319, 320):
        t = (i + 320) / RATE
        if hit is None and lowered_at is None:
            mic = mix(len(PROMPT) + RATE, (0, echo), (offset, voice))
            hit = det.process(to_pcm(mic[i:i + 320]), t)
            if hit is not None:
                lowered_at = t
                det.lower(t, -20.0)
                quieter = echo.copy()
                quieter[i + 320 + int(0.14 * RATE):] *= 0.1  # Asterisk applies it; the echo path delays it
                mic = mix(len(PROMPT) + RATE, (0, quieter), (offset, voice))
            continue
        judged.append((t, det.near_end(to_pcm(mic[i:i + 320]), t)))
    assert hit is not None and hit.at - start < 0.15
    speaking = [near for t, near in judged if t < end - 0.05]
    after = [near for t, near in judged if t > end + 0.1]
    assert sum(speaking) >= 0.6 * len(speaking)  # the quiet parts of words may read as echo
    assert not any(after), [t for t, near in judged if near and t > end + 0.1]
