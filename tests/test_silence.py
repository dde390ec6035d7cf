"""When the caller's silence counts (bot.call.silence): from the end of their speech as the VAD
saw it, held while they speak or while their words are being recognised, each hold bounded."""

import pytest

from bot.call.silence import CallerSilence, SilenceTiming
from bot.speech import events as sev

ASKED, STARTED, TIMEOUT = 100.0, 104.0, 6.0  # the question began at 100 s and played for 4 s


def _utterance(silence: CallerSilence, start: float, end: float) -> sev.SpeechEnded:
    ended = sev.SpeechEnded(end, end + 0.6, end - start)  # the VAD's end of speech comes 600 ms after
    silence.note(sev.SpeechStarted(start, start + 0.08))
    silence.note(ended)
    return ended


def _final(silence: CallerSilence, ended: sev.SpeechEnded, at: float, text: str = "non merci") -> None:
    silence.note(sev.FinalTranscript(text, at, ended.duration, at - ended.detected_at, ended.at))


def _wait(silence: CallerSilence):
    return silence.wait(since=ASKED, started=STARTED, timeout=TIMEOUT)


def test_a_caller_who_says_nothing_is_silent_after_the_timeout_from_the_wait():
    wait = _wait(CallerSilence())
    assert (wait.deadline, wait.why) == (110.0, "quiet")


def test_silence_counts_from_the_end_of_their_speech_not_from_their_words():
    silence = CallerSilence()
    ended = _utterance(silence, 105.0, 106.5)
    wait = _wait(silence)
    # 1.5 s of speech: recognised within 12 s of its end, the words hold the silence that long
    assert (wait.deadline, wait.why) == (ended.detected_at + 12.0, "recognising")
    _final(silence, ended, 113.0, text="")  # noise: no words, and the silence counts from the speech's end
    assert (_wait(silence).deadline, _wait(silence).why) == (112.5, "quiet")


def test_words_that_came_end_the_hold():
    silence = CallerSilence()
    ended = _utterance(silence, 105.0, 106.5)
    _final(silence, ended, 108.0)
    assert _wait(silence).why == "quiet" and silence.unheard(ASKED) is None


def test_a_caller_who_speaks_is_never_silent_until_the_speech_bound():
    silence = CallerSilence(SilenceTiming(speech_max=30.0))
    silence.note(sev.SpeechStarted(105.0, 105.08))
    assert (_wait(silence).deadline, _wait(silence).why) == (135.0, "speaking")


def test_a_recogniser_that_never_answers_holds_no_longer_than_words_max():
    silence = CallerSilence(SilenceTiming(words_max=8.0))
    ended = _utterance(silence, 105.0, 106.5)
    assert _wait(silence).deadline == ended.detected_at + 8.0
    short = CallerSilence(SilenceTiming(words_max=2.0))  # a bound under the timeout: the timeout decides
    _utterance(short, 105.0, 106.5)
    assert (_wait(short).deadline, _wait(short).why) == (112.5, "quiet")


def test_speech_before_the_question_holds_nothing():
    silence = CallerSilence()
    _utterance(silence, 97.0, 99.0)  # the "allô" before the question, its words still coming
    assert (_wait(silence).deadline, _wait(silence).why) == (110.0, "quiet")


def test_a_final_settles_older_utterances_whose_words_were_lost():
    silence = CallerSilence()
    first = _utterance(silence, 105.0, 106.0)
    second = _utterance(silence, 107.0, 108.0)
    assert silence.unheard(ASKED) == first
    _final(silence, second, 110.0)  # the recogniser failed on the first: the second's final settles both
    assert silence.unheard(ASKED) is None


def test_bounds_must_be_positive():
    with pytest.raises(ValueError, match="words_max"):
        SilenceTiming(words_max=0)
