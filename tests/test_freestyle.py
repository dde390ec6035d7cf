"""Free LLM answers: the prompt, the guards that enforce its rules, the deadline, and the rail returns.
The LLM is the fake Ollama server (tests/fake_ollama.py) behind the real `ollama` client."""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import pytest

from bot.dialog.freestyle import (
    PERSONALITIES,
    Exchange,
    Freestyle,
    FreestyleBrief,
    RailReturns,
    build_messages,
    load_rail_returns,
    vet,
)
from bot.dialog.llm import CircuitBreaker, OllamaChat
from tests.fake_ollama import DEFAULT_MODEL, free_port

FACTS = [
    "L'audit énergétique est gratuit et dure environ 45 minutes.",
    "Les conseillers interviennent dans toute la région Auvergne-Rhône-Alpes.",
    "L'isolation des combles peut être aidée jusqu'à 75 % selon les revenus.",
]
BRIEF = FreestyleBrief(
    agent_name="Camille", company_name="Rénov'Habitat",
    context="Nous proposons aux propriétaires un audit énergétique de leur logement.",
    objective="appointment", personality="consultatif", facts=FACTS,
)
HISTORY = [Exchange(f"phrase de l'appelant numéro {i}", f"réponse du bot numéro {i}") for i in range(1, 8)]


@pytest.fixture
async def llm(fake):
    async with OllamaChat(fake.url, DEFAULT_MODEL) as chat:
        yield chat


# --- the prompt -----------------------------------------------------------------------------------------

def test_prompt_holds_the_brief_and_only_the_last_five_exchanges():
    system, user = build_messages(BRIEF, HISTORY, "Et ça prend combien de temps ?")
    assert user == {"role": "user", "content": "Et ça prend combien de temps ?"}
    prompt = system["content"]
    assert system["role"] == "system"
    for i in (1, 2):
        assert f"numéro {i}" not in prompt
    for i in range(3, 8):
        assert f"Personne : phrase de l'appelant numéro {i}\nCamille : réponse du bot numéro {i}" in prompt
    assert prompt.index("numéro 3") < prompt.index("numéro 7")  # oldest first
    for fact in FACTS:
        assert f"- {fact}" in prompt
    assert PERSONALITIES["consultatif"] in prompt
    assert "Camille" in prompt and "Rénov'Habitat" in prompt and BRIEF.context in prompt
    assert "rendez-vous" in prompt  # the objective, in words
    for rule in ("deux ou trois phrases", "N'inventez jamais de prix", "assistant automatique",
                 "Ne faites jamais pression", "pas d'émojis"):
        assert rule in prompt


def test_prompt_without_history_or_facts():
    brief = FreestyleBrief("Léo", "Acme", "Une enquête.", "lead", "doux")
    prompt = build_messages(brief, [], "Bonjour ?")[0]["content"]
    assert "(début de l'appel)" in prompt and "(aucune information)" in prompt


def test_the_seven_personalities():
    assert list(PERSONALITIES) == ["professionnel", "doux", "dynamique", "assertif", "expert", "commercial",
                                   "consultatif"]
    assert len(set(PERSONALITIES.values())) == 7
    assert all("Vous " in text and len(text) > 80 for text in PERSONALITIES.values())


@pytest.mark.parametrize(("field", "value"), [("personality", "agressif"), ("objective", "sale")])
def test_brief_rejects_unknown_choices(field, value):
    fields = {"agent_name": "Léo", "company_name": "Acme", "context": "x", "objective": "lead",
              "personality": "doux", field: value}
    with pytest.raises(ValueError, match="known"):
        FreestyleBrief(**fields)


# --- the guards -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("answer", "spoken"), [
    ("**Bien sûr** 😊 ! L'audit est *gratuit*.", "Bien sûr ! L'audit est gratuit."),
    ("Je vous explique :\n- l'audit est gratuit\n- il dure 45 minutes", "Je vous explique : l'audit est gratuit. "
                                                                        "il dure 45 minutes."),
    ("« Je comprends. »", "Je comprends."),
    ("Un. Deux ! Trois ? Quatre. Cinq.", "Un. Deux ! Trois ?"),
    ("C'est gratuit. Un conseiller pourra vous en dire plus et", "C'est gratuit."),  # cut by the token cap
    ("Je comprends votre question", "Je comprends votre question."),
])
def test_guards_repair_what_they_can(answer, spoken):
    assert vet(answer, FACTS).text == spoken


@pytest.mark.parametrize(("answer", "reason"), [
    ("", "empty"),
    ("  🙂 ** ", "empty"),
    ("Oui, c'est possible " + "et même très intéressant " * 20 + ".", "too long"),
    ("L'audit coûte 49 € et c'est rapide.", "49"),
    ("L'aide va jusqu'à 90 %.", "90"),
    ("Cela coûte cinquante euros seulement.", "50"),
    ("On vous rembourse vingt pour cent.", "20"),
    ("Un rendez-vous le 12 mars ?", "12"),
])
def test_guards_refuse_what_they_cannot(answer, reason):
    verdict = vet(answer, FACTS)
    assert verdict.text is None and reason in verdict.reason


