"""How the caller feels in one turn: positive, neutral, negative or irritated.

Offline and explainable: irritation has its own words (insults, "ça suffit", "c'est la
cinquième fois", "vous comprenez pas quand on dit non"), warmth too ("super", "avec plaisir",
"ça tombe bien"); what is left takes the tone of what the caller meant (a refusal or a
suspicion is negative, a question or a bare yes neutral). Two promises the scenario relies on:
irritation is recognised from its words alone (whatever the intent), and a caller who says
something warm is never taken for irritated (warm words without irritated ones win).
Measured on the labelled development set by bench.nlu (sentiment columns).
"""

from __future__ import annotations

import re
from enum import StrEnum

from ..intents import Intent
from .normalize import strip_accents


class Sentiment(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"
    IRRITATED = "irritated"


# What an operator reads (the call's transcript, the dashboard, exports): French words.
IN_FRENCH = {Sentiment.POSITIVE: "positif", Sentiment.NEUTRAL: "neutre", Sentiment.NEGATIVE: "négatif",
             Sentiment.IRRITATED: "irrité"}


def in_french(value: str | None) -> str | None:
    """A stored sentiment ("irritated") as an operator reads it ("irrité"); None for none or an unknown one."""
    try:
        return IN_FRENCH[Sentiment(value)] if value else None
    except ValueError:
        return None


_IRRITATED = re.compile(
    r"\b(escrocs?|arnaqueurs?|voleurs?|connards?|connasses?|cons|abrutis?|bordel|putain|merde|fait chier|bon sang"
    r"|bande de|charabia|harcel\w*|foutez|fichez|foutre|lachez moi|lache moi|degagez|degage|casse toi|ras le bol"
    r"|marre|ca suffit|suffit|stop|plainte|insupportable|n importe quoi|pas vrai ca)\b"
    r"|\b(arretez|arrete)( (de|vos|ces|arretez|la|donc|maintenant))?\b"
    r"|\b(deja dit|combien de fois|je vous dis que|je vous ai dit|vous ai deja|j ai dit non|non c est non|non point"
    r"|comprenez pas|comprends rien|rien compris|perdre mon temps|faites perdre)\b"
    r"|\b(troisieme|quatrieme|cinquieme|dixieme|\w+ieme) fois\b"
    r"|\b(\d+|deux|trois|quatre|cinq|six|dix|vingt|cent) fois\b"
    r"|\btous les jours\b|\bnon non (et )?non\b|\bmais non enfin\b|\bmais enfin\b"
    r"|\bvrai (etre )?humain\b|\bpas un robot\b|\bdes robots\b"
    r"|\bme (mettre|forcer) (la pression|la main)\b|\bforcer la main\b"
)
_POSITIVE = re.compile(
    r"\b(super|genial|geniale|top|cool|parfait|excellent|excellente|formidable|ravie?|volontiers|avec plaisir"
    r"|grand plaisir|merci beaucoup|bonne idee|tres bonne idee|super idee|interessant|interessante|gentil|gentille"
    r"|tombe bien|me plait|me tente|me branche bien|pas de refus|grave|carrement|trop bien|au contraire"
    r"|justement|avec joie|bien volontiers|ca m a l air bien|a l air bien)\b"
    r"|\b(ca|sa) ?m ?interesse\b(?! pas)|\bsi ca m interesse\b|\bme interesse\b(?! pas)"
    r"|\bvous (me )?derangez (pas|absolument pas)\b|\b(gene|generait|deplairait) pas du tout\b|\bdirai[st]? pas non\b"
    r"|\bsuis pas contre\b|\bpas inintéressant\b|\bpas ininteressant\b"
)
# "pas super", "pas top", "pas intéressant": the warm word turned around.
_NEGATED_WARMTH = re.compile(
    r"\b(pas|plus|jamais) (tres |trop |si |vraiment )?(super|top|genial|cool|interessant|terrible)\b"
)

_NEGATIVE_OBJECTIONS = frozenset({
    "not_interested", "too_expensive", "no_money", "scam_suspicion", "bad_past_experience", "bad_reviews",
    "too_good_to_be_true", "feel_pressured", "already_called", "economic_crisis", "never_buy_by_phone",
    "too_risky", "too_complicated",
})


def _plain(text: str) -> str:
    """Lowercase, accent-free words, elisions split ("c'est" → "c est"); swear words kept."""
    return " ".join(re.split(r"[^a-z0-9]+", strip_accents(text.lower()).replace("’", "'"))).strip()


def sentiment(text: str, intent: Intent | None = None, objection: str | None = None) -> Sentiment:
    """The caller's mood in this turn, from their words and what they meant."""
    plain = _plain(text)
    squeezed = plain.replace(" ", "")
    warm = bool(_POSITIVE.search(plain)) and not _NEGATED_WARMTH.search(plain)
    if _IRRITATED.search(plain) and not warm:
        return Sentiment.IRRITATED
    if warm and intent not in (Intent.OPT_OUT, Intent.DENY) and objection not in _NEGATIVE_OBJECTIONS:
        return Sentiment.POSITIVE
    if "minteresse" in squeezed and "pas" not in plain.split() and intent is Intent.AFFIRM:
        return Sentiment.POSITIVE
    if objection == "not_interested" and re.search(r"\bmerci\b", plain):
        return Sentiment.NEUTRAL  # "non merci, pas intéressé": a polite no
    if intent is Intent.OPT_OUT or objection in _NEGATIVE_OBJECTIONS:
        return Sentiment.NEGATIVE
    if intent is Intent.DENY and re.search(r"\b(laisse[zr]? tomber)\b", plain):
        return Sentiment.NEGATIVE
    suspicious = re.search(r"\b(attendez|mais|hein|abord)\b", plain)
    if intent is Intent.QUESTION and objection == "how_got_number" and suspicious:
        return Sentiment.NEGATIVE  # a suspicious "where did you get my number"
    return Sentiment.NEUTRAL
