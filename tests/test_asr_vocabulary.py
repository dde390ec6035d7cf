"""A scenario's vocabulary in the prompt, and Whisper re-decoding while the caller speaks."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from bot.speech.asr.vocabulary import Vocabulary
from bot.speech.asr.whisper_engine import WhisperRecognizer, _agree
from tests.conftest import assert_heard, speech


def test_the_vocabulary_reads_as_a_french_prompt():
    v = Vocabulary.of(["Solvéo", " Julie ", "Solvéo", ""], ["dix-huit heures"])
    assert v.names == ("Solvéo", "Julie")
    assert v.prompt().startswith("Appel de Solvéo, Julie. Dix-huit heures.")
    assert v.terms.count("dix-huit heures") == 1
    assert "solvéo" in v.vosk_grammar() and "huit" in v.vosk_grammar() and v.vosk_grammar()[-1] == "[unk]"
    assert len(Vocabulary.of(["x" * 50] * 1, ["y" * 30] * 40).prompt()) <= 400


def test_the_prompt_never_holds_an_answer():
    # A prompt word Whisper writes without hearing it must not decide a call: no yes, no, refusal
    # or opt-out in it; the callback times callers give are there.
    words = set(Vocabulary.of(["Solvéo"]).prompt().lower().replace(".", " ").replace(",", " ").split())
    assert not words & {"oui", "non", "d'accord", "merci", "intéressé", "appeler", "rappelez-moi"}
    assert {"demain", "lundi", "heures"} <= words


@pytest.mark.parametrize(("heard", "recited"), [
    ("Ma flamme, Maître Lambert, Isolfrance, Thermiconfort.", True),  # read back in the prompt's order
    ("Appel de Solvéo, Julie Marchand.", True),
    ("Neuf heures.", True),  # the whole transcript one prompt entry: decoded again to be sure
    ("Lundi. Mardi. Mercredi.", True),
    ("Je rappelle Julie Marchand de chez Solvéo.", False),
    ("C'est pour Thermiconfort ?", False),
    ("Rappelez-moi demain vers dix-huit heures.", False),
    ("Oui", False),
    ("", False),
])
def test_a_transcript_that_reads_the_prompt_back_is_known(heard, recited):
    names = ["Solvéo", "Julie Marchand", "Maître Lambert", "Isolfrance", "Thermiconfort"]
    assert Vocabulary.of(names).recited(heard) is recited


@pytest.mark.slow
def test_whisper_decodes_again_without_the_prompt_what_read_the_prompt_back(speech_manifest):
    from bot.config import Settings
    from bot.speech.asr.models import whisper_base_dir
    from bot.speech.pcm import resample, to_float

    class Reciting(WhisperRecognizer):
        """Whisper on a line where it writes its prompt instead of the caller's words."""

        def _decode(self, samples, vocabulary, **kw):
            return "Neuf heures." if vocabulary is not None else super()._decode(samples, vocabulary, **kw)

    rec = Reciting(whisper_base_dir(Settings().cache_dir), None)
    clip = speech("non_merci")
    samples = to_float(resample(clip.pcm, clip.sample_rate, 16000))
    heard = rec.transcribe(samples, Vocabulary.of(["Solvéo"]))
    assert_heard(heard, "non_merci", speech_manifest)  # the caller's words, not the prompt's
    assert "heures" not in heard.lower(), heard
    assert rec.recitations == 1
    assert rec.transcribe(samples, None) and rec.recitations == 1  # no prompt, nothing to guard


@pytest.mark.slow
def test_the_scenario_vocabulary_reaches_local_whisper_only_when_the_operator_turns_it_on(tmp_path):
    from bot.config import Settings
    from bot.speech.asr import load_recognizer
    from bot.speech.asr.settings import WhisperConfig

    settings, vocab = Settings(), Vocabulary.of(["Solvéo"])
    for on in (False, True):
        rec = load_recognizer("whisper", cache_dir=settings.cache_dir, models_dir=tmp_path, vosk_model=None,
                              executor=None, whisper=WhisperConfig(vocabulary=on))
        assert rec.open(8000, vocab)._vocabulary is (vocab if on else None)


def test_a_scenario_file_lists_the_names_its_callers_may_say(tmp_path):
    from pathlib import Path

    from bot.dialog.scenario.loader import load_scenario
    from bot.speech.asr.vocabulary import for_scenario

    demo = (Path(__file__).parents[1] / "scenarios" / "demo.yaml").read_text()
    path = tmp_path / "demo.yaml"
    path.write_text(demo.replace("company_name: MiniBot Services\n",
                                 "company_name: MiniBot Services\nvocabulary: [Optima Confort, Villeurbanne]\n"))
    assert for_scenario(load_scenario(path)).names == ("Camille", "MiniBot Services", "Optima Confort", "Villeurbanne")


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