@pytest.mark.parametrize("answer", [
    "L'audit dure environ 45 minutes et il est gratuit.",
    "L'aide peut aller jusqu'à 75 % selon vos revenus.",
    "Cela ne prendra que deux minutes de votre temps.",  # a bare number word is speech, not a claim
    "Soixante-quinze pour cent, selon vos revenus.",  # the fact sheet's 75 % in words
])
def test_guards_accept_numbers_from_the_fact_sheet(answer):
    assert vet(answer, FACTS).text == answer


# --- Freestyle over HTTP --------------------------------------------------------------------------------

async def test_answers_and_sends_the_prompt(fake, llm):
    fake.reply = lambda request: "L'audit est gratuit et dure environ 45 minutes. Quand seriez-vous disponible ?"
    said = await Freestyle(llm, timeout=1.0).answer(BRIEF, HISTORY, "Ça dure longtemps ?")
    assert said == "L'audit est gratuit et dure environ 45 minutes. Quand seriez-vous disponible ?"
    (sent,) = fake.bodies("/api/chat")
    assert sent["messages"] == build_messages(BRIEF, HISTORY, "Ça dure longtemps ?")
    assert "format" not in sent and sent["keep_alive"] == "30m"


async def test_invented_price_is_not_said(fake, llm, caplog):
    caplog.set_level(logging.INFO, logger="bot.dialog.freestyle.answer")
    fake.reply = lambda request: "L'audit coûte 199 euros. Voulez-vous un rendez-vous ?"
    assert await Freestyle(llm, timeout=1.0).answer(BRIEF, HISTORY, "C'est combien ?") is None
    assert "199" in caplog.text


async def test_long_answer_is_cut_to_three_sentences(fake, llm):
    fake.reply = lambda request: "Je comprends. C'est gratuit. Un conseiller vient chez vous. Il regarde tout. Voilà."
    said = await Freestyle(llm, timeout=1.0).answer(BRIEF, HISTORY, "Et alors ?")
    assert said == "Je comprends. C'est gratuit. Un conseiller vient chez vous."


async def test_slow_llm_gives_none_on_time(fake, llm):
    fake.delay = 5.0
    started = time.monotonic()
    assert await Freestyle(llm, timeout=0.3).answer(BRIEF, HISTORY, "Et alors ?") is None
    assert time.monotonic() - started < 0.3 + 0.25


async def test_llm_down_gives_none():
    async with OllamaChat(f"http://127.0.0.1:{free_port()}", DEFAULT_MODEL) as chat:
        assert await Freestyle(chat, timeout=1.0).answer(BRIEF, HISTORY, "Et alors ?") is None


async def test_open_breaker_gives_none_without_asking(fake, llm):
    fake.fault = "http_500"
    freestyle = Freestyle(llm, timeout=1.0, breaker=CircuitBreaker(threshold=1, cooldown=60))
    assert await freestyle.answer(BRIEF, HISTORY, "Et alors ?") is None
    fake.fault = None
    assert await freestyle.answer(BRIEF, HISTORY, "Et alors ?") is None
    assert len(fake.bodies("/api/chat")) == 1


# --- rail returns ---------------------------------------------------------------------------------------

def test_rail_returns_are_many_distinct_sentences():
    returns = load_rail_returns()
    assert len(returns) >= 30
    assert len({r.text for r in returns}) == len(returns) and len({r.id for r in returns}) == len(returns)
    assert all(r.text.endswith((".", "!", "?")) and r.audio == f"rail_returns/{r.id}" for r in returns)
    assert not any("{" in r.text for r in returns)  # lead-ins only: the step's line is appended
    assert returns[0].before("Êtes-vous propriétaire ?") == f"{returns[0].text} Êtes-vous propriétaire ?"


def test_rail_returns_never_repeat_the_recent_ones():
    rails = RailReturns.load(memory=8)
    rng = random.Random(7)
    picked = [rails.pick(rng).id for _ in range(500)]
    for i in range(len(picked)):
        assert picked[i] not in picked[max(0, i - 8):i]
    assert len(set(picked)) == len(rails.entries)  # and every one gets its turn


def test_rail_returns_file_errors_name_the_file(tmp_path: Path):
    path = tmp_path / "rail_returns.yaml"
    path.write_text("returns:\n  - {id: a, text: Revenons-y.}\n  - {id: a, text: Reprenons.}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate id"):
        load_rail_returns(path)
    path.write_text("returns:\n  - {id: a, text: sans point final}\n  - {id: b, text: Reprenons.}\n")
    with pytest.raises(ValueError, match=str(path)):
        load_rail_returns(path)
