"""bench.turns --tune decides from verdicts computed once per pause: what it decides for a setting
must be what the frame-by-frame run decides for it, or the setting it picks is not the one measured."""

from __future__ import annotations

import random

import pytest

from bench import turns
from bot.speech.turn import TurnConfig, shared_model

pytest.importorskip("onnxruntime")


@pytest.mark.parametrize("config", [TurnConfig(), TurnConfig(check_after_ms=100, complete_threshold=0.3,
                                                             complete_end_ms=60, incomplete_end_ms=800),
                                    TurnConfig(words=False)])
def test_tuning_decides_as_the_frame_by_frame_run(config):
    rng = random.Random(3)
    episodes = [
        turns.build(rng, [turns.fixture("bonjour_oui"), turns.fixture("interesse")], ["bonjour oui", "interesse"],
                    "split", True),
        turns.build(rng, [turns.fixture("non_merci")], ["non merci"], "fixture", True),
        turns.build(rng, [turns.fixture("allo"), turns.fixture("combien")], ["allo", "combien"], "split", True),
    ]
    model = shared_model()
    for ep in episodes:
        for method in ("smart_turn", "rules"):
            by_frames = turns.run(ep, method, model=model, config=config, silence_ms=600, fixed_model_ms=50)
            by_pauses = turns.decide(ep, turns.pauses(ep, model, config.check_after_ms, 50), config,
                                     model=method == "smart_turn")
            assert (by_pauses.ended_at, by_pauses.premature) == pytest.approx(
                (by_frames.ended_at, by_frames.premature), abs=0.021), (method, ep.text)
