"""The LLM seam and the Ollama NLU, over real HTTP against the fake Ollama server (tests/fake_ollama.py),
through the official `ollama` client: the wire format, every failure path, the fallback and the breaker."""

from __future__ import annotations

import json
import logging
import time

import httpx
import ollama
import pytest

from bot.config import LlmSettings, Settings
from bot.dialog.intents import Intent, Understanding
from bot.dialog.llm import CircuitBreaker, HealthLog, LlmFailure, LlmUnavailable, OllamaChat
from bot.dialog.nlu.ollama import MEANINGS, OllamaClassifier
from bot.dialog.objections.library import Library, Objection
from tests.fake_ollama import DEFAULT_MODEL, free_port

MARGIN = 0.25  # seconds a fallback may take beyond the timeout (the fallback itself, scheduling)


def _objection(id: str, intent: Intent, *phrasings: str) -> Objection:
    return Objection(id, "general", intent, phrasings, "Je comprends tout à fait votre remarque.", f"objections/{id}")


LIBRARY = Library((
    _objection("no_time", Intent.OBJECTION, "je n'ai pas le temps", "là je suis pressé", "pas maintenant"),
    _objection("not_interested", Intent.OBJECTION, "ça ne m'intéresse pas", "non merci", "pas intéressé"),
    _objection("who_are_you", Intent.QUESTION, "qui êtes-vous", "c'est qui", "vous appelez de la part de qui"),
))


class StubClassifier:
    """The offline classifier's stand-in: always unsure, and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    async def understand(self, text: str) -> Understanding:
        self.calls += 1
        return Understanding(text, Intent.UNSURE, None, 0.3, "stub")


def answer_json(intent: str, objection: str | None = None, confidence: float = 0.9) -> str:
    return json.dumps({"intent": intent, "objection": objection, "confidence": confidence})


def by_caller_text(table: dict[str, str]):
    """A fake reply looking up the caller's words (the last message) in a table."""
    return lambda request: table[request["messages"][-1]["content"]]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def llm(fake):
    async with OllamaChat(fake.url, DEFAULT_MODEL, keep_alive="30m") as chat:
        yield chat


@pytest.fixture
def fallback() -> StubClassifier:
    return StubClassifier()


def classifier(chat, fallback, *, timeout=1.0, breaker=None) -> OllamaClassifier:
    return OllamaClassifier(chat, LIBRARY, fallback, timeout, breaker=breaker)


# --- settings -------------------------------------------------------------------------------------------

def test_llm_settings_defaults_and_environment(monkeypatch):
    assert Settings().llm == LlmSettings()
    assert not LlmSettings().enabled and LlmSettings().timeout == 1.5 and LlmSettings().freestyle_timeout == 4.0
    monkeypatch.setenv("MINIBOT_LLM__ENABLED", "true")
    monkeypatch.setenv("MINIBOT_LLM__MODEL", "mistral:7b")
    monkeypatch.setenv("MINIBOT_LLM__TIMEOUT", "0.8")
    settings = Settings(_env_file=None)
    assert settings.llm.enabled and settings.llm.model == "mistral:7b" and settings.llm.timeout == 0.8


# --- the fake speaks Ollama's API -----------------------------------------------------------------------

async def test_fake_speaks_the_api_the_official_client_uses(fake):
    fake.reply = lambda request: "Bonjour, je vous écoute."
    async with httpx.AsyncClient(base_url=fake.url) as http:  # the client has no call for it
        assert (await http.get("/api/version")).json()["version"]
    client = ollama.AsyncClient(host=fake.url)
    assert [m.model for m in (await client.list()).models] == [DEFAULT_MODEL]
    parts = [p async for p in await client.chat(model=DEFAULT_MODEL, stream=True,
                                                  messages=[{"role": "user", "content": "allô"}])]
    assert "".join(p.message.content for p in parts) == "Bonjour, je vous écoute."
    assert parts[-1].done and parts[-1].done_reason == "stop" and not parts[0].done
    generated = await client.generate(model=DEFAULT_MODEL, prompt="allô")
    assert generated.response == "Bonjour, je vous écoute."
    assert [m.model for m in (await client.ps()).models] == [DEFAULT_MODEL]
    with pytest.raises(ollama.ResponseError) as missing:
        await client.chat(model="absent:1b", messages=[{"role": "user", "content": "allô"}])
    assert missing.value.status_code == 404 and missing.value.error == "model 'absent:1b' not found"
    await client.close()


