"""The words that tell a recorded greeting from a person: data, in plain French.

Each `CueGroup` is one idea with several ways of saying it. A group counts once per greeting
(its best-matching phrase), so the variants of one idea never add up; different ideas do.
Phrases are written as people write them (accents, apostrophes, hyphens); the matcher
normalises them the same way as the transcript (lowercase, no accents, no punctuation).

Weights are in one unit: the classifier adds the machine groups that matched, subtracts the
human groups that matched, and says "machine" from MACHINE_THRESHOLD (1.0) up, so:
  STRONG (1.8)  one phrase decides alone, and still wins against one human cue such as "allô"
                together with Asterisk's HUMAN;
  1.0 - 1.2     decides alone, but a human cue overrules it;
  MEDIUM (0.7)  needs a second idea, Asterisk's MACHINE or a long greeting to decide;
  WEAK (0.35)   only adds to other evidence.
A phrase of at most five characters ("bip", "tapez") must appear as whole words; longer ones are
matched fuzzily (rapidfuzz, word-aligned) to survive recognition errors, unless the group says
`fuzzy=False`. Human cues are exact: short spoken phrases sit one short word away from each
other ("vous êtes qui" / "vous êtes sur"), and a missed human cue only costs a tie-break.
"""

from __future__ import annotations

from typing import NamedTuple

STRONG = 1.8
MEDIUM = 0.7
WEAK = 0.35


class CueGroup(NamedTuple):
    name: str
    kind: str  # how the reason names it: "voicemail phrase", "network message"...
    weight: float
    phrases: tuple[str, ...]
    fuzzy: bool = True


