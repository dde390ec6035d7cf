"""Rules for the intents whose wording is unmistakable, tried before any similarity.

Written against the normalised form (bot.dialog.nlu.normalize): no accents, "ne" dropped,
elisions whole ("m'appelez" → "me appelez"). Each rule is a precise pattern; anything vague is
left to the example index. Order matters: a do-not-call request wins over everything, because it
has legal weight.
"""

from __future__ import annotations

import re

from ..intents import Intent
from .optout import OptOut, opt_out

TRANSFER = [
    r"\b(parler|discuter|causer|avoir affaire|echanger)\b( \w+){0,3} (a|avec) (un|une|quelqu|le|la|votre|vos|des|vrai|vraie)"
    r"( \w+){0,2} ?(humain|personne|quelqu un|conseiller|conseillere|responsable|commercial|commerciale|operateur"
    r"|operatrice|collegue|superieur|manager|directeur|vendeur|agent|technicien|interlocuteur|vrai|vraie|physique)",
    r"\b(passe|passez|transfer\w*|mettez|met|mettre|redirig\w*|bascul\w*)\b( \w+){0,2} (moi|nous|me)?"
    r" ?(en relation|en contact|en ligne|un|une|quelqu un|votre|le|la)\b( \w+){0,2} ?(humain|personne|conseiller"
    r"|conseillere|responsable|commercial|operateur|collegue|superieur|manager|interlocuteur|quelqu un|avec)",
    r"\b(transferez|transfere|transferer) (moi|me|nous|l appel)\b",
    r"\b(veux|voudrais|prefere|souhaite|exige|demande)( \w+){0,2} (un|une|des) (humain|vrai humain|vraie personne"
    r"|personne physique|conseiller|interlocuteur)",
    r"\b(un|une) (conseiller|conseillere|humain|vraie personne|personne physique|interlocuteur)( \w+)? (svp|sil vous plait)$",
]

REPEAT = [
    r"^(pardon|comment|quoi|hein|allo|excusez moi|excuse moi|plait il|de quoi|repetez|repete)( (pardon|allo|quoi|comment"
    r"|sil vous plait|madame|monsieur|vous dites|oui))*$",
    r"\b(pas|mal) (bien |tout |tres bien |trop )?(compris|entendu|saisi|capte|suivi|percu)\b",
    r"\b(repet\w*|redit\w*|redire|reformul\w*)\b",
    r"\b(parlez|parler|articulez|articuler)( \w+)? (plus )?(fort|lentement|doucement|moins vite|distinctement)\b",
    r"\b(ca|la ligne|le reseau|votre ligne) (coupe|grésille|gresille|est mauvais\w*|capte mal)\b",
    r"\bentends? (rien|mal|pas|plus)\b",
    r"\bvous (avez|venez de) dit quoi\b",
    r"\bque est ce que vous (dites|avez dit|venez de dire)\b",
    r"\bvous dites quoi\b",
]

CALLBACK = [
    r"\b(rappel\w*|recontact\w*)\b",
    r"^(non |mais |bon |alors )*(pas maintenant|plus tard|une autre fois|pas aujourd hui|pas ce (matin|soir|midi))\b",
    r"\b(un autre|une autre) (jour|moment|fois|heure)\b",
    r"\b(en reparler|reparler|se reparler)\b( \w+){0,3} (demain|plus tard|semaine|lundi|mardi|mercredi|jeudi|vendredi|samedi|soir|matin|apres)",
    r"\b(appelez|appeler|telephonez)\b( \w+){0,3} (demain|plus tard|ce soir|semaine prochaine|lundi|mardi|mercredi|jeudi|vendredi|samedi|apres|vers|dans)",
]
# A no turned around ("je dis pas non", "non mais si ça m'intéresse", "vous dérangez pas, allez-y"):
# negation words that mean yes, which a similarity over words reads as a no.
NOT_A_NO = [
    r"\b(dis|dirai|dirais|dirait|vais|peux) pas (dire )?non\b",
    r"\b(mais |ah |oh )?si (si )*(ca|sa|cela) (me )?interesse",
    r"^(ah |mais )*non (non )*(ca|cela) (me|nous) interesse( beaucoup| vraiment| bien| grave)?$",
    r"^(non |mais )*non (non )*(allez y|vas y|je vous ecoute|dites moi|allez y je vous ecoute)$",
    r"\b(derang\w*|gen\w*|deplair\w*|embet\w*) (pas|absolument pas|aucunement)( du tout)?( \w+){0,3}"
    r" ?(allez y|vas y|je vous ecoute|dites moi)?$",
    r"\b(suis|sommes) (pas|absolument pas) contre\b",
    r"\bpas de refus\b",
]
# Hesitation around a word that says it ("oui enfin bof", "pas forcément").
_UNSURE = re.compile(
    r"^(oui |non |mais |enfin |alors )*(bof|mouais|pas forcement|pas sur|pas certain|je sais pas trop|ca depend|peut etre|a voir)( \w+){0,2}$"
)

