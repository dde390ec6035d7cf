"""Semantic end of turn: Smart Turn v3.2 (from the pipecat-ai wheel, run with onnxruntime), the
rules that combine it with the recogniser's words, and the listener holding a turn through a
pause inside a sentence that a silence-only end of speech cuts in two."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from bot.config import Settings
from bot.dialog.scenario.model import Step
from bot.speech import events as ev
from bot.speech.asr.models import whisper_base_dir
from bot.speech.asr.whisper_engine import WhisperRecognizer
from bot.speech.dictation import dictated_digits
from bot.speech.listener import CallListener
from bot.speech.pcm import to_float, to_pcm
from bot.speech.turn import TurnConfig, ends_with_digits, judge, open_ending, shared_model
from tests.conftest import speech
from tests.listening import listened_call

CONFIG = TurnConfig()
SILENCE_ONLY = TurnConfig(words=False)
SMART_TURN = TurnConfig(enabled=True, words=False)  # the model's verdicts alone, the words' rules off


def _split_at_pause(name: str) -> tuple[bytes, bytes]:
    """A fixture cut at the quietest 20 ms in its middle half (between two words)."""
    x = to_float(speech(name).pcm)
    frames = len(x) // 320
    energy = np.array([np.sqrt(np.mean(x[i * 320:(i + 1) * 320] ** 2)) for i in range(frames)])
    k = frames // 4 + int(np.argmin(energy[frames // 4: 3 * frames // 4]))
    return to_pcm(x[: k * 320]), to_pcm(x[k * 320:])


@pytest.mark.parametrize(("text", "open_"), [
    ("je voudrais savoir combien", False), ("oui alors je suis", True), ("non parce que", True),
    ("mon numéro c'est le", True), ("ce qui m'intéresse c'est", True), ("qu'est-ce que c'est", False),
    ("alors euh", True), ("il faudrait que je", True), ("non merci", False), ("", False),
    ("ma femme est", True), ("le prix est correct", False), ("je me demandais si", True), ("si", False),
])
def test_words_that_cannot_end_a_sentence(text, open_):
    assert open_ending(text) is open_


def test_digits_being_dictated():
    assert ends_with_digits("zéro six douze") and ends_with_digits("06 12")
    assert not ends_with_digits("je vous le dis")


def test_the_verdict_combines_the_model_and_the_words():
    # Words decide where there are any: the model is not heard over a closed sentence.
    for p in (0.9, 0.1, None):
        closed = judge(CONFIG, p, "ça m'intéresse")
        assert closed.end_after_ms == CONFIG.words_end_ms and closed.why == "sentence closed"
    # The words overrule a confident model: nobody ends a sentence on "parce que".
    assert judge(CONFIG, 0.95, "non parce que").why == "open ending"
    assert judge(CONFIG, 0.95, "zéro six douze", dictation="phone").end_after_ms == CONFIG.dictation_end_ms
    assert judge(CONFIG, 0.95, "zéro six douze trente-quatre voilà", dictation="phone").complete
    # Asked for a number: a preamble ("vous pouvez noter") or an address being spelt is not the end.
    assert judge(CONFIG, 0.95, "vous pouvez noter", dictation="phone").why == "dictation"
    assert judge(CONFIG, 0.95, "jean point dupont arobase", dictation="email").why == "dictation"
    # No words yet (a batch recogniser): the model alone; neither: the fixed end of speech.
    assert judge(CONFIG, 0.9, "").end_after_ms == CONFIG.complete_end_ms
    assert judge(CONFIG, 0.1, "").end_after_ms == CONFIG.incomplete_end_ms
    assert judge(CONFIG, None, "") is None
    # With the words rules off, the words only hold an open ending, as before them.
    no_words = TurnConfig(words=False)
    assert judge(no_words, 0.9, "ça m'intéresse").end_after_ms == no_words.complete_end_ms
    assert judge(no_words, 0.1, "ça m'intéresse").end_after_ms == no_words.incomplete_end_ms
    assert judge(no_words, None, "ça m'intéresse") is None


@pytest.mark.parametrize("said", ["Oui,", "Non merci", "D'accord, bien sûr", "Oui oui", "Pourquoi pas.", "Si."])
def test_a_bare_short_answer_is_held_longer_than_a_closed_sentence(said):
    # "Oui, | mais je voudrais d'abord connaître le prix": a short answer is often the start.
    held = judge(CONFIG, None, said)
    assert held.end_after_ms == CONFIG.closed_end_ms > CONFIG.words_end_ms and not held.complete


@pytest.mark.parametrize("said", ["Vous êtes un robot ?", "Je n'ai pas le temps.", "Non merci, au revoir.",
                                  "Oui, ça m'intéresse."])
def test_a_closed_sentence_ends_after_a_short_silence(said):
    assert judge(CONFIG, None, said).end_after_ms == CONFIG.words_end_ms


@pytest.mark.parametrize("said", ["Vous savez,", "Bon, écoutez,", "Honnêtement,", "Oui, attendez", "En fait",
                                  "Ben écoutez,", "Euh, franchement"])
def test_a_turn_of_only_its_preface_is_held(said):
    # "Bon, écoutez, | je n'ai vraiment pas le temps.": what opens a turn does not close it.
    held = judge(CONFIG, 0.95, said)
    assert held.end_after_ms == CONFIG.incomplete_end_ms and held.why == "preface"


@pytest.mark.parametrize("said", ["C'est trop cher, franchement.", "Franchement, je ne vois pas l'intérêt.",
                                  "Écoutez, non merci."])
def test_a_preface_with_a_sentence_is_a_sentence(said):
    assert judge(CONFIG, None, said).why in ("sentence closed", "short answer")


def test_a_date_is_held_until_its_year():
    assert judge(CONFIG, None, "je suis né le douze mars", dictation="date").why == "dictation"
    for whole in ("le douze mars mille neuf cent quatre-vingt-cinq", "le premier avril deux mille vingt-six",
                  "12/03/1985"):
        assert judge(CONFIG, None, whole, dictation="date").why == "number whole"


@pytest.mark.parametrize("said", ["Oui, alors, je suis", "En fait, on a déjà", "Il faudrait", "Non, je voudrais",
                                  "Oui mais"])
def test_a_sentence_stopped_on_its_auxiliary_is_not_whole(said):
    assert not judge(CONFIG, 0.95, said).complete


def test_a_negation_or_a_complement_ends_the_clause():
    assert judge(CONFIG, 0.9, "Non, je ne peux pas").complete
    assert judge(CONFIG, 0.9, "Je vais bien").complete


def test_a_number_dictated_whole_ends_the_turn_at_once():
    # Ten digits of a phone number, five of a postcode: nothing is left to wait for, whatever the
    # model makes of "soixante-dix-huit" said flat.
    whole = judge(CONFIG, 0.1, "c'est le zéro six douze trente-quatre cinquante-six soixante-dix-huit",
                  dictation="phone")
    assert whole.complete and whole.end_after_ms == CONFIG.complete_end_ms and whole.why == "number whole"
    assert judge(CONFIG, 0.1, "soixante-neuf zéro zéro trois", dictation="postcode").complete
    # Nine digits, or ten asked for a postcode's step, or a date: still held.
    assert judge(CONFIG, 0.9, "zéro six douze trente-quatre cinquante-six six", dictation="phone").why == "dictation"
    assert judge(CONFIG, 0.9, "06 12 34 56 78", dictation="date").why == "dictation"


@pytest.mark.parametrize(("said", "digits"), [
    ("Mon numéro, c'est le zéro six douze trente-quatre cinquante-six soixante-dix-huit.", "0612345678"),
    ("Vous pouvez noter zéro quatre soixante-douze dix-huit quarante vingt-deux.", "0472184022"),
    ("06 12 34 56 78", "0612345678"),
    ("Le code postal, c'est soixante-neuf zéro zéro trois.", "69003"),
    ("quatre-vingt-dix-neuf, soixante et onze, vingt et un", "997121"),
    ("C'est un portable : zéro six, un, deux", "0612"),  # the article is not a digit, the digit is
    ("quatre vingt-deux", "422"),  # as the recogniser wrote it: 4 then 22 (82 is "quatre-vingt-deux")
    ("je ne sais plus", ""),
])
def test_the_digits_of_a_dictated_number(said, digits):
    assert dictated_digits(said) == digits


def test_a_scenario_step_may_ask_for_dictation():
    assert Step(say="Votre numéro ?", dictation="phone").dictation == "phone"
    with pytest.raises(ValueError, match="dictation"):
        Step(say="Au revoir.", result="NOT_INTERESTED", dictation="phone")
    with pytest.raises(ValueError):
        Step(say="Votre numéro ?", dictation="fax")


def test_smart_turn_hears_a_finished_sentence_from_an_unfinished_one():
    model = shared_model()
    head, _ = _split_at_pause("non_merci")  # "Non merci, | je ne suis pas intéressé."
    silence = bytes(16000 // 5 * 2)  # 200 ms: what the listener has when it asks
    assert model.probability(speech("non_merci").pcm + silence, 16000) > 0.5
    assert model.probability(head + silence, 16000) < 0.5
    # 8 kHz audio is brought to 16 kHz (the model degrades silently at 8 kHz).
    assert model.probability(speech("non_merci", 8000).pcm + bytes(8000 // 5 * 2), 8000) > 0.5


# -- the listener ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def whisper():
    with ThreadPoolExecutor(2) as pool:
        yield WhisperRecognizer(whisper_base_dir(Settings().cache_dir), pool)


async def _utterances(whisper, turn: TurnConfig | None, pause_s: float,
                      dictation: str | None = None) -> tuple[list, CallListener]:
    server, peer, listener = await listened_call(whisper, turn=turn)
    listener.dictation = dictation
    task = asyncio.ensure_future(listener.run())
    head, tail = _split_at_pause("non_merci")
    await peer.silence(0.2, send_frames=True)
    await peer.stream(head)
    await peer.silence(pause_s, send_frames=True)  # the snoop path: silent frames keep coming
    await peer.stream(tail)
    await peer.silence(2.4, send_frames=True)
    await peer.close()
    events = []
    async with asyncio.timeout(20):
        while not isinstance(e := await listener.events.get(), ev.MediaClosed):
            events.append(e)
    await task
    await server.close()
    return [e for e in events if isinstance(e, ev.SpeechEnded)], listener


@pytest.mark.slow
async def test_a_pause_inside_a_sentence_is_held_where_silence_alone_cuts_it(whisper):
    cut, _ = await _utterances(whisper, SILENCE_ONLY, 0.75)
    assert len(cut) == 2  # silence only: 600 ms ends "Non merci," before the caller goes on
    held, listener = await _utterances(whisper, SMART_TURN, 0.75)
    assert len(held) == 1, listener.stats.turn_verdicts
    verdicts = listener.stats.turn_verdicts
    assert verdicts and not verdicts[0].complete  # the pause after "Non merci," was judged unfinished
    assert verdicts[-1].complete  # and the end of the sentence finished


@pytest.mark.slow
async def test_a_dictation_step_holds_its_pauses_without_a_model_or_words(whisper):
    # Whisper has no words before the turn ends and Smart Turn is off: the step alone says that
    # the caller is giving a number in groups, and a pause between two is not the end.
    held, listener = await _utterances(whisper, CONFIG, 0.75, dictation="phone")
    assert len(held) == 1, listener.stats.turn_verdicts
    assert listener.stats.turn_verdicts[0].why == "dictation"


@pytest.mark.slow
async def test_whispers_decode_in_the_pause_gives_the_rules_their_words(whisper):
    # Whisper has no words until it decodes; it decodes what was said at each pause (the guess
    # that becomes the final if the turn ends there): the turn is held until those words come
    # (up to 1.4 s), and they are not a closed sentence ("Non merci, je ne…"), so the caller's
    # pause of 750 ms is not the end of their turn. (Whether the decode comes inside the pause
    # depends on the machine: either way the pause is held.)
    held, listener = await _utterances(whisper, CONFIG, 0.75)
    assert len(held) == 1, listener.stats.turn_verdicts  # 600 ms of silence alone cuts it in two (above)
    # The verdicts that came while a pause lasted (none on a machine too loaded for the decode to
    # come within it: one decode at a time per stream) never ended the turn inside the sentence.
    assert not any(v.complete for v in listener.stats.turn_verdicts[:-1]), listener.stats.turn_verdicts
