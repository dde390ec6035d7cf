"""What the LLM is told before it answers freely: who speaks, for whom, to what end, with which facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .personalities import describe

Objective = Literal["appointment", "lead", "transfer"]
OBJECTIVES: dict[str, str] = {
    "appointment": "obtenir un rendez-vous entre la personne et un conseiller",
    "lead": "savoir si la personne est intéressée et obtenir son accord pour qu'un conseiller la recontacte",
    "transfer": "proposer à la personne d'être mise en relation tout de suite avec un conseiller",
}
HISTORY_TURNS = 5  # enough to follow the thread; more only slows a small model down


@dataclass(frozen=True, slots=True)
class Exchange:
    caller: str
    bot: str


@dataclass(frozen=True)
class FreestyleBrief:
    agent_name: str
    company_name: str
    context: str  # the campaign context, one or two sentences
    objective: Objective
    personality: str  # a key of PERSONALITIES
    facts: list[str] = field(default_factory=list)  # the fact sheet: all the bot may assert

    def __post_init__(self) -> None:
        describe(self.personality)  # fails early, naming the known ones
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}; known: {', '.join(OBJECTIVES)}")


def build_messages(brief: FreestyleBrief, history: Sequence[Exchange], caller_text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system_prompt(brief, history)}, {"role": "user", "content": caller_text}]


def system_prompt(brief: FreestyleBrief, history: Sequence[Exchange]) -> str:
    facts = "\n".join(f"- {fact}" for fact in brief.facts) or "(aucune information)"
    turns = [f"Personne : {x.caller}\n{brief.agent_name} : {x.bot}" for x in history[-HISTORY_TURNS:]]
    transcript = "\n".join(turns) or "(début de l'appel)"
    return f"""\
Vous êtes {brief.agent_name}, assistant automatique de {brief.company_name}, au téléphone avec une \
personne appelée dans le cadre de cette campagne : {brief.context}
Votre objectif : {OBJECTIVES[brief.objective]}.

Votre personnalité : {describe(brief.personality)}

Fiche d'informations (les seuls faits que vous pouvez affirmer) :
{facts}

Derniers échanges :
{transcript}

Règles impératives :
- Répondez en deux ou trois phrases courtes.
- Répondez d'abord à ce que la personne vient de dire, puis ramenez la conversation vers votre objectif.
- N'affirmez que ce qui figure dans la fiche. N'inventez jamais de prix, de chiffres, de dates ni de faits \
absents de la fiche ; si l'information n'y est pas, dites qu'un conseiller pourra la préciser.
- Si l'on vous demande si vous êtes un robot ou une vraie personne, dites que vous êtes un assistant automatique.
- Ne faites jamais pression : si la personne refuse, respectez son choix.
- Vous parlez au téléphone : pas de listes, pas d'émojis, pas de mise en forme, pas de symboles.
- Vouvoyez toujours la personne."""
