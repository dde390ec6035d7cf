"""A scenario's vocabulary in the prompt, and Whisper re-decoding while the caller speaks."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.speech.asr.vocabulary import Vocabulary
from bot.speech.asr.whisper_engine import WhisperRecognizer, _agree
from tests.conftest import speech


def test_the_vocabulary_reads_as_a_french_prompt():
    v = Vocabulary.of(["Solvéo", " Julie ", "Solvéo", ""], ["dix-huit heures"])
    assert v.names == ("Solvéo", "Julie")
    assert v.prompt().startswith("Appel de Solvéo, Julie. Dix-huit heures.")
    assert v.terms.count("dix-huit heures") == 1
    assert "solvéo" in v.vosk_grammar() and "huit" in v.vosk_grammar() and v.vosk_grammar()[-1] == "[unk]"
    assert len(Vocabulary.of(["x" * 50] * 1, ["y" * 30] * 40).prompt()) <= 400


def test_agreement_is_the_shared_prefix():
    assert _agree(["Rappelez-moi", "demain,"], ["rappelez-moi", "demain", "vers"]) == 2
    assert _agree(["oui", "non"], ["oui", "merci"]) == 1
    assert _agree([], ["oui"]) == 0


@pytest.mark.slow
async def test_streaming_whisper_commits_words_while_speaking_and_finishes_with_the_tail(speech_manifest):
    from bot.config import Settings
    from bot.speech.asr.models import whisper_base_dir

    with ThreadPoolExecutor(2) as pool:
        rec = WhisperRecognizer(whisper_base_dir(Settings().cache_dir), pool, stream_while_speaking=True,
                                stride=0.4)
        stream = rec.open(8000)
        for frame in speech("interesse", 8000).frames():
            assert await stream.feed(frame) is None  # no unstable partials to the listener
            await stream.settled()  # a decoder that keeps up (on a loaded machine it may lag: no timing here)
        committed = stream.committed
        final = await stream.finish()
    assert committed and final.text.startswith(committed)  # the final only decoded what followed
    assert stream.cost.decodes >= 3 and stream.cost.audio_while_speaking > 0
    assert stream.cost.audio_after_end == 0  # the last re-decode had the whole utterance: no work after the end
    assert "intéresse" in final.text.lower(), final.text
    assert final.text.lower().startswith("bonjour"), final.text


def test_a_scenarios_names_bias_every_stream():
    from types import SimpleNamespace

    from bot.speech.asr.vocabulary import Biased, for_scenario

    scenario = SimpleNamespace(agent_name="Claire", company_name="Santé Plus Courtage", vocabulary=["Optima"])
    vocab = for_scenario(scenario)
    assert vocab.names == ("Claire", "Santé Plus Courtage", "Optima")

    class Engine:
        name, streaming = "x", False

        def open(self, rate, vocabulary=None):
            return (rate, vocabulary)

    class Plain:
        name, streaming = "y", True

        def open(self, rate):
            return rate

    assert Biased(Engine(), vocab).open(8000) == (8000, vocab)
    assert Biased(Plain(), vocab).open(8000) == 8000 and Biased(Plain(), vocab).streaming
