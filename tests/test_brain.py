"""A scenario's brain with an LLM: Ollama (the fake, over real HTTP) classifies and answers freely,
the offline classifier and scripted lines take over when it misbehaves."""

from __future__ import annotations

import json

from bot.dialog.brain import Brain
from bot.dialog.intents import Intent
from bot.dialog.llm import OllamaChat
from bot.dialog.scenario.lines import ENGINE_LINES
from tests.fake_ollama import DEFAULT_MODEL, FakeOllama


def _reply(request: dict) -> str:
    if request.get("format"):  # the NLU asks for JSON following its schema
        return json.dumps({"intent": "question", "objection": None, "confidence": 0.9})
    return "Nous sommes une petite équipe basée en France. Cela vous intéresserait-il ?"


async def test_ollama_classifies_answers_freely_and_is_prewarmed() -> None:
    async with FakeOllama(reply=_reply) as ollama:
        chat = OllamaChat(ollama.url, DEFAULT_MODEL)
        brain = Brain.build("demo", chat=chat, embeddings=False)
        assert await brain.prewarm()
        assert ollama.loaded.get(DEFAULT_MODEL)  # loaded and kept alive before the first call
        run = brain.new_run({"first_name": "Marie"})
        run.start()
        understood = await brain.classifier.understand("vous êtes où exactement")
        assert (understood.intent, understood.source) == (Intent.QUESTION, "ollama")
        turn = await run.hear(understood)
        assert turn.lines[0].key == "freestyle" and "équipe" in turn.lines[0].text
        assert turn.lines[-1].key == "ask_again:hello"  # and back to the question
        await chat.aclose()


async def test_without_ollama_the_call_goes_on_offline() -> None:
    async with FakeOllama(reply=_reply) as ollama:
        url = ollama.url
    chat = OllamaChat(url, DEFAULT_MODEL)  # the server is gone: connection refused
    brain = Brain.build("demo", chat=chat, embeddings=False)
    assert not await brain.prewarm()
    run = brain.new_run({"first_name": "Marie"})
    run.start()
    understood = await brain.classifier.understand("ne m'appelez plus")
    assert understood.intent is Intent.OPT_OUT and understood.source.startswith("fallback")
    unmatched = await brain.classifier.understand("vous êtes où exactement")
    turn = await run.hear(unmatched)
    assert turn.lines[0].key != "freestyle"  # no free answer without an LLM: a scripted line
    assert turn.lines[0].text in (ENGINE_LINES["question_later"], ENGINE_LINES["not_understood"]) or \
        turn.lines[0].key.startswith("objection:")
    await chat.aclose()
