"""Whether the caller asked not to be called again: decided, to be asked, or not at all.

A do-not-call decision loses a willing person for good and writes a legal record that they
refused, so it is taken only on an explicit, affirmative request ("ne m'appelez plus",
"retirez mon numéro"). Everything that merely sounds like one is sorted here:

- negated: "vous ne me dérangez pas du tout", "ça me dérange pas que vous rappeliez", "j'ai
  jamais dit de plus m'appeler" → not an opt-out (the other layers decide what it is);
- conditional: "si c'est pour vendre quelque chose ne me rappelez plus" → ask;
- a bare "stop", "arrêtez", "ça suffit", "laissez-moi tranquille" (stop talking, or stop
  calling?) → ask: "Vous ne souhaitez plus être appelé, c'est bien cela ?".

Written against the normalised form (bot.dialog.nlu.normalize): no accents, "ne" dropped,
elisions whole ("m'appelez" → "me appelez", "qu'on" → "que on").
"""

from __future__ import annotations

import re
from enum import StrEnum

_CALL = r"(appel\w*|rappel\w*|contact\w*|recontact\w*|derang\w*|harcel\w*|solicit\w*|sollicit\w*|demarch\w*)"
_REMOVE = r"(retir\w*|supprim\w*|effac\w*|enlev\w*|rayez|rayer|otez|oter|radi\w*)"

OPT_OUT = [
    rf"\b(me|nous) {_CALL}( \w+)? (plus|jamais)\b(?! tard)",  # ne m'appelez plus (not "plus tard")
    r"^(non |merci )*(rappelez|appelez|recontactez|telephonez) (plus|jamais)\b(?! tard)",
    r"\b(ne|n) (rappelez|appelez|recontactez) (plus|jamais)\b(?! tard)",
    r"(?<!vous )\b(rappelez|appelez|recontactez) (plus|jamais)\b(?! tard)",  # "ne" dropped: "rappelez plus"
    rf"\b(plus|jamais) (me|nous) {_CALL}",
    rf"\barret\w* (de|ces|vos|ce|les|tout) ?(me |nous )?{_CALL}",
    rf"\b(veux|souhaite|voudrais|desire)( \w+)? (plus|pas) (etre|que vous)( \w+)? {_CALL}",
    r"\b(veux|souhaite|voudrais) plus (recevoir|de vos|vos|d appel|de appel)",
    rf"\b{_REMOVE}( me| moi| nous)? (de|du|des)( \w+){{0,2}} (liste|fichier|base|listing)",
    rf"\b{_REMOVE}( \w+)? (mon|mes|notre|nos) (numero|coordonnees|donnees|telephone|nom)",
    rf"\b({_REMOVE}|sortez) (moi|nous)\b",
    r"\bbloc ?tel(ephone)?\b",
    rf"\b(veux|voudrais|souhaite|aimerais|desire) plus (que on|que vous|etre)( \w+)? {_CALL}",
    r"\b(aimerais|voudrais|souhaiterais) plus etre (appel\w*|rappel\w*|contact\w*|derang\w*|demarch\w*)",
    r"\b(suppression|effacement|retrait) de (mes|mon|nos|notre) (donnees|numero|coordonnees|telephone)\b",
    r"\b(desinscri\w*|desabonn\w*)\b",
    r"\bsort\w* de (vos|votre|ces|la|les) (liste|listes|fichier|fichiers|base|listing)\b",
    rf"\bplus {_CALL} (ce|mon|a ce|notre) numero\b",
    r"\bliste (de |d )?opposition\b",
    rf"\b(me|nous) {_CALL} pas\b(?! (avant|maintenant|tout de suite|ce|cette|aujourd))",  # ne me rappelez pas
    rf"\bpas (besoin|la peine|utile) de (me |nous )?{_CALL}",
    rf"\binterdi\w* de (me |nous )?{_CALL}",
    rf"\bplainte\b.*\b{_CALL}|\b{_CALL}.*\bplainte\b",
    r"\b(oppose|opposition)\b.*\b(demarchage|appel|fichier|prospection)",
    r"\b(refuse|interdis)\w* (le |tout )?(demarchage|prospection)",
    r"\bdroit de (me|nous) (appeler|demarcher)\b",
    r"\boubliez (mon|mes|moi)\b",
    r"\b(plus jamais|jamais plus)\b.*\b(appel|appelez|rappelez|contact)",
    r"\bstop (aux|les|a vos|a ces) appels\b",
]


