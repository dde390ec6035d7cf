"""bench.calls --ari-url's figures on the wire (bench/calls_live.py `wire_figures`), from what a
scripted callee heard: a made-up line where each answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from bench.calls_live import wire_figures
from tests.live.scripted import Heard

LOUD = (np.ones(160) * 3000).astype("<i2").tobytes()  # 20 ms of slin 8 kHz, well over the threshold


def _bot(heard: Heard, start: float, end: float) -> None:
    """The bot talking from `start` to `end` (Asterisk sends nothing while nothing plays)."""
    heard.frames += [(start + i * 0.02, LOUD) for i in range(round((end - start) / 0.02))]


def test_first_audio_barge_in_and_reply_on_the_wire():
    heard = Heard(connected_at=100.0)
    _bot(heard, 101.8, 103.1)  # greets 1.8 s after answer; the callee talks over it at 3.0 s
    _bot(heard, 105.0, 106.0)  # replies 0.8 s after the callee's last voiced frame (104.2)
    heard.said += [(100.3, 101.3, "at 0.3 s"), (103.0, 104.2, "at 3.0 s")]
    figures = wire_figures([heard])
    assert figures["answer_to_first_audio_p50_ms"] == pytest.approx(1800, abs=1)
    assert figures["barge_in_p50_ms"] == pytest.approx(100, abs=21) and figures["barge_in_n"] == 1
    assert figures["turn_latency_p50_ms"] == pytest.approx(800, abs=1) and figures["turn_latency_n"] == 1


def test_a_line_said_while_the_bot_talks_on_is_no_reply():
    """The bot still talking at the end of the callee's line: no reply time (it never paused)."""
    heard = Heard(connected_at=0.0)
    _bot(heard, 1.0, 9.0)
    heard.said += [(0.3, 0.8, "at 0.3 s"), (3.0, 4.0, "after the bot")]
    figures = wire_figures([heard])
    assert figures["turn_latency_n"] == 0 and figures["turn_latency_p50_ms"] is None
    assert figures["barge_in_n"] == 0  # it never went quiet


def test_the_bot_starting_while_the_callee_speaks_is_counted():
    heard = Heard(connected_at=0.0)
    _bot(heard, 0.6, 2.0)  # greets over the callee's "allô" (0.3 to 1.1 s): counted
    _bot(heard, 3.5, 4.5)  # replies after the callee's line (2.5 to 3.2 s): not counted
    _bot(heard, 4.7, 5.0)  # a 0.2 s gap is the same line going on, not a new start
    _bot(heard, 6.0, 7.0)  # starts at 6.0 while the callee talks from 5.8: counted
    heard.said += [(0.3, 1.1, "allô"), (2.5, 3.2, "after the bot"), (5.8, 6.6, "over")]
    assert heard.onsets() == pytest.approx([0.6, 3.5, 6.0])
    assert wire_figures([heard])["bot_starts_over_callee"] == 2
