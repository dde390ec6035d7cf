"""Intent classification by the local LLM (Ollama), with the offline classifier behind it.

The LLM reads the caller's words against the intent taxonomy and the campaign's objection
library and answers strict JSON. Whenever it is slow, down or talks nonsense, the offline
classifier answers instead, and `Understanding.source` says why (`fallback(timeout)`).
"""

from __future__ import annotations

import dataclasses
import json
import logging

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..intents import Intent, IntentClassifier, Understanding
from ..llm import ChatModel, CircuitBreaker, HealthLog, LlmFailure, LlmUnavailable
from ..objections.library import Library
from .normalize import normalize
from .optout import OptOut, opt_out
from .sentiment import sentiment

log = logging.getLogger(__name__)

# One line per intent, conventions of scenarios/objections/README.md.
MEANINGS: dict[Intent, str] = {
    Intent.AFFIRM: "accepte, dit oui (« oui », « d'accord », « volontiers »)",
    Intent.DENY: "refuse d'un simple non, sans donner de raison (« non », « pas du tout »)",
    Intent.UNSURE: "hésite (« je ne sais pas », « peut-être ») ; « je vais réfléchir » est une objection",
    Intent.QUESTION: "pose une question (« qui êtes-vous ? », « c'est un robot ? »)",
    Intent.OBJECTION: "donne une raison de ne pas continuer (« ça ne m'intéresse pas », « je n'ai pas le temps »)",
    Intent.CALLBACK: "demande à être rappelé à un autre moment (« rappelez-moi demain ») ; "
    "« je n'ai pas le temps » seul est une objection",
    Intent.OPT_OUT: "ne veut plus jamais être appelé (« ne m'appelez plus », « retirez mon numéro ») ; "
    "ce n'est jamais une objection",
    Intent.TRANSFER: "demande à parler à une personne, à un conseiller",
    Intent.REPEAT: "n'a pas entendu ou pas compris (« pardon ? », « vous pouvez répéter ? »)",
}
CARRY_AN_ID = (Intent.OBJECTION, Intent.QUESTION)


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    intent: Intent
    objection: str | None
    confidence: float = Field(ge=0, le=1)


