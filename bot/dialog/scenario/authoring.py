"""Writing scenarios: where the shipped ones live, and a valid scenario built from a few answers.

`minibot scenario new` asks the questions; this module turns the answers into the scenario's
YAML shape (a plain dict, in the order of scenarios/README.md) that `load_scenario` accepts.
The generated scenario follows the shipped ones: disclosure first, one scored yes/no step per
qualification question, a qualification check, the end steps the objective calls for, and a
rail that ends on the neutral callback goodbye (where an unmapped answer to the last rail
question leads: never a success the caller did not give).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from bot.i18n import _

from .model import PERSONALITIES, Scenario, Settings

SCENARIOS_DIR = Path(__file__).resolve().parents[3] / "scenarios"
Objective = Literal["appointment", "lead", "transfer"]
OBJECTIVES: tuple[str, ...] = get_args(Objective)
NAME = re.compile(r"^[a-z][a-z0-9_]*$")
# Points for a "oui" to each question: the questions are asked so that yes is the answer that
# qualifies, and the default threshold (0.7) then asks for seven yes out of ten.
POINTS_PER_YES = 10
# "Je vous appelle au sujet de ..." for the themes the library ships; any other theme asks.
TOPICS: dict[str, str] = {
    "assurance": "vos contrats d'assurance",
    "crypto": "l'investissement dans les cryptomonnaies",
    "energie": "la rénovation énergétique de votre logement",
    "finance": "la gestion de votre épargne",
    "immobilier": "l'investissement immobilier",
    "or": "l'or comme placement d'épargne",
    "saas_b2b": "les outils de gestion de votre entreprise",
    "vin": "l'investissement dans le vin",
}
# The comment at the top of a written scenario (the operator edits the file next).
HEADER = (
    "# Écrit par `minibot scenario new`. Chaque champ est expliqué dans scenarios/README.md.\n"
    "# Avant une campagne : remplir `facts` (les seules choses qu'une réponse libre peut affirmer), `context`,\n"
    "# et relire chaque phrase à voix haute. Le vérifier avec `minibot scenario validate {name}`.\n"
)


@dataclass(frozen=True)
class Answers:
    """What `minibot scenario new` asks."""

    name: str
    theme: str  # an objection library theme (besides general and standard)
    objective: Objective
    agent_name: str
    company_name: str
    questions: list[str]  # qualification questions, each answered "oui" by a good prospect
    personality: str = "professionnel"
    recorded: bool = True
    voicemail: bool = True  # leave a message after the beep (else hang up on machines)
    topic: str | None = None  # completes "Je vous appelle au sujet de ..."; from the theme if None
    title: str | None = None
    facts: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """What is wrong with the answers themselves, before any YAML is built."""
        out = []
        if not NAME.match(self.name):
            out.append(_("nom {name!r} : lettres minuscules, chiffres et _, en commençant par une lettre").format(
                name=self.name))
        if self.objective not in OBJECTIVES:
            out.append(_("objectif {objective!r} : l'un de {known}").format(objective=self.objective,
                                                                            known=", ".join(OBJECTIVES)))
        if self.personality not in PERSONALITIES:
            out.append(_("personnalité {personality!r} : l'une de {known}").format(
                personality=self.personality, known=", ".join(PERSONALITIES)))
        if not self.agent_name.strip():
            out.append(_("le nom de l'agent est vide"))
        if not self.company_name.strip():
            out.append(_("le nom de la société est vide"))
        if not [q for q in self.questions if q.strip()]:
            out.append(_("il faut au moins une question de qualification"))
        if not self.topic_text:
            out.append(_("pas de sujet pour le thème {theme!r} : dire de quoi parle l'appel").format(theme=self.theme))
        return out

    @property
    def topic_text(self) -> str:
        return (self.topic or TOPICS.get(self.theme, "")).strip()


def default_topic(theme: str) -> str:
    return TOPICS.get(theme, "")


def about(topic: str) -> str:
    """ "au sujet de" + topic, contracted as French wants it: du crédit, des travaux, de l'or."""
    for article, contracted in (("les ", "des "), ("le ", "du ")):
        if topic[: len(article)].lower() == article:
            return f"au sujet {contracted}{topic[len(article):]}"
    return f"au sujet de {topic}"


def disclosure_line(recorded: bool, topic: str) -> str:
    """The first line: who calls, that it is an automated assistant, the recording, the topic.

    Worded so that it agrees with any agent name: "vous êtes en ligne avec un assistant vocal
    automatisé" rather than "je suis l'assistant(e)"."""
    recording = ", et cet appel est enregistré" if recorded else ""
    return (
        "Bonjour {{first_name}}, ici {{agent_name}}, de {{company_name}}. "
        f"Vous êtes en ligne avec un assistant vocal automatisé{recording}. "
        f"Je vous appelle {about(topic)}. Vous avez une petite minute ?"
    )