# --- OllamaChat -----------------------------------------------------------------------------------------

async def test_chat_sends_schema_keep_alive_and_options(fake, llm):
    fake.reply = lambda request: '{"ok": true}'
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    assert await llm.chat([{"role": "user", "content": "test"}], schema=schema, timeout=1.0) == '{"ok": true}'
    (sent,) = fake.bodies("/api/chat")
    assert sent["format"] == schema and sent["keep_alive"] == "30m" and sent["stream"] is False
    assert sent["options"]["temperature"] <= 0.3 and sent["options"]["num_predict"] > 0
    assert sent["messages"] == [{"role": "user", "content": "test"}]


async def test_chat_without_schema_sends_no_format(fake, llm):
    fake.reply = lambda request: "Oui."
    await llm.chat([{"role": "user", "content": "test"}], timeout=1.0)
    assert "format" not in fake.bodies("/api/chat")[0]


async def test_prewarm_loads_the_model_and_keeps_it(fake, llm):
    assert await llm.prewarm(timeout=1.0)
    (sent,) = fake.bodies("/api/generate")
    assert sent["model"] == DEFAULT_MODEL and sent["prompt"] == "" and sent["keep_alive"] == "30m"
    assert fake.loaded == {DEFAULT_MODEL: "30m"}


async def test_prewarm_reports_failure_without_raising(caplog):
    async with OllamaChat(f"http://127.0.0.1:{free_port()}", DEFAULT_MODEL) as chat:
        assert not await chat.prewarm(timeout=1.0)
    assert "prewarm failed" in caplog.text and "cannot connect" in caplog.text


@pytest.mark.parametrize(("fault", "reason", "words"), [
    ("http_500", LlmFailure.HTTP, "500"),
    ("garbage", LlmFailure.BAD_REPLY, "unreadable"),
    ("close", LlmFailure.DOWN, "failed"),
])
async def test_chat_failures_become_llm_unavailable(fake, llm, fault, reason, words):
    fake.fault = fault
    with pytest.raises(LlmUnavailable) as failed:
        await llm.chat([{"role": "user", "content": "test"}], timeout=1.0)
    assert failed.value.reason == reason and words in str(failed.value)


async def test_missing_model_says_how_to_pull_it(fake):
    async with OllamaChat(fake.url, "absent:1b") as chat:
        with pytest.raises(LlmUnavailable) as failed:
            await chat.chat([{"role": "user", "content": "test"}], timeout=1.0)
    assert failed.value.reason == LlmFailure.MODEL_MISSING and "ollama pull absent:1b" in str(failed.value)


async def test_connection_refused_is_down_and_fast():
    async with OllamaChat(f"http://127.0.0.1:{free_port()}", DEFAULT_MODEL) as chat:
        started = time.monotonic()
        with pytest.raises(LlmUnavailable) as failed:
            await chat.chat([{"role": "user", "content": "test"}], timeout=1.0)
    assert failed.value.reason == LlmFailure.DOWN and time.monotonic() - started < 0.5


async def test_slow_server_times_out_on_time(fake, llm):
    fake.delay = 5.0
    started = time.monotonic()
    with pytest.raises(LlmUnavailable) as failed:
        await llm.chat([{"role": "user", "content": "test"}], timeout=0.3)
    assert failed.value.reason == LlmFailure.TIMEOUT and time.monotonic() - started < 0.3 + MARGIN


async def test_credentials_in_the_url_never_reach_messages(caplog):
    async with OllamaChat(f"http://admin:hunter2@127.0.0.1:{free_port()}", DEFAULT_MODEL) as chat:
        with pytest.raises(LlmUnavailable) as failed:
            await chat.chat([{"role": "user", "content": "test"}], timeout=1.0)
        await chat.prewarm(timeout=1.0)
    assert "hunter2" not in str(failed.value) and "hunter2" not in caplog.text


# --- OllamaClassifier -----------------------------------------------------------------------------------