class OptOut(StrEnum):
    NO = "no"
    NOT = "not"  # words of a refusal to be called, turned around: no layer may read an opt-out
    ASK = "ask"  # ask the caller before recording anything
    DECIDED = "decided"


_DECIDED = [re.compile(p) for p in OPT_OUT]

# "vous (ne) me dérangez pas", "ça me dérange pas (que vous rappeliez)", "ça me gêne pas":
# the caller says they are NOT bothered. The imperative "ne me dérangez plus" stays an opt-out.
_NOT_BOTHERED = re.compile(
    r"\b(vous|ca|cela|ce|il|on)( me| nous)? (derang\w*|gen\w*|embet\w*|ennui\w*)( \w+)? (pas|aucunement|nullement)\b"
    r"|\b(me|nous) (derang\w*|gen\w*|embet\w*) (pas|du tout|absolument pas|aucunement)\b"
    r"(?! (de|que vous) (me |nous )?(appel|rappel|contact))"
    r"|\bpas (du tout )?(de|du) (derangement|soucis?|probleme)\b"
)
# Someone reporting what they did NOT say: "j'ai jamais dit de plus m'appeler".
_NOT_SAID = re.compile(r"\b(ai|avais|avons) (jamais|pas|rien) (dit|demande)\b")
# A condition on the request: "si c'est pour vendre ne me rappelez plus" ("si si" is a yes).
_CONDITION = re.compile(
    r"\b(si|sauf si|a moins que|au cas ou)\b (?!si\b)"
    r"(vous|ce|ca|cela|on|je|il|elle|jamais|besoin|le|la|les|c|votre|vos|encore)\b"
)
# Stop... what? Talking, this call, or calling at all: ask.
_VAGUE = re.compile(
    r"^(stop|arret\w*|ca suffit|suffit|lachez moi|lache moi|foutez moi|fichez moi|fous moi|fiche moi"
    r"|casse toi|degagez|degage|ras le bol|je en ai marre)\b"
    r"|\b(laissez|lachez|foutez|fichez|fous|fiche) (moi|nous) (tranquille|la paix)\b"
    r"|\b(stop|ca suffit|arretez|arrete)$"
    r"|\b(veux|voudrais|souhaite) (pas|plus) (que on|etre) (me |nous )?(appel\w*|rappel\w*|contact\w*|derang\w*)"
    r"|\b(harcelement|harcelez)\b"
    # "... plus jamais" closing the answer, its verb garbled by the recogniser: Whisper base at 8 kHz
    # writes "Ne m'appelez plus jamais" as "N'amplait plus jamais." or "N'amappeler plus jamais."
    r"|\b(plus jamais|jamais plus)$"
)
# "arrêtez de me mettre la pression" is an objection, not a stop.
_STOP_SOMETHING_ELSE = re.compile(
    r"^(arret\w*|stop) (de|avec) (me |nous )?(?!(appel|rappel|contact|derang|harcel|telephon))\w+"
)


def opt_out(normalized: str) -> OptOut:
    """What to do about a possible do-not-call request in `normalized` (normalize()'s output)."""
    if not normalized:
        return OptOut.NO
    if _NOT_SAID.search(normalized):
        return OptOut.NOT
    # The "not bothered" words are taken out, not the whole sentence: "ça me dérange pas, mais ne
    # m'appelez plus" still asks not to be called.
    rest = _NOT_BOTHERED.sub(" ", normalized)
    conditional = bool(_CONDITION.search(normalized))
    if any(p.search(rest) for p in _DECIDED):
        return OptOut.ASK if conditional else OptOut.DECIDED
    if rest != normalized:
        return OptOut.NOT
    if _STOP_SOMETHING_ELSE.search(normalized):
        return OptOut.NOT
    if _VAGUE.search(normalized):
        return OptOut.ASK
    return OptOut.NO
