"""The offline intent classifier: rules first, then the nearest labelled examples.

Needs no LLM and no network. The example bank is the intents' examples (scenarios/nlu/) plus
every phrasing of the objection library in use, so an objection is recognised with its id.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import yaml

from ..intents import Intent, Understanding
from ..objections.library import Library
from .embeddings import Embedder
from .index import Example
from .model import IntentModel
from .normalize import normalize
from .rules import match_rules

INTENT_EXAMPLES = Path(__file__).resolve().parents[3] / "scenarios" / "nlu" / "intents.yaml"
_QUESTION_WORDS = re.compile(
    r"^(combien|comment|pourquoi|quand|ou|quel|quelle|quels|quelles|que est ce|qui|est ce que|ce est quoi|ce est qui"
    r"|ca coute|vous etes qui|ca sert)\b|\b(combien|pourquoi|quoi|ou ca|est ce que|ce est quoi|quelle?s?)$"
)
_INTENT_PREFIX, _OBJECTION_PREFIX = "intent:", "objection:"


def load_intent_examples(path: Path = INTENT_EXAMPLES) -> list[Example]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    examples = []
    for name, phrasings in raw.items():
        intent = Intent.parse(name)
        if intent is Intent.OBJECTION:
            raise ValueError(f"{path}: objections come from the objection library, not {name!r}")
        examples += [Example(_INTENT_PREFIX + intent.value, p) for p in phrasings]
    return examples


class OfflineClassifier:
    """`IntentClassifier` with no network: rules, then a model trained on the examples
    (character and word n-grams, and e5 embeddings when available)."""

    def __init__(self, library: Library, *, embedder: Embedder | None = None, floor: float = 0.25) -> None:
        self.library = library
        examples = load_intent_examples()
        examples += [Example(_OBJECTION_PREFIX + e.id, p) for e in library.entries for p in e.phrasings]
        self.model = IntentModel(examples, embedder)
        self.floor = floor  # below this, the model is guessing: a question stays a question

    def classify(self, text: str) -> Understanding:
        normalized = normalize(text)
        ruled = match_rules(normalized)
        if ruled is not None:
            return Understanding(text, ruled, None, 0.95, "rules")
        best = self.model.predict(text, limit=1)[0]
        if best.probability < self.floor and _QUESTION_WORDS.search(normalized):
            return Understanding(text, Intent.QUESTION, None, best.probability, "question-words")
        if best.label.startswith(_OBJECTION_PREFIX):
            entry = self.library.by_id(best.label.removeprefix(_OBJECTION_PREFIX))
            return Understanding(text, entry.intent, entry.id, best.probability, "model")
        return Understanding(text, Intent(best.label.removeprefix(_INTENT_PREFIX)), None, best.probability, "model")

    async def understand(self, text: str) -> Understanding:
        # ~10 ms of embedding: off the event loop, where 20 ms audio frames are waiting.
        return await asyncio.to_thread(self.classify, text)


def default_classifier(library: Library, *, embeddings: bool = True) -> OfflineClassifier:
    return OfflineClassifier(library, embedder=Embedder() if embeddings else None)
