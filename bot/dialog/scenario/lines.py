"""The engine's own lines: what the bot says outside the scenario's steps.

A scenario may override any of them under `lines:`; all of them are known before the call, so
they are rendered ahead like every scripted line.
"""

from __future__ import annotations

ENGINE_LINES: dict[str, str] = {
    # The caller asked not to be called again: acknowledge it plainly, no argument.
    "opt_out": "C'est entendu, votre numéro ne sera plus appelé pour cette campagne. Je vous souhaite une bonne journée.",
    "callback": "Très bien, nous vous rappellerons à un meilleur moment. Merci et bonne journée.",
    "still_there": "Vous m'entendez ?",
    # Unsure whether the caller asked not to be called again ("stop", a conditional request): ask.
    "confirm_opt_out": "Vous ne souhaitez plus être appelé, c'est bien cela ?",
    # A caller who refused and then said nothing more, or said no to the opt-out question.
    "goodbye_refused": "Très bien, je ne vous dérange pas plus longtemps. Bonne journée.",
    # An irritated caller: a short apology, and a way out instead of the next question.
    "irritated": "Je suis désolé pour le dérangement. Préférez-vous que je vous rappelle à un autre moment,"
    " ou que nous en restions là ?",
    "callback_when": "Entendu. À quel moment puis-je vous rappeler ?",
    "no_answer": "Je n'ai pas de réponse, je vais raccrocher. Au revoir.",
    "repeat_intro": "Je répète :",
    "transfer": "Je vous mets en relation avec un conseiller, restez en ligne s'il vous plaît.",
    # Asked for a human on a scenario that has no one to transfer to.
    "no_transfer": "Je ne peux pas vous passer un conseiller maintenant, mais un conseiller vous rappellera. Bonne journée.",
    "max_turns": "Je ne veux pas abuser de votre temps.",
    # A question nothing in the library answers, and no LLM to answer it freely.
    "question_later": "C'est une bonne question, un conseiller pourra vous répondre précisément.",
    "not_understood": "Excusez-moi, je n'ai pas bien saisi.",
}


def engine_line(overrides: dict[str, str], key: str) -> str:
    return overrides.get(key) or ENGINE_LINES[key]