MACHINE_CUES: tuple[CueGroup, ...] = (
    CueGroup("mailbox", "voicemail phrase", STRONG, (
        "messagerie", "messagerie vocale", "boîte vocale", "boîte de messagerie", "répondeur",
        "répondeur téléphonique", "boîte aux lettres vocale", "service de messagerie",
    )),
    CueGroup("leave_message", "voicemail phrase", STRONG, (
        "laissez un message", "laissez-moi un message", "laissez-nous un message", "laissez votre message",
        "laissez-moi votre message", "laisser un message", "laissez un petit message", "laisse-moi un message",
        "laisse un message", "laisse-moi un petit message", "laissez-moi un petit message", "déposez un message",
        "déposer un message", "déposez votre message", "laissez vos coordonnées", "laissez-moi vos coordonnées",
        "laissez votre nom", "votre nom et votre numéro", "votre nom et numéro de téléphone",
        "laissez-moi votre numéro", "enregistrer votre message", "laissez un mot", "laisse-moi un mot",
    )),
    CueGroup("beep", "voicemail phrase", STRONG, (
        "bip", "bips", "après le bip", "après le bip sonore", "bip sonore", "après le signal sonore",
        "au signal sonore", "signal sonore", "après la tonalité", "au bip", "après le signal",
    )),
    CueGroup("greeting_formula", "voicemail phrase", 1.0, (
        "vous êtes bien", "vous êtes bien sur", "vous êtes bien chez", "vous êtes bien au", "vous êtes bien à",
        "vous êtes bien le", "vous êtes sur le répondeur", "vous avez bien joint", "vous avez joint",
        "vous avez bien appelé", "vous êtes en communication avec", "vous êtes bien en relation avec",
        "vous êtes bien en ligne avec", "vous avez appelé le", "vous avez appelé la", "tu es bien chez",
        "tu es bien sur", "t'es bien chez", "tu es sur le répondeur", "tu as bien joint", "vous êtes chez",
        "vous êtes sur la", "vous êtes sur le",
    )),
    # A live person cannot be away: "je suis absente", "on est pas là" only come from a recording.
    CueGroup("away", "voicemail phrase", 1.2, (
        "je suis absent", "je suis absente", "nous sommes absents", "je suis actuellement absent",
        "je suis actuellement absente", "je ne suis pas là", "je suis pas là", "on est pas là", "on n'est pas là",
        "nous ne sommes pas là", "nous sommes pas là", "je suis absent du bureau", "je suis en congés",
        "je suis actuellement en congés", "je ne suis pas joignable", "je suis injoignable",
    ), fuzzy=False),  # exact: one short word away from a person's "il n'est pas là"
    CueGroup("unavailable", "voicemail phrase", MEDIUM, (
        "je ne suis pas disponible", "je ne peux pas vous répondre",
        "je ne peux pas répondre", "je suis indisponible", "nous ne sommes pas disponibles",
        "ne peut pas prendre votre appel", "je ne peux pas prendre votre appel", "ne sommes pas joignables",
        "je suis pas dispo", "je ne suis pas dispo", "on est pas dispo", "pas dispo", "ne sommes pas en mesure de",
        "je ne suis pas en mesure de",
    )),
    # Third person: a recording about "votre correspondant", or a person answering for someone else.
    CueGroup("unavailable_other", "voicemail phrase", WEAK, (
        "n'est pas disponible", "est indisponible", "n'est pas là",
    )),
    CueGroup("formal_time", "voicemail phrase", WEAK, (
        "pour le moment", "actuellement", "momentanément", "dès que possible", "ultérieurement",
        "dans les plus brefs délais", "dans les meilleurs délais", "au plus vite", "pour l'instant",
    )),
    # Calling back whoever left a message; "rappelle" (tu) is said to friends, not to an unknown caller.
    CueGroup("call_back", "voicemail phrase", 0.6, (
        "je vous rappellerai", "je vous rappelle dès que possible", "je vous rappellerai dès que possible",
        "je te rappelle dès que possible", "je te rappellerai", "je vous recontacterai", "nous vous rappellerons",
        "je rappellerai", "je vous recontacte", "nous vous recontacterons", "je vous rappelle au plus vite",
    )),
    CueGroup("call_back_tu", "voicemail phrase", 0.6, (
        "rappelle plus tard", "rappelle-moi", "rappelle-moi plus tard", "je te rappelle", "je te rappelle vite",
    ), fuzzy=False),  # exact: "rappelle" is one letter away from a person's "rappelez plus tard"
    CueGroup("thanks", "voicemail phrase", MEDIUM, (
        "merci de votre appel", "merci pour votre appel", "merci de votre compréhension", "merci de rappeler",
        "merci de laisser", "merci de me laisser", "merci de nous laisser", "merci de votre patience",
        "merci et à bientôt", "merci de votre message", "merci pour votre message", "merci de votre confiance",
    )),
    CueGroup("please", "voicemail phrase", 0.8, (
        "veuillez", "veuillez rappeler", "veuillez laisser", "je vous invite à", "nous vous invitons à",
        "n'hésitez pas à", "vous pouvez également", "vous pouvez aussi m'envoyer", "merci de patienter",
    )),
    CueGroup("written_contact", "voicemail phrase", 0.5, (
        "envoyez-moi un sms", "envoyez-moi un texto", "envoie-moi un sms", "envoie-moi un texto", "par sms",
        "par texto", "un petit sms", "un petit texto", "par mail", "par e-mail", "par courriel",
        "envoyez-moi un mail", "envoyez-moi un e-mail", "vous pouvez me joindre", "sur mon portable au",
    )),
    CueGroup("network", "network message", STRONG, (
        "n'est pas attribué", "n'est plus attribué", "n'est pas en service", "n'est plus en service",
        "numéro que vous avez demandé", "numéro que vous avez composé", "numéro demandé", "votre correspondant",
        "le correspondant que vous", "l'abonné", "l'abonné que vous", "abonné que vous avez demandé", "injoignable",
        "votre appel ne peut aboutir", "ne peut aboutir", "n'a pu aboutir", "n'est pas accessible",
        "vérifiez le numéro", "vérifier le numéro", "consultez l'annuaire", "le réseau est saturé",
        "toutes les lignes de votre correspondant", "service momentanément indisponible",
        "temporairement indisponible", "momentanément indisponible", "l'accès à ce numéro",
        "le numéro de votre correspondant", "numéro n'est pas valide", "numéro invalide",
        "veuillez vérifier", "pas en mesure de prendre votre appel", "que vous essayez de joindre",
        "que vous cherchez à joindre", "la personne que vous essayez de joindre", "donner suite à votre appel",
        "renouveler votre appel", "n'est pas joignable", "n'est plus joignable", "le service demandé",
        "service que vous avez demandé",
    )),
    CueGroup("network_soft", "network message", 0.8, (
        "n'existe pas", "hors service", "est en dérangement",
    )),
    # "messagerie" misheard as "message" ("vous êtes bien sur la message de..."): ungrammatical,
    # so only a recogniser's rendering of a voicemail greeting.
    CueGroup("mailbox_misheard", "voicemail phrase", MEDIUM, (
        "sur la message", "bien sur la message", "la message de", "la message d'",
    ), fuzzy=False),
    CueGroup("switchboard", "switchboard message", STRONG, (
        "horaires d'ouverture", "nos horaires", "nos bureaux sont fermés", "nos bureaux sont actuellement fermés",
        "nos bureaux", "notre standard", "tous nos conseillers", "toutes nos lignes sont occupées",
        "tous nos opérateurs", "votre appel est important", "votre appel va être", "votre appel sera",
        "afin d'améliorer", "cet appel peut être enregistré", "tapez", "tapez 1", "tapez un", "tapez étoile",
        "tapez dièse", "taper un", "taper 1", "tapez deux", "taper deux", "taper étoile", "taper dièse",
        "appuyez sur", "appuyez sur la touche", "touche étoile", "touche dièse",
        "du lundi au vendredi", "du lundi au samedi", "en dehors de nos horaires", "prix d'un appel local",
        "appel non surtaxé", "service gratuit", "bienvenue chez", "bienvenue sur", "bienvenue au", "bienvenue dans",
        "bienvenue à", "pour être mis en relation", "pour toute information", "rendez-vous sur notre site",
        "notre site internet", "sur notre site", "jours fériés", "veuillez patienter",
        "nous sommes actuellement fermés", "actuellement fermé", "le cabinet est fermé", "le magasin est fermé",
        "l'agence est fermée", "pour joindre le service", "un conseiller va prendre votre appel",
        "prochain conseiller disponible", "composez le", "nous sommes fermés", "le standard est ouvert",
        "notre standard est ouvert", "nous sommes ouverts du", "est ouvert du lundi", "notre établissement est fermé",
        "est ouverte du", "est ouvert du", "sont ouverts du", "ouvert du mardi", "ouverte du mardi",
        "du mardi au samedi", "du mardi au vendredi", "du lundi au jeudi",
    )),
)

