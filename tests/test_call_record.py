"""The call record keeps its transcript in time order, whatever order the words became known."""

from __future__ import annotations

from bot.call.call import CallRecord, Utterance


def test_transcript_is_in_time_order_not_append_order():
    record = CallRecord("c1", "outbound", "+33612345678")
    record.add_utterance(Utterance("bot", "Bonjour, je suis Camille.", at=12.0))
    # the caller's "allô" (from 10.4 s) is recognised only after the bot started its greeting
    record.add_utterance(Utterance("caller", "Allô ?", at=10.4))
    record.add_utterance(Utterance("caller", "Oui.", at=15.0))
    record.add_utterance(Utterance("bot", "Parfait.", at=13.0))
    assert [u.text for u in record.utterances] == ["Allô ?", "Bonjour, je suis Camille.", "Parfait.", "Oui."]