async def test_classifies_with_the_llm(fake, llm, fallback):
    fake.reply = by_caller_text({
        "j'ai vraiment pas le temps là": answer_json("objection", "no_time", 0.93),
        "vous êtes qui au juste": answer_json("question", "who_are_you", 0.88),
        "oui allez-y": answer_json("affirm", None, 0.97),
        "c'est combien votre truc": answer_json("question", None, 0.7),
    })
    nlu = classifier(llm, fallback)
    got = await nlu.understand("j'ai vraiment pas le temps là")
    assert got == Understanding("j'ai vraiment pas le temps là", Intent.OBJECTION, "no_time", 0.93, "ollama",
                                sentiment="neutral")
    assert (await nlu.understand("vous êtes qui au juste")).objection == "who_are_you"
    assert (await nlu.understand("oui allez-y")).intent == Intent.AFFIRM
    unknown_question = await nlu.understand("c'est combien votre truc")  # not in the library: freestyle's job
    assert (unknown_question.intent, unknown_question.objection, unknown_question.source) == (
        Intent.QUESTION, None, "ollama")
    assert fallback.calls == 0


async def test_prompt_and_schema_describe_taxonomy_and_library(fake, llm, fallback):
    fake.reply = lambda request: answer_json("deny")
    await classifier(llm, fallback).understand("non")
    (sent,) = fake.bodies("/api/chat")
    system, user = sent["messages"]
    assert system["role"] == "system" and user == {"role": "user", "content": "non"}
    for intent in Intent:
        assert f"- {intent.value} : {MEANINGS[intent]}" in system["content"]
    for entry in LIBRARY.entries:
        assert f"- {entry.id} ({entry.intent.value}) : « {entry.phrasings[0]} »" in system["content"]
    schema = sent["format"]
    assert schema["properties"]["intent"]["enum"] == [i.value for i in Intent]
    assert schema["properties"]["objection"]["enum"] == ["no_time", "not_interested", "who_are_you", None]
    assert set(schema["required"]) == {"intent", "objection", "confidence"}
    assert sent["keep_alive"] == "30m"


async def test_timeout_falls_back_fast(fake, llm, fallback):
    fake.delay = 5.0
    started = time.monotonic()
    got = await classifier(llm, fallback, timeout=0.3).understand("bof")
    assert time.monotonic() - started < 0.3 + MARGIN
    assert (got.intent, got.source) == (Intent.UNSURE, "fallback(timeout)") and fallback.calls == 1


async def test_server_down_falls_back(fallback):
    async with OllamaChat(f"http://127.0.0.1:{free_port()}", DEFAULT_MODEL) as chat:
        got = await classifier(chat, fallback).understand("bof")
    assert got.source == "fallback(down)" and got.text == "bof"


@pytest.mark.parametrize(("fault", "source"), [("http_500", "fallback(http error)"),
                                               ("garbage", "fallback(bad reply)"),
                                               ("close", "fallback(down)")])
async def test_server_faults_fall_back(fake, llm, fallback, fault, source):
    fake.fault = fault
    assert (await classifier(llm, fallback).understand("bof")).source == source


async def test_missing_model_falls_back(fake, fallback):
    async with OllamaChat(fake.url, "absent:1b") as chat:
        assert (await classifier(chat, fallback).understand("bof")).source == "fallback(model missing)"


@pytest.mark.parametrize(("content", "source"), [
    ("je pense que c'est une objection", "fallback(invalid json)"),
    ('{"intent": "objection", "objection": "no_t', "fallback(invalid json)"),  # cut by num_predict
    (answer_json("maybe"), "fallback(invalid json)"),
    (answer_json("affirm", confidence=1.7), "fallback(invalid json)"),
    ('{"intent": "affirm"}', "fallback(invalid json)"),
    (answer_json("objection", "too_expensive"), "fallback(unknown objection)"),
    (answer_json("objection", "who_are_you"), "fallback(intent mismatch)"),
])
async def test_nonsense_falls_back(fake, llm, fallback, content, source):
    fake.reply = lambda request: content
    got = await classifier(llm, fallback).understand("bof")
    assert got.source == source and got.intent == Intent.UNSURE


async def test_stray_objection_id_on_another_intent_is_dropped(fake, llm, fallback):
    fake.reply = lambda request: answer_json("opt_out", "not_interested", 0.8)
    got = await classifier(llm, fallback).understand("retirez mon numéro de votre liste")
    assert (got.intent, got.objection, got.source) == (Intent.OPT_OUT, None, "ollama")


