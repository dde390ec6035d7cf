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


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@app.command()
def demo(
    asr: str = typer.Option(None, help="whisper (default), vosk, or vosk-server (MINIBOT_VOSK_URL)"),
    listen: bool = typer.Option(False, "--listen", help="only the listen path over AudioSocket (no ARI)"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
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
    number: str = typer.Argument(..., help="E.164 number (+33...) or an Asterisk endpoint (Local/human@callee-sim)"),
    scenario: str = typer.Option("demo", help="a shipped scenario's name or a scenario YAML file"),
    var: list[str] = typer.Option([], "--var", help="a contact variable, name=value (repeatable)"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
    as_json: bool = typer.Option(False, "--json", help="print the call record as one JSON line (outcome, cause, "
                                 "AMD, verdict, result, transcript with times, barge-ins, latencies)"),
) -> None:
    """Place one real call through the configured ARI (MINIBOT_ARI__URL...) running a scenario, and
    print its timeline and result. A transfer step sends the caller to MINIBOT_DIAL__AGENT_ENDPOINT."""
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
            fail(f"--var {item!r}: expected name=value", 2, as_json)
        values[name.strip()] = value
    try:
        brain = Brain.build(scenario, settings.llm)
        voice = voice_from_settings(settings)
    except ScenarioInvalid as exc:
        fail(f"invalid scenario:\n{exc}", 2, as_json)
    except TtsError as exc:
        fail(str(exc), 2, as_json)
    missing = [v for v in brain.scenario.variables if not values.get(v, "").strip()]
    if missing:
        fail(f"scenario {brain.scenario.name!r} needs --var for: {', '.join(missing)}", 2, as_json)

    async def run() -> int:
        conversation = ScenarioConversation(brain, voice, values, agent_endpoint=settings.dial.agent_endpoint)
        if settings.llm.enabled and not await brain.prewarm():
            (err if as_json else console).print(f"[yellow]warning:[/] Ollama at {settings.llm.ollama_url} did not load "
                          f"{settings.llm.model}; the call goes on with the offline classifier and scripted lines")
        async with call_runtime(settings) as controller:
            record = await controller.place_call(number, conversation)
        if as_json:
            from bot.store.calls import record_json

            emit(record_json(record))
            return 0
        console.print(str(record.timeline))
        from bot.call.transcript_view import transcript_lines

        if record.utterances:
            console.print("transcription :", highlight=False)
            for line in transcript_lines(record):
                console.print(escape(line), highlight=False, soft_wrap=True)
        first = record.answer_to_first_audio
        console.print(f"outcome: [bold]{record.outcome.value}[/] (cause {record.cause} {record.cause_txt})"
                      + (f", answer -> first bot audio {first * 1000:.0f} ms" if first is not None else "")
                      + (f", result [bold]{record.result}[/]" if record.result else ""))
        return 0

    try:
        raise typer.Exit(asyncio.run(run()))
    except StartupError as exc:
        console.print(f"[red]erreur :[/] {exc}")
        raise typer.Exit(1) from None
    except NotDialled as exc:
        console.print(f"[red]appel non passé[/] (rien n'a sonné) : {exc}")
        raise typer.Exit(1) from None
    except (TimeoutError, OSError, AriError) as exc:
        fail(f"cannot reach Asterisk at {settings.ari.url}: {str(exc) or 'no event stream'}", 1, as_json)


@app.command()
def serve(
    role: list[str] = typer.Option(None, "--role", help="api (REST API, /health, /metrics, dashboard) and/or calls "
                                   "(ARI controller, AudioSocket, dialer worker, inbound calls); default: both"),
    json_logs: bool = typer.Option(True, "--json-logs/--text-logs", help="log lines as JSON (with the call id)"),
    verbose: bool = typer.Option(False, "--verbose", "-v"),
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
        console.print(f"[red]error:[/] --role {unknown[0]!r}: one of {', '.join(ROLES)}")
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
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except StartupError as exc:
        console.print(f"[red]erreur :[/] {exc}")
        raise typer.Exit(1) from None
    except (TimeoutError, OSError) as exc:
        console.print(f"[red]error:[/] cannot start: {exc or 'ARI event stream not reachable'} "
                      f"(Asterisk at {settings.ari.url}, API on {settings.api.host}:{settings.api.port})")
        raise typer.Exit(1) from None


@models_app.command("pull")
def models_pull(
    name: str = typer.Argument(..., help="vosk-fr, vosk-fr-large, whisper-<tiny|base|small|medium|large-v3|"
                                         "large-v3-turbo>, piper-fr-<siwis-medium|siwis-low|upmc-medium|tom-medium>"),
    dest: Path = typer.Option(None, help="models directory (default: MINIBOT_MODELS_DIR or the cache)"),
    list_url: str = typer.Option(None, help="Vosk model list URL (default: the official Vosk list)"),
    hub_url: str = typer.Option(None, help="model hub base URL for Whisper and Piper (default: huggingface.co)"),
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
            console.print(f"[red]erreur :[/] {exc}")
            raise typer.Exit(1) from None
    console.print(f"installé : {path}")
    if name in WHISPER_REPOS:
        console.print(f"à utiliser avec MINIBOT_ASR=whisper MINIBOT_WHISPER__SIZE={name.removeprefix('whisper-')}")
    elif name in PIPER_VOICES:
        console.print(f"licence : {PIPER_VOICES[name][1]} (voir {path / 'MODEL_CARD'})\n"
                      "voix Piper française installée : elle devient la voix par défaut (MINIBOT_TTS__ENGINE=auto)")
    else:
        console.print(f"à utiliser avec MINIBOT_ASR=vosk MINIBOT_VOSK_MODEL={path}")


@models_app.command("check")
def models_check() -> None:
    """Assemble and verify the bundled Whisper base model; report the Vosk model."""
    from bot.speech.asr.models import ModelError, whisper_base_dir

    settings = Settings()
    try:
        console.print(f"whisper base: {whisper_base_dir(settings.cache_dir)} (sha256 verified)")
    except ModelError as exc:
        console.print(f"[red]whisper base: {exc}[/]")
        raise typer.Exit(1) from None
    vosk = settings.vosk_model or settings.models_path / "vosk-model-small-fr-0.22"
    state = "present" if (vosk / "am").is_dir() else "absent (minibot models pull vosk-fr)"
    console.print(f"vosk: {vosk} {state}")
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
