"""The offline intent classifier: rules first, then the nearest labelled examples.

Needs no LLM and no network. The example bank is the intents' examples (scenarios/nlu/) plus
every phrasing of the objection library in use, so an objection is recognised with its id.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import replace
from pathlib import Path

import yaml

from ..intents import Intent, Understanding
from ..objections.library import Library
from ..objections.matcher import ObjectionMatcher
from .embeddings import Embedder
from .index import Example
from .model import IntentModel
from .normalize import normalize
from .optout import OptOut, opt_out
from .rules import match_rules
from .sentiment import sentiment

NLU_DATA = Path(__file__).resolve().parents[3] / "scenarios" / "nlu"
INTENT_EXAMPLES = NLU_DATA / "intents.yaml"
# Caller utterances as a phone recogniser writes them, labelled: what real calls sound like.
LABELLED_UTTERANCES = NLU_DATA / "utterances.jsonl"
# The training part of the messy development set (negation, slang, recognition errors, two
# intents at once); its held-out part is tests/data/nlu_messy.jsonl, never trained on.
MESSY_UTTERANCES = NLU_DATA / "messy_train.jsonl"
_QUESTION_WORDS = re.compile(
    r"^(combien|comment|pourquoi|quand|ou|quel|quelle|quels|quelles|que est ce|qui|est ce que|ce est quoi|ce est qui"
    r"|ca coute|vous etes qui|ca sert)\b|\b(combien|pourquoi|quoi|ou ca|est ce que|ce est quoi|quelle?s?)$"
)
_INTENT_PREFIX, _OBJECTION_PREFIX = "intent:", "objection:"
_MODEL_OPT_OUT_ASK = 0.6
_WRONG_NUMBER = re.compile(
    r"\b(trompe\w*|erreur|faux|mauvais) (de )?numero\b|\bnumero (errone|faux)\b|\bpas le bon numero\b"
)


def load_intent_examples(path: Path = INTENT_EXAMPLES) -> list[Example]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    examples = []
    for name, phrasings in raw.items():
        intent = Intent.parse(name)
        if intent is Intent.OBJECTION:
            raise ValueError(f"{path}: objections come from the objection library, not {name!r}")
        examples += [Example(_INTENT_PREFIX + intent.value, p) for p in phrasings]
    return examples


def load_labelled_utterances(path: Path = LABELLED_UTTERANCES) -> list[Example]:
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            intent = Intent.parse(row["intent"])
            label = _OBJECTION_PREFIX + row["objection"] if row.get("objection") else _INTENT_PREFIX + intent.value
            examples.append(Example(label, row["text"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}:{number}: {exc}") from None
    return examples


class OfflineClassifier:
    """`IntentClassifier` with no network: rules, then a model trained on the examples
    (character and word n-grams, and e5 embeddings when available)."""

    cheap = True  # tens of ms of local CPU: worth running on partial transcripts (bot.call.anticipation)

    def __init__(self, library: Library, *, embedder: Embedder | None = None, floor: float = 0.25) -> None:
        self.library = library
        examples = load_intent_examples()
        examples += [Example(_OBJECTION_PREFIX + e.id, p) for e in library.entries for p in e.phrasings]
        known = {e.id for e in library.entries}
        labelled = load_labelled_utterances() + load_labelled_utterances(MESSY_UTTERANCES)
        examples += [e for e in labelled if not e.label.startswith(_OBJECTION_PREFIX)
                     or e.label.removeprefix(_OBJECTION_PREFIX) in known]
        self.model = IntentModel(examples, embedder)
        # How close the words are to the entry the model chose: the confidence the seeds'
        # thresholds read (answer from 0.5, pre-recorded answer from 0.7).
        self.matcher = ObjectionMatcher(library, embedder=embedder)
        self.floor = floor  # below this, the model is guessing: a question stays a question
        self._known = known

    def classify(self, text: str) -> Understanding:
        understood = self._classify(text)
        mood = sentiment(text, understood.intent, understood.objection)
        return replace(understood, sentiment=mood.value)

    def _classify(self, text: str) -> Understanding:
        normalized = normalize(text)
        verdict = opt_out(normalized)
        if verdict is OptOut.DECIDED:
            return Understanding(text, Intent.OPT_OUT, None, 0.95, "rules")
        if verdict is OptOut.ASK:
            return Understanding(text, Intent.OPT_OUT, None, 0.5, "rules(ask)", confirm=True)
        ruled = match_rules(normalized)
        if ruled is not None:
            return Understanding(text, ruled, None, 0.95, "rules")
        if _WRONG_NUMBER.search(normalized) and "wrong_person" in self._known:
            # Close in meaning to "how did you get my number", the opposite for the call.
            return Understanding(text, Intent.OBJECTION, "wrong_person", 0.9, "rules")
        vector = self.matcher.index.embed(text)
        ranked = self.model.predict(text, vector, limit=2)
        best = ranked[0]
        if best.label == _INTENT_PREFIX + Intent.OPT_OUT.value:
            # The model never takes a do-not-call decision (only the rules do, on explicit words):
            # sure of itself, it makes the bot ask; otherwise, or where the rules found the words
            # turned around ("j'ai pas dit de plus m'appeler"), its next guess stands.
            if verdict is OptOut.NO and best.probability >= _MODEL_OPT_OUT_ASK:
                return Understanding(text, Intent.OPT_OUT, None, best.probability, "model(ask)", confirm=True)
            best = ranked[1]
        if best.probability < self.floor and _QUESTION_WORDS.search(normalized):
            return Understanding(text, Intent.QUESTION, None, best.probability, "question-words")
        if best.label.startswith(_OBJECTION_PREFIX):
            entry = self.library.by_id(best.label.removeprefix(_OBJECTION_PREFIX))
            closeness = self.matcher.index.score_of(entry.id, text, vector)
            return Understanding(text, entry.intent, entry.id, max(best.probability, closeness), "model")
        return Understanding(text, Intent(best.label.removeprefix(_INTENT_PREFIX)), None, best.probability, "model")

    async def understand(self, text: str) -> Understanding:
        # ~10 ms of embedding: off the event loop, where 20 ms audio frames are waiting.
        return await asyncio.to_thread(self.classify, text)


def default_classifier(library: Library, *, embeddings: bool = True) -> OfflineClassifier:
    return OfflineClassifier(library, embedder=Embedder() if embeddings else None)