async def test_the_llm_answer_is_held_to_the_offline_opt_out_rules(fake, llm, fallback):
    fake.reply = by_caller_text({
        "vous ne me dérangez pas du tout": answer_json("opt_out", None, 0.9),  # a negation read as a refusal
        "non merci et ne me rappelez plus": answer_json("objection", "not_interested", 0.8),  # the opt-out missed
        "stop": answer_json("opt_out", None, 0.9),  # stop talking, or stop calling?
        "je veux plus entendre parler de ça": answer_json("opt_out", None, 0.7),  # no explicit words: ask
    })
    nlu = classifier(llm, fallback)
    negated = await nlu.understand("vous ne me dérangez pas du tout")
    assert negated.intent is not Intent.OPT_OUT and negated.source.startswith("fallback")
    missed = await nlu.understand("non merci et ne me rappelez plus")
    assert missed.decided_opt_out
    for text in ("stop", "je veux plus entendre parler de ça"):
        unsure = await nlu.understand(text)
        assert unsure.intent is Intent.OPT_OUT and unsure.confirm and not unsure.decided_opt_out, text


def test_the_prompt_teaches_negation_two_intents_and_recognition_errors():
    from bot.dialog.nlu.ollama import system_prompt

    prompt = system_prompt(LIBRARY)
    for words in ("vous ne me dérangez pas du tout", "opt_out l'emporte toujours", "c'est trop chair",
                  "non non ça m'intéresse", '"objection": "not_interested"'):
        assert words in prompt
    assert "wrong_person" not in prompt  # an example whose entry this library lacks is left out


async def test_empty_text_skips_the_llm(fake, llm, fallback):
    assert (await classifier(llm, fallback).understand("  ")).source == "fallback(empty)"
    assert fake.requests == []


async def test_circuit_breaker_skips_the_llm_then_retries(fake, llm, fallback):
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, cooldown=30.0, clock=clock)
    nlu = classifier(llm, fallback, timeout=0.2, breaker=breaker)
    fake.delay = 5.0
    for _ in range(2):
        assert (await nlu.understand("bof")).source == "fallback(timeout)"
    for _ in range(5):
        assert (await nlu.understand("bof")).source == "fallback(circuit open)"
    # Skipped, not tried and timed out: no request reached the server (each would have waited 0.2 s
    # for a 5 s answer; a wall-clock bound would only measure how loaded the machine is).
    assert len(fake.bodies("/api/chat")) == 2

    clock.now += 31  # cooldown over; one more failure re-opens it at once
    assert (await nlu.understand("bof")).source == "fallback(timeout)"
    assert (await nlu.understand("bof")).source == "fallback(circuit open)"

    clock.now += 31
    fake.delay = 0.0
    fake.reply = lambda request: answer_json("affirm")
    assert (await nlu.understand("oui")).source == "ollama"
    assert breaker.failures == 0 and (await nlu.understand("oui")).source == "ollama"


async def test_nonsense_does_not_trip_the_breaker(fake, llm, fallback):
    fake.reply = lambda request: "n'importe quoi"
    nlu = classifier(llm, fallback, breaker=CircuitBreaker(threshold=2))
    for _ in range(4):
        assert (await nlu.understand("bof")).source == "fallback(invalid json)"
    assert len(fake.bodies("/api/chat")) == 4


async def test_warnings_are_rate_limited(fake, llm, fallback, caplog):
    caplog.set_level(logging.INFO, logger="bot.dialog.nlu.ollama")
    nlu = classifier(llm, fallback, timeout=0.1, breaker=CircuitBreaker(threshold=100))
    fake.delay = 1.0
    for _ in range(5):
        await nlu.understand("bof")
    fake.delay = 0.0
    fake.reply = lambda request: answer_json("affirm")
    for _ in range(3):
        await nlu.understand("oui")
    records = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in records] == ["WARNING", "INFO"]
    assert "NLU falls back (timeout)" in records[0][1] and "answers again" in records[1][1]


def test_health_log_repeats_a_lasting_problem_with_a_count(caplog):
    clock = FakeClock()
    health = HealthLog(logging.getLogger("test.health"), "NLU", repeat_after=300, clock=clock)
    for _ in range(4):
        health.failed("invalid json", "'bla'", outage=False)
    clock.now += 301
    health.failed("invalid json", "'bla'", outage=False)
    health.ok()  # not an outage: nothing to announce
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2 and "[3 more since the last warning]" in messages[1]
