"""`minibot`: the command line. Thin: parse, call `bot`, print."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from bot.config import Settings
from bot.i18n import _

from . import help as readable_help
from .amd import amd_app
from .audio import audio_app
from .campaign import campaign_app
from .campaign_show import show as campaign_show
from .compliance import compliance_app
from .contacts import contacts_app
from .contacts_manage import contacts_list, contacts_show, contacts_update
from .db import db_app
from .doctor import doctor
from .nlu import nlu_app
from .scenario import scenario_app
from .scenario_try import try_ as scenario_try
from .tts import tts_app
from .voice import voice_app
from .webhook import webhook_app

readable_help.install()
app = typer.Typer(help="MiniBot : assistant vocal téléphonique français sur Asterisk.", no_args_is_help=True)
models_app = typer.Typer(help="Modèles vocaux : télécharger et vérifier.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(scenario_app, name="scenario")
app.add_typer(nlu_app, name="nlu")
app.add_typer(amd_app, name="amd")
app.add_typer(voice_app, name="voice")
app.add_typer(tts_app, name="tts")
app.add_typer(audio_app, name="audio")
app.add_typer(db_app, name="db")
app.add_typer(contacts_app, name="contacts")
app.add_typer(campaign_app, name="campaign")
app.add_typer(compliance_app, name="compliance")
app.add_typer(webhook_app, name="webhook")
app.command("doctor")(doctor)
scenario_app.command("try")(scenario_try)
campaign_app.command("show")(campaign_show)
contacts_app.command("list")(contacts_list)
contacts_app.command("show")(contacts_show)
contacts_app.command("update")(contacts_update)
console = Console()


@app.callback()
def _check_settings() -> None:
    # Every command reads the settings: a wrong MINIBOT_* value (in the environment or .env) is said
    # here, in words, rather than as pydantic's traceback from inside the command.
    from pydantic import ValidationError

    try:
        Settings()
    except ValidationError as exc:
        Console(stderr=True).print(f"[red]{_('erreur :')}[/] " + settings_problem(exc), highlight=False,
                                   soft_wrap=True)
        raise typer.Exit(2) from None


def settings_problem(exc) -> str:
    """A settings ValidationError as the variables to fix: 'MINIBOT_LANGUAGE = 'de' : 'fr' ou 'en' attendu'."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = [str(p) for p in error["loc"]]
        name = "DATABASE_URL" if loc[:1] == ["database_url"] else "MINIBOT_" + "__".join(loc).upper()
        lines.append(_("réglage {name} = {value!r} : {why}").format(
            name=name, value=error.get("input"), why=readable_help.translate_error(error["msg"])))
    return "\n".join(lines)


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def demo(
    asr: str = typer.Option(None, help="whisper (par défaut), vosk ou vosk-server (MINIBOT_VOSK_URL)"),
    listen: bool = typer.Option(False, "--listen", help="seulement l'écoute par AudioSocket (sans ARI)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="journal détaillé"),
) -> None:
    """Démonstration hors ligne : une campagne sur des correspondants simulés (base intégrée, Asterisk simulé,
    tout MiniBot) ; chaque conversation en direct, puis les chiffres de la campagne."""
    _logging(verbose)
    settings = Settings()
    if asr:
        settings = settings.model_copy(update={"asr": asr})
    if listen:
        from bot.demo.listen import run_listen_demo

        raise typer.Exit(asyncio.run(run_listen_demo(settings, console)))
    from bot.demo.campaign import run_campaign_demo

    raise typer.Exit(asyncio.run(run_campaign_demo(settings, console)))


@app.command()
def call(
    number: str = typer.Argument(..., metavar="NUMÉRO", help="numéro E.164 (+33...) ou point d'accès Asterisk "
                                                             "(Local/human@callee-sim)"),
    scenario: str = typer.Option("demo", help="le nom d'un scénario livré ou un fichier YAML de scénario"),
    var: list[str] = typer.Option([], "--var", metavar="NOM=VALEUR",
                                help="une variable du contact, nom=valeur (répétable)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="journal détaillé"),
    as_json: bool = typer.Option(False, "--json", help="afficher la fiche de l'appel en une ligne JSON (issue, cause, "
                                 "AMD, verdict, résultat, transcription horodatée, interruptions, latences)"),
) -> None:
    """Passer un vrai appel par l'ARI configuré (MINIBOT_ARI__URL...) avec un scénario, et afficher son
    déroulé et son résultat. Une étape de transfert envoie l'appelé vers MINIBOT_DIAL__AGENT_ENDPOINT."""
    from ari.errors import AriError
    from bot.call.readiness import NotDialled, StartupError
    from bot.call.runtime import call_runtime
    from bot.call.scenario_conversation import ScenarioConversation
    from bot.dialog.brain import Brain
    from bot.dialog.scenario.loader import ScenarioInvalid
    from bot.speech.tts import TtsError
    from bot.voice.voice import voice_from_settings
    from cli.common import emit, err, fail

    _logging(verbose)
    settings = Settings()
    values = {}
    for item in var:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(_("--var {item!r} : nom=valeur attendu").format(item=item), 2, as_json)
        values[name.strip()] = value
    try:
        brain = Brain.build(scenario, settings.llm)
        voice = voice_from_settings(settings)
    except ScenarioInvalid as exc:
        fail(_("scénario invalide :\n{error}").format(error=exc), 2, as_json)
    except TtsError as exc:
        fail(str(exc), 2, as_json)
    missing = [v for v in brain.scenario.variables if not values.get(v, "").strip()]
    if missing:
        fail(_("le scénario « {name} » attend --var pour : {names}").format(
            name=brain.scenario.name, names=", ".join(missing)), 2, as_json)

    async def run() -> int:
        conversation = ScenarioConversation(brain, voice, values, agent_endpoint=settings.dial.agent_endpoint)
        if settings.llm.enabled and not await brain.prewarm():
            (err if as_json else console).print(
                f"[yellow]{_('attention :')}[/] " + _("Ollama ({url}) n'a pas chargé {model} ; l'appel continue avec "
                                                     "le classifieur hors ligne et les phrases du scénario").format(
                    url=settings.llm.ollama_url, model=settings.llm.model))
        async with call_runtime(settings) as controller:
            record = await controller.place_call(number, conversation)
        if as_json:
            from bot.store.calls import record_json

            emit(record_json(record))
            return 0
        from bot.i18n.timeline import timeline_text

        console.print(timeline_text(record.timeline.entries), highlight=False)
        from bot.call.transcript_view import transcript_lines

        if record.utterances:
            console.print("transcription :", highlight=False)
            for line in transcript_lines(record):
                console.print(escape(line), highlight=False, soft_wrap=True)
        first = record.answer_to_first_audio
        console.print(_("issue : [bold]{outcome}[/] (cause {cause} {cause_txt})").format(
                          outcome=record.outcome.value, cause=record.cause, cause_txt=record.cause_txt)
                      + (_(", décroché → première parole du bot {ms} ms").format(ms=f"{first * 1000:.0f}")
                         if first is not None else "")
                      + (_(", résultat [bold]{result}[/]").format(result=record.result) if record.result else ""))
        return 0

    try:
        raise typer.Exit(asyncio.run(run()))
    except StartupError as exc:
        console.print(f"[red]{_('erreur :')}[/] {exc}")
        raise typer.Exit(1) from None
    except NotDialled as exc:
        console.print(_("[red]appel non passé[/] (rien n'a sonné) : {error}").format(error=exc))
        raise typer.Exit(1) from None
    except (TimeoutError, OSError, AriError) as exc:
        fail(_("Asterisk injoignable à {url} : {error}").format(
            url=settings.ari.url, error=str(exc) or _("pas de flux d'événements ARI")), 1, as_json)


@app.command()
def serve(
    role: list[str] = typer.Option(None, "--role", help="api (API REST, /health, /metrics, tableau de bord) "
                                   "et/ou calls (contrôleur ARI, AudioSocket, worker d'appels, appels entrants) ; "
                                   "par défaut : les deux"),
    json_logs: bool = typer.Option(True, "--json-logs/--text-logs",
                                   help="journal en lignes JSON (avec l'id de l'appel)"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="journal détaillé"),
) -> None:
    """Lancer MiniBot en service jusqu'à SIGTERM ou Ctrl-C : ensuite plus de nouvel appel, ceux en cours se
    terminent (MINIBOT_DIALER__DRAIN_SECONDS). Plusieurs workers `--role calls` sur plusieurs machines peuvent
    partager une base PostgreSQL (DATABASE_URL)."""
    import signal

    from bot.call.readiness import StartupError
    from bot.ops.logs import redact, setup_logging
    from bot.serve import ROLES
    from bot.serve import serve as run_service
    from bot.store import DatabaseError
    from bot.store.embedded import EmbeddedUnavailable

    roles = tuple(dict.fromkeys(role or ROLES))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        console.print(f"[red]{_('erreur :')}[/] " + _("--role {role!r} : l'un de {roles}").format(
            role=unknown[0], roles=", ".join(ROLES)))
        raise typer.Exit(2)
    settings = Settings()
    setup_logging("DEBUG" if verbose else "INFO", json=json_logs)
    redact(settings.api.key.get_secret_value() if settings.api.key else None,
           settings.ari.password.get_secret_value(), settings.database_dsn)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_service(settings, roles, stop=stop)

    try:
        asyncio.run(main())
    except (DatabaseError, EmbeddedUnavailable) as exc:
        console.print(f"[red]{_('erreur :')}[/] {exc}")
        raise typer.Exit(1) from None
    except StartupError as exc:
        console.print(f"[red]{_('erreur :')}[/] {exc}")
        raise typer.Exit(1) from None
    except (TimeoutError, OSError) as exc:
        console.print(f"[red]{_('erreur :')}[/] " + _(
            "démarrage impossible : {error} (Asterisk à {url}, API sur {host}:{port})").format(
            error=exc or _("flux d'événements ARI injoignable"), url=settings.ari.url,
            host=settings.api.host, port=settings.api.port))
        raise typer.Exit(1) from None


@models_app.command("pull")
def models_pull(
    name: str = typer.Argument(..., metavar="MODÈLE",
                               help="vosk-fr, vosk-fr-large, whisper-<tiny|base|small|medium|large-v3|"
                                         "large-v3-turbo>, piper-fr-<siwis-medium|siwis-low|upmc-medium|tom-medium>"),
    dest: Path = typer.Option(None, help="dossier des modèles (par défaut : MINIBOT_MODELS_DIR ou le cache)"),
    list_url: str = typer.Option(None, help="adresse de la liste des modèles Vosk "
                                                "(par défaut : la liste officielle)"),
    hub_url: str = typer.Option(None, help="adresse du dépôt de modèles Whisper et Piper "
                                               "(par défaut : huggingface.co)"),
) -> None:
    """Télécharge un modèle, vérifie ses sommes de contrôle (MD5 de la liste Vosk, sha256 du hub) et l'installe."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from bot.speech.asr.models import (
        HF_BASE_URL,
        PIPER_VOICES,
        VOSK_MODEL_LIST_URL,
        WHISPER_REPOS,
        ModelError,
        pull_model,
        pull_vosk_model,
    )

    settings = Settings()
    target = dest or settings.models_path
    with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                  TransferSpeedColumn(), console=console) as progress:
        task = progress.add_task(name, total=None)
        report = lambda done, total: progress.update(task, completed=done, total=total)  # noqa: E731
        try:
            if name in WHISPER_REPOS or name in PIPER_VOICES:
                path = pull_model(name, target, base_url=hub_url or HF_BASE_URL, progress=report)
            else:
                path = pull_vosk_model(name, target, list_url=list_url or VOSK_MODEL_LIST_URL, progress=report)
        except ModelError as exc:
            console.print(f"[red]{_('erreur :')}[/] {exc}")
            raise typer.Exit(1) from None
    console.print(_("installé : {path}").format(path=path))
    if name in WHISPER_REPOS:
        console.print(f"à utiliser avec MINIBOT_ASR=whisper MINIBOT_WHISPER__SIZE={name.removeprefix('whisper-')}")
    elif name in PIPER_VOICES:
        console.print(f"licence : {PIPER_VOICES[name][1]} (voir {path / 'MODEL_CARD'})\n"
                      "voix Piper française installée : elle devient la voix par défaut (MINIBOT_TTS__ENGINE=auto)")
    else:
        console.print(f"à utiliser avec MINIBOT_ASR=vosk MINIBOT_VOSK_MODEL={path}")


@models_app.command("check")
def models_check() -> None:
    """Assembler et vérifier le modèle Whisper base livré ; dire où en est le modèle Vosk."""
    from bot.speech.asr.models import ModelError, whisper_base_dir

    settings = Settings()
    try:
        console.print(_("whisper base : {path} (sha256 vérifié)").format(path=whisper_base_dir(settings.cache_dir)))
    except ModelError as exc:
        console.print(f"[red]{_('whisper base : {error}').format(error=escape(str(exc)))}[/]")
        raise typer.Exit(1) from None
    vosk = settings.vosk_model or settings.models_path / "vosk-model-small-fr-0.22"
    state = _("présent") if (vosk / "am").is_dir() else _("absent (minibot models pull vosk-fr)")
    console.print(f"vosk : {vosk} {state}")
    from bot.speech.asr.models import WHISPER_REPOS
    from bot.speech.tts.piper import french_voices

    pulled = [n for n in WHISPER_REPOS if (settings.models_path / n / "model.bin").exists()]
    console.print(f"whisper téléchargés : {', '.join(pulled) or 'aucun'} (réglé : {settings.whisper.size}, "
                  f"{settings.whisper.device}, {settings.whisper.compute_type})")
    voices = french_voices(settings.models_path)
    missing = "aucune (minibot models pull piper-fr-siwis-medium)"
    console.print(f"voix Piper françaises : {', '.join(voices) or missing}")


def main() -> None:  # pragma: no cover
    sys.exit(app())
