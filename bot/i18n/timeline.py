"""A call's timeline (bot.call.call.Timeline) as people read it, in their language.

The timeline is the call's journal: written in English like the logs (the store, the tests and the
API keep it so), and put into words here where an operator reads it (`minibot call`, the demo). An
entry this list does not know is shown as it is.
"""

from __future__ import annotations

import re

from . import current_language

_FR = [(re.compile(pattern), french) for pattern, french in (
    (r"^dial status (.+)$", "état de la numérotation {0}"),
    (r"^dial (.+)$", "numérotation {0}"),
    (r"^inbound call from (.+)$", "appel entrant de {0}"),
    (r"^answered$", "décroché"),
    (r"^listening$", "écoute"),
    (r"^say \((.+?)\): (.*)$", "dit ({0}) : {1}"),
    (r"^heard: (.*)$", "entendu : {0}"),
    (r"^heard no words \((\S+) s of sound\)$", "aucun mot entendu ({0} s de son)"),
    (r"^understood (\S+) \(key (.+)\)$", "compris {0} (touche {1})"),
    (r"^barge-in by key (.+)$", "interruption par la touche {0}"),
    (r"^barge-in \((\S+) ms after onset(?:, echo delay (\S+) ms)?\)(?:: (.*))?$",
     lambda m: f"l'appelé parle sur le bot ({m[1]} ms après le début de sa voix"
               + (f", écho à {m[2]} ms" if m[2] else "") + ")" + (f" : {_BARGE_IN.get(m[3], m[3])}" if m[3] else "")),
    (r"^interruption \((.+)\): the caller's turn$", lambda m: f"interruption ({_why(m[1])}) : l'appelé parle"),
    (r"^interruption \((.+)\): the line stops, the caller's turn$",
     lambda m: f"interruption ({_why(m[1])}) : le bot s'arrête, l'appelé parle"),
    (r"^backchannel \((.+)\): the line plays on at full voice$",
     lambda m: f"simple acquiescement ({_why(m[1])}) : le bot reprend à pleine voix"),
    (r"^false interruption \((.+)\): the line resumes at (\S+) s$",
     lambda m: f"fausse interruption ({_why(m[1])}) : la phrase reprend à {m[2]} s"),
    (r"^answering machine: (.*)$", "répondeur : {0}"),
    (r"^voicemail beep \((.+)\)$", "bip de messagerie ({0})"),
    (r"^no beep heard; the greeting is over$", "pas de bip entendu ; l'annonce est finie"),
    (r"^disclosure heard to its end$", "mention de l'IA entendue en entier"),
    (r"^disclosure cut short: said again before going on$", "mention de l'IA coupée : redite avant de continuer"),
    (r"^greeting cut by the callee's own: said again after it$", "accueil coupé par celui de l'appelé : redit après"),
    (r"^result (\S+) \(qualification (.+)\)$", "résultat {0} (qualification {1})"),
    (r"^hung up at step (.+)$", "a raccroché à l'étape {0}"),
    (r"^bot hangs up: (.*)$", "le bot raccroche : {0}"),
    (r"^bot hangs up$", "le bot raccroche"),
    (r"^outcome (.+)$", lambda m: "issue " + _code(m[1])),
    (r"^dtmf (.+)$", "touche {0}"),
    (r"^play (.+)$", "joue {0}"),
    (r"^transfer: dialling the agent$", "transfert : appel du conseiller"),
    (r"^transfer: caller and agent bridged$", "transfert : appelé et conseiller mis en relation"),
    (r"^transfer failed: (.*)$", "échec du transfert : {0}"),
    (r"^hang-up cause (.+) \(from the hang-up request\)$", "cause de raccrochage {0} (demande de raccrochage)"),
    (r"^verdict at hang-up: (.*)$", "verdict au raccrochage : {0}"),
    (r"^caller channel destroyed: (.*)$", "canal de l'appelé détruit : {0}"),
    (r"^media path lost$", "chemin audio perdu"),
    (r"^interrupted: (.*)$", "interrompu : {0}"),
    (r"^ARI connection lost: (.*)$", "connexion ARI perdue : {0}"),
    (r"^ARI reconnected$", "ARI reconnecté"),
    (r"^AMD unavailable: (.*)$", "AMD indisponible : {0}"),
    (r"^recording unavailable: (.*)$", "enregistrement indisponible : {0}"),
    (r"^caller channel gone during the outage$", "canal de l'appelé disparu pendant la coupure"),
    (r"^waiting for the transferred call to end$", "attente de la fin de l'appel transféré"),
)]


_BARGE_IN = {"the line stops": "le bot s'arrête",
             "the line is lowered while the words decide": "le bot baisse la voix le temps de l'entendre"}
_WHY = [(re.compile(pattern), french) for pattern, french in (
    (r"^still speaking (\S+) s in$", "parle encore après {0} s"),
    (r"^words: (.*)$", "mots : {0}"),
    (r"^(\S+) s of speech$", "{0} s de parole"),
    (r"^no words within (\S+) s$", "aucun mot en {0} s"),
    (r"^media closed$", "plus d'audio"),
    (r"^(\S+) s: (.*), then a pause$", "{0} s : {1}, puis une pause"),
    (r"^(\S+) s: (.*)$", "{0} s : {1}"),
)]


def _why(why: str) -> str:
    """Why a barge-in was judged so (bot.call.interruption), in French."""
    return _translated(_WHY, why)


def _translated(table: list, text: str) -> str:
    """``text`` by the first pattern of ``table`` it matches (unchanged where none does)."""
    for pattern, french in table:
        m = pattern.match(text)
        if m:
            return french(m) if callable(french) else french.format(*m.groups())
    return text


def _code(code: str) -> str:
    """An outcome code ("busy") as the export's word ("occupé")."""
    from ..campaign.summary import word

    return word(code)


def timeline_entry(what: str, lang: str | None = None) -> str:
    """One entry ("dial +33...", "heard: 'oui'") in the reader's language."""
    if (lang or current_language()) != "fr":
        return what
    return _translated(_FR, what)


def timeline_text(entries: list[tuple[float, str]], lang: str | None = None) -> str:
    """The whole timeline, one "  1.23s  entry" line each (as Timeline's own text)."""
    return "\n".join(f"{t:7.2f}s  {timeline_entry(what, lang)}" for t, what in entries)