def build_scenario(answers: Answers) -> dict[str, Any]:
    """The scenario as the dict its YAML file holds; ValueError naming every bad answer."""
    problems = answers.problems()
    if problems:
        raise ValueError(" ; ".join(problems))
    topic = answers.topic_text
    questions = [q.strip() for q in answers.questions if q.strip()]
    asked = [f"question_{i}" for i in range(1, len(questions) + 1)]

    steps: dict[str, dict[str, Any]] = {
        "hello": {"disclosure": True, "say": disclosure_line(answers.recorded, topic),
                  "intent_mapping": {"deny": "goodbye_later"}},
    }
    for name, text in zip(asked, questions, strict=True):
        steps[name] = {"say": text, "score": {"affirm": POINTS_PER_YES}}
    offer, ends, variables = _objective_steps(answers.objective)
    qualified = next(iter(offer or ends))  # the offer's first step, or the lead's goodbye
    steps["is_lead"] = {"check": "qualification", "qualified": qualified, "not_qualified": "goodbye_not_qualified"}
    steps.update(offer)
    steps.update(ends)
    steps["goodbye_not_qualified"] = {
        "say": "Je vous remercie pour vos réponses. Ce n'est sans doute pas le bon moment pour vous. Bonne journée !",
        "result": "NOT_QUALIFIED",
    }
    steps["goodbye_later"] = {
        "say": "Un conseiller vous rappellera à un moment plus pratique pour vous. "
               "Merci pour votre temps, et bonne journée !",
        "result": "CALLBACK_REQUESTED",
    }

    scenario: dict[str, Any] = {
        "name": answers.name,
        "title": answers.title or f"{answers.company_name} : {topic}",
        "agent_name": answers.agent_name.strip(),
        "company_name": answers.company_name.strip(),
        "objective": answers.objective,
        "personality": answers.personality,
        "themes": [answers.theme] if answers.theme else [],
        "recorded": answers.recorded,
        "context": f"{answers.company_name.strip()} appelle des particuliers {about(topic)}.",
        "facts": list(answers.facts),
        "variables": variables,
        "settings": Settings().model_dump(),
    }
    if answers.voicemail:
        scenario["voicemail"] = {
            "say": (
                f"Bonjour {{{{first_name}}}}, ceci est un message automatique de {{{{company_name}}}} {about(topic)}. "
                "Nous essaierons de vous rappeler prochainement. Bonne journée !"
            )
        }
    scenario["rail"] = ["hello", *asked, "is_lead", *offer, "goodbye_later"]
    scenario["steps"] = steps
    Scenario.model_validate(scenario)  # the shape is ours to get right: fail here, not in the file
    return scenario


def _objective_steps(objective: str) -> tuple[dict[str, dict], dict[str, dict], list[str]]:
    """(offer steps, on the rail; end steps, off it; variables) for a qualified caller."""
    if objective == "appointment":
        offer = {
            "propose_appointment": {
                "say": "Je peux vous proposer un rendez-vous téléphonique avec un conseiller {{slot}}. "
                       "Ce créneau vous conviendrait ?",
                # Anything but a yes: no recap of a slot the caller did not take.
                "intent_mapping": {"affirm": "confirm_appointment", "deny": "goodbye_later",
                                   "default": "goodbye_later"},
            },
            "confirm_appointment": {
                "say": "Je récapitule : un conseiller vous appellera sur ce numéro {{slot}}. "
                       "Je confirme ce rendez-vous ?",
                "intent_mapping": {"affirm": "appointment_booked", "deny": "goodbye_later"},
            },
        }
        ends = {"appointment_booked": {
            "say": "C'est noté. Le conseiller vous appellera au moment convenu. Merci et bonne journée !",
            "result": "APPOINTMENT_SCHEDULED",
        }}
        return offer, ends, ["first_name", "slot"]
    if objective == "transfer":
        offer = {"transfer_offer": {
            "say": "Un conseiller est disponible dès maintenant. "
                   "Souhaitez-vous que je vous mette en relation avec lui ?",
            "intent_mapping": {"affirm": "transfer_now", "deny": "goodbye_later"},
        }}
        ends = {"transfer_now": {"say": "Je vous passe un conseiller, restez en ligne s'il vous plaît.",
                                 "transfer": True}}
        return offer, ends, ["first_name"]
    ends = {"goodbye_qualified": {
        "say": "Parfait, un conseiller de {{company_name}} vous rappellera très prochainement. "
               "Merci pour vos réponses et bonne journée !",
        "result": "QUALIFIED",
    }}
    return {}, ends, ["first_name"]


def dump_scenario(scenario: dict[str, Any]) -> str:
    """The YAML text of a built scenario, with a header comment."""
    # No folding: PyYAML folds long lines anywhere, even before the "?" of a French question.
    body = yaml.safe_dump(scenario, allow_unicode=True, sort_keys=False, width=10_000)
    return _(HEADER).format(name=scenario["name"]) + body


def resolve(name_or_path: str | Path, scenarios_dir: Path = SCENARIOS_DIR) -> Path:
    """A scenario argument as a file: a bare name is scenarios/<name>.yaml, anything else a path."""
    text = str(name_or_path)
    if NAME.match(text):
        return scenarios_dir / f"{text}.yaml"
    return Path(text)


def shipped(scenarios_dir: Path = SCENARIOS_DIR) -> list[Path]:
    """The scenario files in scenarios/ (not the objection library or NLU data in folders below it).

    Other data shares the folder (rail_returns.yaml), so a file counts as a scenario unless it is
    a YAML mapping with none of a scenario's own keys; a file that does not parse is kept, so
    validation reports it rather than skipping it."""
    return [path for path in sorted(scenarios_dir.glob("*.yaml")) if _looks_like_scenario(path)]


_SCENARIO_KEYS = frozenset({"rail", "steps", "agent_name", "objective"})


def _looks_like_scenario(path: Path) -> bool:
    from .loader import read_scenario_text

    try:
        raw = yaml.safe_load(read_scenario_text(path))
    except (OSError, ValueError, yaml.YAMLError):
        return True
    return not isinstance(raw, dict) or bool(_SCENARIO_KEYS & raw.keys())