# Whole utterances: a bare yes or no (after normalisation) needs no similarity search.
AFFIRM_EXACT = frozenset(
    """oui|oui oui|oui oui oui|si|si si|mais si|ben si|ok|ok ok|oui ok|ok oui|de accord|oui de accord|ok de accord|daccord|tout a fait
    |oui tout a fait|exactement|absolument|bien sur|oui bien sur|volontiers|oui volontiers|ca marche|oui ca marche
    |entendu|parfait|tres bien|oui tres bien|carrement|evidemment|certainement|pourquoi pas|oui pourquoi pas
    |allez y|oui allez y|vas y|oui vas y|je vous ecoute|oui je vous ecoute|allez y je vous ecoute|ce est ca
    |oui ce est ca|ce est bien ca|oui ce est moi|ce est moi|ce est bien moi|oui ce est bien moi|cest moi|affirmatif
    |avec plaisir|oui avec plaisir|ca me va|ce est bon|oui ce est bon|oui bien entendu|bien entendu|sans probleme
    |pas de souci|pas de probleme|oui pas de souci|oui pas de probleme|oui merci|oui je veux bien|je veux bien
    |effectivement|oui effectivement|voila|oui voila|en effet|oui en effet|oui monsieur|oui madame|super|genial|nickel""".replace(
        "\n", ""
    ).split("|")
)
DENY_EXACT = frozenset(
    """non|non non|non non non|non merci|non merci bien|merci non|pas du tout|non pas du tout|absolument pas
    |certainement pas|surement pas|jamais|non jamais|pas question|hors de question|negatif|aucunement|nullement
    |non ce est pas moi|ce est pas moi|non ca ira|non ce est bon|non ce est bon merci|pas vraiment|non pas vraiment
    |pas trop|non pas trop|non monsieur|non madame|non je pense pas|je pense pas|je crois pas|non je crois pas
    |pas de accord|je suis pas de accord|non pas de accord|ah non|oh non|non plus|ca va aller|non ca va aller|ca ira
    |non ca ira|non merci ca ira|non ca va""".replace("\n", "").split("|")
)
UNSURE_EXACT = frozenset(
    """je sais pas|je sais pas trop|je en sais rien|je sais pas trop quoi dire|peut etre|bof|mouais|ca depend
    |il faut voir|faut voir|on verra|je suis pas sur|pas sur|pas sure|je suis pas sure|aucune idee|je hesite
    |difficile a dire|je sais plus|je suis pas certain|peut etre oui|peut etre pas|oui et non|oui peut etre
    |je me pose la question|possible|ce est possible|ca se peut|pas forcement|a voir|ca reste a voir""".replace("\n", "").split("|")
)


def _compile(patterns: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(p) for p in patterns]


_RULES: list[tuple[Intent, list[re.Pattern[str]]]] = [
    (Intent.TRANSFER, _compile(TRANSFER)),
]
_REPEAT = _compile(REPEAT)
_NOT_A_NO = _compile(NOT_A_NO)
_BUT = re.compile(r"\bmais (bon|bof|je sais pas|faut voir|il faut voir|bon bref)\b|\bmais$")  # "pas contre, mais bon": unsure
_CALLBACK = _compile(CALLBACK)
# "c'est bien ça, j'avais demandé qu'on me rappelle": a callback asked before, not now.
_ASKED_BEFORE = re.compile(r"\b(avais|ai|avait|avions) demande (que on|a etre|de) (me |nous )?(rappel|recontact)\w*$")


def match_rules(normalized: str) -> Intent | None:
    """The intent an unmistakable wording says, or None to let similarity decide."""
    if not normalized:
        return Intent.REPEAT  # nothing usable was heard
    if opt_out(normalized) is OptOut.DECIDED:  # legal weight: first (OptOut.ASK is the classifier's to ask)
        return Intent.OPT_OUT
    for intent, patterns in _RULES:
        if any(p.search(normalized) for p in patterns):
            return intent
    if normalized in AFFIRM_EXACT:
        return Intent.AFFIRM
    if normalized in DENY_EXACT:
        return Intent.DENY
    if normalized in UNSURE_EXACT:
        return Intent.UNSURE
    if any(p.search(normalized) for p in _CALLBACK) and not _ASKED_BEFORE.search(normalized):
        return Intent.CALLBACK  # before repeat: "ça capte mal, rappelez-moi" asks for another time
    if any(p.search(normalized) for p in _NOT_A_NO) and not _BUT.search(normalized):
        return Intent.AFFIRM
    if any(p.search(normalized) for p in _REPEAT):
        return Intent.REPEAT
    if _UNSURE.search(normalized):
        return Intent.UNSURE
    return None
