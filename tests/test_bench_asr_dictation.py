"""bench.asr's dictated numbers: the sentences say their digits as the product's dictation reader
understands them, so a recogniser that heard every word gets every number whole."""

from bench.asr import dictated_numbers
from bot.speech.dictation import dictated_digits, is_whole


def test_each_dictated_sentence_reads_back_as_its_digits():
    numbers = dictated_numbers()
    assert len(numbers) == 24 and len({d for d, _ in numbers}) == 24
    for digits, sentence in numbers:
        assert dictated_digits(sentence) == digits, sentence
        assert is_whole("phone" if len(digits) == 10 else "postcode", sentence)
        assert not any(c.isdigit() for c in sentence)  # said in words, as a caller says them


def test_the_numbers_are_the_same_every_run():
    assert dictated_numbers() == dictated_numbers()