# What a person says when picking up, and never a recording.
HUMAN_CUES: tuple[CueGroup, ...] = (
    CueGroup("dialogue", "human cue", MEDIUM, (
        "qui est à l'appareil", "c'est qui", "qui est-ce", "qui êtes-vous", "vous êtes qui",
        "c'est de la part de qui", "de la part de qui", "c'est à quel sujet", "c'est pour quoi", "c'est pourquoi",
        "qui c'est", "qui ça", "qui me demande", "on se connaît", "vous voulez quoi", "qu'est-ce que vous voulez",
        "qu'est-ce que c'est", "je vous écoute", "j'écoute", "oui j'écoute", "à l'appareil", "oui c'est moi",
        "lui-même", "elle-même", "moi-même", "oui c'est lui", "oui c'est elle", "c'est bien moi",
        "je vous entends", "je vous entends pas", "je vous entends mal", "vous m'entendez", "il y a quelqu'un",
        "y a quelqu'un", "qui appelle", "c'est quoi", "vous appelez pour quoi", "oui c'est pour",
        "j'entends rien", "parlez plus fort", "ça coupe", "je ne vous entends pas", "c'est à quel propos",
        "c'est pour quelle raison", "qu'est-ce qu'il y a", "à votre service",
    ), fuzzy=False),
    CueGroup("reply", "human cue", 0.6, (
        "je suis en voiture", "je conduis", "je suis au volant", "je suis au travail", "je suis en réunion",
        "je suis occupé", "je suis occupée", "je suis en rendez-vous", "je suis à table", "je suis en train de",
        "pas intéressé", "pas intéressée", "ça ne m'intéresse pas", "ça m'intéresse pas", "non merci",
        "arrêtez de m'appeler", "c'est une pub", "c'est de la pub", "c'est un robot", "vous vendez quoi",
        "qu'est-ce que vous vendez", "je n'ai pas le temps", "j'ai pas le temps", "deux secondes",
        "une seconde", "attendez", "attends", "excusez-moi", "pardon", "je ne comprends pas", "je comprends pas",
        "comment ça", "je suis au boulot", "je peux pas parler", "je ne peux pas parler", "c'est pas le moment",
        "ce n'est pas le moment", "je suis en plein", "je vous passe", "je te passe", "je vais le chercher",
        "je vais la chercher", "il est pas là", "elle est pas là", "il n'est pas là", "elle n'est pas là",
        "ne bougez pas", "il n'est pas disponible", "elle n'est pas disponible", "il est pas disponible",
        "elle est pas disponible", "c'est le téléphone", "ça sonne", "pas disponible là", "pas dispo là",
        "occupé là", "occupée là",
    ), fuzzy=False),
    # Someone calling about a previous call: "laissé un message" here is a person, not a greeting.
    CueGroup("previous_call", "human cue", 2.0, (
        "vous m'avez laissé un message", "vous m'avez appelé", "vous m'avez téléphoné", "vous m'avez contacté",
        "j'ai eu votre message", "j'ai eu un message", "j'ai un appel manqué", "appel manqué", "j'ai vu votre appel",
        "j'ai vu que vous", "on m'a laissé un message", "qui m'a appelé", "vous avez essayé de me joindre",
        "vous avez cherché à me joindre", "j'ai reçu un appel", "j'ai eu un appel", "je rappelle suite à",
        "j'ai reçu votre message", "j'ai bien eu votre message", "vous aviez appelé", "vous m'aviez appelé",
        "vous avez laissé un message", "vous m'avez laissé", "que vous aviez appelé",
    ), fuzzy=False),
)

# Spoken digits of a phone number ("zéro six douze trente-quatre..."), after normalisation.
NUMBER_WORDS: frozenset[str] = frozenset((
    "zero", "un", "une", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf", "dix", "onze", "douze",
    "treize", "quatorze", "quinze", "seize", "vingt", "vingts", "trente", "quarante", "cinquante", "soixante",
    "septante", "huitante", "nonante", "cent", "cents",
))
# Greeting noises and words that carry nothing: ignored when counting what the ASR could read.
FILLERS: frozenset[str] = frozenset((
    "euh", "heu", "hum", "hm", "hmm", "mmh", "ah", "oh", "eh", "ben", "bah", "bon", "hein",
))
# Words of a person picking up; one of them among the first three words is a human cue.
PICKUP_WORDS: frozenset[str] = frozenset(("oui", "ouais", "ouai", "ouaip", "mouais", "voila"))