class _Nonsense(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class OllamaClassifier:
    """`IntentClassifier` asking the LLM first, within `timeout` seconds, and `fallback` otherwise.

    A circuit breaker skips the LLM for a while after consecutive failures, so that a dead Ollama
    does not cost every caller the timeout; nonsense answers do not count (the LLM is up)."""

    def __init__(
        self,
        chat: ChatModel,
        library: Library,
        fallback: IntentClassifier,
        timeout: float,
        *,
        breaker: CircuitBreaker | None = None,
    ) -> None:
        self._chat = chat
        self._fallback = fallback
        self._timeout = timeout
        self._entries = {e.id: e for e in library.entries}
        self.breaker = breaker or CircuitBreaker()
        self._health = HealthLog(log, "NLU")
        # Built once and kept first: Ollama reuses the evaluated prompt prefix between requests.
        self._system = {"role": "system", "content": system_prompt(library)}
        self.schema = reply_schema(library)

    async def understand(self, text: str) -> Understanding:
        if not text.strip():
            return await self._fall_back(text, "empty")
        if not self.breaker.allow():
            detail = f"{self.breaker.failures} failures in a row, LLM skipped for {self.breaker.cooldown:g} s"
            return await self._fall_back(text, LlmFailure.CIRCUIT_OPEN, detail, outage=False)
        messages = [self._system, {"role": "user", "content": text}]
        try:
            raw = await self._chat.chat(messages, schema=self.schema, timeout=self._timeout)
        except LlmUnavailable as exc:
            self.breaker.failure()
            return await self._fall_back(text, exc.reason, str(exc), outage=True)
        self.breaker.success()
        self._health.ok()
        try:
            understood = self._read(text, raw)
        except _Nonsense as exc:
            return await self._fall_back(text, exc.reason, str(exc), outage=False)
        understood = await self._checked_opt_out(understood)
        mood = sentiment(text, understood.intent, understood.objection)
        return dataclasses.replace(understood, sentiment=mood.value)

    async def _checked_opt_out(self, understood: Understanding) -> Understanding:
        """The LLM's answer held to the offline opt-out rules: a do-not-call decision only on
        explicit words; explicit words always win (legal weight); unsure, the bot asks."""
        verdict = opt_out(normalize(understood.text))
        if verdict is OptOut.DECIDED:
            if understood.intent is Intent.OPT_OUT:
                return understood
            return Understanding(understood.text, Intent.OPT_OUT, None, 0.95, "rules(over ollama)")
        if verdict is OptOut.ASK:
            return Understanding(understood.text, Intent.OPT_OUT, None, 0.5, "rules(ask, ollama)", confirm=True)
        if understood.intent is not Intent.OPT_OUT:
            return understood
        if verdict is OptOut.NOT:  # "vous ne me dérangez pas": the LLM read a refusal into a negation
            return await self._fall_back(understood.text, "opt-out on negated words")
        return dataclasses.replace(understood, confirm=True, source="ollama(ask)")

    def _read(self, text: str, raw: str) -> Understanding:
        try:
            reply = _Reply.model_validate_json(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(map(str, first["loc"]))
            raise _Nonsense("invalid json", f"{raw[:120]!r}: {where} {first['msg']}") from None
        objection = reply.objection or None  # "" is how some models say none
        if objection is not None and reply.intent not in CARRY_AN_ID:
            # A stray id next to "oui" or "ne m'appelez plus": the intent is the answer (and an
            # opt-out must never be lost to a fallback), the id means nothing there.
            objection = None
        if objection is not None:
            entry = self._entries.get(objection)
            if entry is None:
                raise _Nonsense("unknown objection", f"{raw[:120]!r}: no entry {objection!r} in the library")
            if entry.intent != reply.intent:
                raise _Nonsense("intent mismatch", f"{raw[:120]!r}: {objection!r} is a {entry.intent.value}")
        return Understanding(text, reply.intent, objection, reply.confidence, "ollama")

    async def _fall_back(self, text: str, reason: str, detail: str = "", *, outage: bool = False) -> Understanding:
        if detail:
            self._health.failed(reason, detail, outage=outage)
        understood = await self._fallback.understand(text)
        return dataclasses.replace(understood, source=f"fallback({reason})")


# Few-shot examples for the cases the offline layer was taught on the messy development set.
FEW_SHOT: tuple[tuple[str, str, str | None], ...] = (
    ("vous ne me dérangez pas du tout", "affirm", None),
    ("ça me dérange pas que vous rappeliez mais pas aujourd'hui", "callback", None),
    ("non non ça m'intéresse", "affirm", None),
    ("grave ça m'intéresse", "affirm", None),
    ("ah non je suis pas contre", "affirm", None),
    ("pourquoi pas en fait", "affirm", None),
    ("vas-y balance", "affirm", None),
    ("bon très bien je vous écoute mais faites vite j'ai un rendez-vous", "affirm", None),
    ("c'est trop chair pour moi", "objection", "too_expensive"),
    ("vous vous êtes trompé de numéro", "objection", "wrong_person"),
    ("plus tard", "callback", None),
    ("oui mais rappelez-moi demain à 18 heures", "callback", None),
    ("non merci et ne me rappelez plus", "opt_out", None),
    ("non merci je ne suis pas intéressé", "objection", "not_interested"),
)


def system_prompt(library: Library) -> str:
    intents = "\n".join(f"- {intent.value} : {MEANINGS[intent]}" for intent in Intent)
    known = {e.id for e in library.entries}
    examples = "\n".join(
        f"- « {text} » → {{\"intent\": \"{intent}\", \"objection\": {json.dumps(oid)}}}"
        for text, intent, oid in FEW_SHOT if oid is None or oid in known)
    entries = "\n".join(f"- {e.id} ({e.intent.value}) : « {e.phrasings[0]} »" for e in library.entries) or "(aucune)"
    return f"""\
Tu classes ce que dit une personne appelée au téléphone par un assistant automatique, en français.
La phrase vient de la reconnaissance vocale : elle peut manquer de ponctuation ou contenir des erreurs.

Intentions possibles :
{intents}

Objections et questions connues (identifiant, intention, exemple) :
{entries}

Réponds uniquement par un objet JSON : {{"intent": <intention>, "objection": <identifiant ou null>, \
"confidence": <nombre de 0 à 1>}}.
"objection" reçoit un identifiant de la liste seulement si l'intention est objection ou question et que \
la phrase correspond à cette entrée, même formulée autrement ; sinon null. Une objection ou une question \
absente de la liste garde son intention, avec null.
"confidence" dit à quel point tu es sûr de ta réponse.

Règles :
- opt_out seulement pour une demande explicite de ne plus être appelé. Une phrase niée ou \
conditionnelle n'en est pas une : « vous ne me dérangez pas du tout » est affirm ; « ça me dérange \
pas que vous rappeliez mais pas aujourd'hui » est callback.
- Deux intentions dans la même phrase : opt_out l'emporte toujours ; puis transfer ; un rappel \
l'emporte sur un simple oui (« oui mais rappelez-moi demain » est callback) ; une raison l'emporte \
sur un simple non (« non c'est trop cher » est l'objection too_expensive).
- Une double négation est un oui : « je dis pas non », « non non ça m'intéresse », « je suis pas \
contre » sont affirm.
- Le français parlé et familier compte : « grave », « carrément », « vas-y balance » sont affirm ; \
« plus tard », « pas maintenant » sont callback ; « laisse tomber » est deny.
- La reconnaissance vocale se trompe : « c'est trop chair » veut dire « c'est trop cher », \
« sa m'intéresse » veut dire « ça m'intéresse », « jai pas le temps » veut dire « j'ai pas le temps ».

Exemples (phrase → réponse) :
{examples}"""


def reply_schema(library: Library) -> dict:
    """The JSON schema Ollama constrains its output to: only known intents and ids can come out."""
    return {
        "type": "object",
        "properties": {
            "intent": {"type": "string", "enum": [intent.value for intent in Intent]},
            "objection": {"enum": [*(e.id for e in library.entries), None]},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
        },
        "required": ["intent", "objection", "confidence"],
        "additionalProperties": False,
    }
