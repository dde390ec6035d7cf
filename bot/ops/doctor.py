"""`minibot doctor`: is this installation able to call? Each check says OK, or what is wrong and
what to do, in French (the operator reads it).

The Asterisk checks do what a call does, on a channel of their own: the doctor registers its own
Stasis application (never MiniBot's: a running `minibot serve` keeps its calls), asks Asterisk for an
AudioSocket channel to MiniBot's AudioSocket address (so Asterisk really connects to it), plays a
probe file from the audio directory on it, and sends it into the AMD context, from which it must come
back into the doctor's application with AMD's verdict, as MiniBot's snoop channels do. Then, only
while MiniBot's own Stasis application is free (no MiniBot running to take the call), it places a
Local call into the inbound context, as the trunk would, and waits for it in MiniBot's application
with the `inbound` arguments. Nothing is dialled outside Asterisk, and nothing is left behind: the
channels are hung up whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from ari.client import AriClient, AriConfig
from ari.errors import AriError, AriHttpError, AriUnavailable
from ari.events import ChannelDestroyed, PlaybackFinished, StasisEnd, StasisStart
from ari.stream import EventStream
from audiosocket.codec import encode_audio

from ..config import Settings

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"

# What MiniBot's calls use (asterisk/modules.conf says why each is loaded).
REQUIRED_MODULES = {
    "res_ari.so": "ARI", "res_stasis.so": "Stasis", "res_http_websocket.so": "le WebSocket des événements ARI",
    "res_ari_channels.so": "ARI channels", "res_ari_bridges.so": "ARI bridges",
    "res_ari_playbacks.so": "ARI playbacks", "res_ari_recordings.so": "ARI recordings",
    "res_ari_applications.so": "ARI applications", "res_ari_asterisk.so": "ARI asterisk",
    "res_ari_events.so": "ARI events", "res_stasis_snoop.so": "l'écoute des appels (snoop)",
    "res_stasis_playback.so": "la lecture des phrases", "res_stasis_recording.so": "l'enregistrement",
    "res_audiosocket.so": "AudioSocket", "chan_audiosocket.so": "les canaux AudioSocket (externalMedia)",
    "app_amd.so": "la détection de répondeur (AMD)", "bridge_softmix.so": "les ponts de mixage",
    "codec_resample.so": "le rééchantillonnage 8/16 kHz", "format_wav.so": "les fichiers WAV",
    "format_sln.so": "les fichiers sln16",
    "chan_bridge_media.so": "la lecture des phrases sur le pont de l'appel",
    "func_volume.so": "la voix du bot baissée quand l'appelant parle par-dessus",
}

# ARCEP decision 2022-1583: unsolicited commercial calls (démarchage) in metropolitan France must
# present a number from these ranges, and never a mobile number.
CANVASSING_PREFIXES = ("0162", "0163", "0270", "0271", "0377", "0378", "0424", "0425", "0568", "0569", "0948",
                       "0949")
_PROBE_KEY = "d0c70000000000000000000000000000"  # the audio cache's layout: <xx>/<32 hex>.wav
AMD_WAIT_S = 8.0  # AMD() gives a verdict within its total analysis time (5 s in asterisk/amd.conf)


@dataclass(frozen=True)
class Finding:
    name: str  # what was checked, for people ("ARI", "Contexte AMD"...)
    status: str  # ok | warn | fail | skip
    detail: str  # what was found
    fix: str = ""  # what to do (fail and warn)

    @property
    def ok(self) -> bool:
        return self.status in (OK, SKIP)

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


# -- caller ID ----------------------------------------------------------------------------------------

def caller_id_number(caller_id: str | None) -> str | None:
    """The number of a caller ID as configured ('Agence <+33162000000>' or '+33162000000')."""
    if not caller_id:
        return None
    match = re.search(r"<([^>]*)>", caller_id)
    return (match[1] if match else caller_id).strip()


def national(number: str) -> str | None:
    """A French number as ten national digits (0162...), or None when it is not a French number."""
    digits = re.sub(r"[\s.\-()]", "", number)
    if digits.startswith("+33"):
        digits = "0" + digits[3:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    return digits if re.fullmatch(r"0[1-9]\d{8}", digits) else None


def check_caller_id(caller_id: str | None) -> Finding:
    name = "Numéro présenté"
    number = caller_id_number(caller_id)
    if not number:
        return Finding(name, FAIL, "aucun numéro présenté (MINIBOT_DIAL__CALLER_ID vide)",
                       "présenter un numéro des tranches de démarchage de l'ARCEP, par exemple "
                       "MINIBOT_DIAL__CALLER_ID='Agence <+33162000000>'")
    digits = national(number)
    if digits is None:
        return Finding(name, WARN, f"{number} n'est pas un numéro français",
                       "pour démarcher en France, présenter un numéro français des tranches de l'ARCEP")
    if digits[:2] in ("06", "07"):
        return Finding(name, FAIL, f"{digits} est un numéro mobile : interdit pour le démarchage automatisé",
                       "présenter un numéro fixe des tranches 01 62, 01 63, 02 70, 02 71, 03 77, 03 78, 04 24, "
                       "04 25, 05 68, 05 69, 09 48 ou 09 49")
    if digits[:4] not in CANVASSING_PREFIXES:
        return Finding(name, WARN, f"{digits} n'est pas dans les tranches réservées au démarchage "
                       "(décision ARCEP 2022-1583)",
                       "pour des appels de prospection, présenter un numéro 01 62, 01 63, 02 70, 02 71, 03 77, "
                       "03 78, 04 24, 04 25, 05 68, 05 69, 09 48 ou 09 49 ; un autre numéro convient seulement "
                       "aux appels qui ne sont pas du démarchage")
    return Finding(name, OK, f"{digits} (tranche de démarchage {digits[:2]} {digits[2:4]})")


# -- Asterisk -----------------------------------------------------------------------------------------

def _ari_config(settings: Settings, app: str | None = None) -> AriConfig:
    a = settings.ari
    return AriConfig(url=a.url, username=a.username, password=a.password.get_secret_value(), app=app or a.app,
                     request_timeout=5.0)


async def _get(client: AriClient, path: str) -> Any:
    """A GET the ARI client has no method for (modules, applications), with the client's session."""
    url = client.config.url.rstrip("/") + path
    try:
        async with client.session.get(url) as resp:
            if resp.status >= 400:
                raise AriHttpError("GET", path, resp.status, (await resp.text())[:200])
            return await resp.json()
    except (aiohttp.ClientConnectionError, TimeoutError) as exc:
        raise AriUnavailable(f"GET {path}: {exc}") from exc


async def check_asterisk(settings: Settings, audio_dir: Path | None = None) -> list[Finding]:
    """ARI, version, modules, Stasis application, AudioSocket, audio directory, AMD context."""
    out: list[Finding] = []
    a = settings.ari
    async with AriClient(_ari_config(settings)) as client:
        try:
            info = await client.info()
        except AriUnavailable as exc:
            cause = re.sub(r"^Asterisk unreachable \((.*)\)$", r"\1", _short(exc))
            out.append(Finding("ARI", FAIL, f"Asterisk injoignable à {a.url} ({cause})",
                               "vérifier qu'Asterisk tourne, http.conf (enabled=yes, bindaddr, bindport) et "
                               "MINIBOT_ARI__URL (http://hôte:port/ari)"))
            return out + _skipped("Asterisk injoignable")
        except AriHttpError as exc:
            if exc.status == 401:
                out.append(Finding("ARI", FAIL, f"identifiants refusés pour l'utilisateur « {a.username} »",
                                   "le mot de passe de MINIBOT_ARI__PASSWORD doit être celui de "
                                   f"[{a.username}] dans ari.conf (puis « module reload res_ari.so »)"))
            elif exc.status == 404:
                out.append(Finding("ARI", FAIL, f"pas d'ARI à {a.url} (HTTP 404)",
                                   "charger res_ari.so, activer ari.conf ([general] enabled=yes) ; l'adresse "
                                   "se termine par /ari"))
            else:
                out.append(Finding("ARI", FAIL, f"ARI répond HTTP {exc.status} : {exc.message}",
                                   "lire le journal d'Asterisk"))
            return out + _skipped("ARI inutilisable")
        version = ((info or {}).get("system") or {}).get("version", "?")
        out.append(Finding("ARI", OK, f"connecté à {a.url} en tant que « {a.username} »"))
        major = version.split(".", 1)[0]
        out.append(Finding("Version d'Asterisk", OK if major == "22" else WARN, f"Asterisk {version}",
                           "" if major == "22" else "MiniBot est vérifié avec Asterisk 22 ; d'autres versions "
                           "peuvent différer (asterisk-22-facts)"))
        out.append(await _modules(client))
        application = await _application(client, a.app)
        out.append(application)
        out.extend(await _media_checks(settings, audio_dir or settings.audio_path))
        out.append(await _inbound_context(settings, app_free=application.status == OK))
    return out


def _skipped(why: str) -> list[Finding]:
    return [Finding(name, SKIP, f"non vérifié : {why}") for name in
            ("Modules", "Application Stasis", "AudioSocket", "Répertoire audio", "Contexte AMD", "Contexte entrant")]


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text.split(": ", 1)[-1][:160] if text else type(exc).__name__


async def _modules(client: AriClient) -> Finding:
    try:
        loaded = {m["name"]: m.get("status", "") for m in await _get(client, "/asterisk/modules")}
    except AriError as exc:
        return Finding("Modules", FAIL, f"liste des modules illisible ({_short(exc)})",
                       "charger res_ari_asterisk.so (asterisk/modules.conf)")
    missing = [name for name in REQUIRED_MODULES if loaded.get(name, "").lower() != "running"]
    if missing:
        what = ", ".join(f"{name} ({REQUIRED_MODULES[name]})" for name in missing)
        return Finding("Modules", FAIL, f"non chargés : {what}",
                       "les ajouter à modules.conf (load = ...) comme dans asterisk/modules.conf, puis "
                       + " ; ".join(f"« module load {name} »" for name in missing))
    return Finding("Modules", OK, f"{len(REQUIRED_MODULES)} modules nécessaires chargés (ARI, AudioSocket, AMD...)")


async def _application(client: AriClient, app: str) -> Finding:
    try:
        apps = {entry["name"] for entry in await _get(client, "/applications")}
    except AriError as exc:
        return Finding("Application Stasis", FAIL, f"liste des applications illisible ({_short(exc)})",
                       "charger res_ari_applications.so")
    if app in apps:
        return Finding("Application Stasis", WARN, f"« {app} » est déjà connectée à Asterisk",
                       "normal si un « minibot serve » ou « minibot campaign run » tourne ; sinon un autre "
                       "programme l'utilise : donner à chaque processus son nom (MINIBOT_ARI__APP)")
    return Finding("Application Stasis", OK, f"« {app} » est libre")


def _audiosocket_target(settings: Settings) -> tuple[str, str, int]:
    """(address Asterisk is told, host to listen on, port to listen on)."""
    listen_host, listen_port = settings.audiosocket_host, settings.audiosocket_port
    target = settings.audiosocket_address or f"{listen_host}:{listen_port}"
    return target, listen_host, listen_port


async def _media_checks(settings: Settings, audio_dir: Path) -> list[Finding]:
    """AudioSocket reachability, then the audio directory and the AMD context on the same channel."""
    target, host, port = _audiosocket_target(settings)
    connected: asyncio.Future[asyncio.StreamWriter] = asyncio.get_running_loop().create_future()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if connected.done():
            writer.close()
            return
        connected.set_result(writer)
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while await reader.read(4096):  # Asterisk's frames: read and dropped
                pass

    try:
        server = await asyncio.start_server(accept, host, port)
    except OSError as exc:
        return [Finding("AudioSocket", WARN, f"le port {host}:{port} est déjà pris ({exc.strerror}) : un MiniBot "
                        "tourne sans doute ; connexion d'Asterisk non testée",
                        "relancer « minibot doctor » MiniBot arrêté pour tester la connexion"),
                Finding("Répertoire audio", SKIP, "non vérifié : il faut le canal de test AudioSocket"),
                Finding("Contexte AMD", SKIP, "non vérifié : il faut le canal de test AudioSocket")]
    app = f"minibot-doctor-{uuid.uuid4().hex[:8]}"
    stream = EventStream(_ari_config(settings, app), give_up_after=10)
    events = stream.subscribe(everything=True)
    reader = asyncio.create_task(stream.run(), name="doctor-events")
    findings: list[Finding] = []
    channel_id = f"doctor-{uuid.uuid4().hex[:12]}"
    try:
        async with server, AriClient(_ari_config(settings, app)) as client:
            await stream.wait_connected(5)
            try:
                await client.external_media(external_host=target, data=str(uuid.uuid4()), channel_id=channel_id)
            except AriHttpError as exc:
                # Asterisk connects while it creates the channel: a refused connection is a 500
                # ("An internal error prevented this request from being handled"), checked live.
                if exc.status == 500:
                    return _unreachable(target, "connexion refusée")
                return [Finding("AudioSocket", FAIL, f"Asterisk refuse de créer le canal AudioSocket ({_short(exc)})",
                                "charger chan_audiosocket.so et res_audiosocket.so"), *_no_channel()]
            try:
                writer = await asyncio.wait_for(asyncio.shield(connected), 5)
            except TimeoutError:
                return _unreachable(target, "rien en 5 s")
            findings.append(Finding("AudioSocket", OK, f"Asterisk joint MiniBot à {target}"))
            silence = asyncio.create_task(_send_silence(writer), name="doctor-silence")
            # The AudioSocket connects while Asterisk creates the channel, before StasisStart: a
            # playback asked in between is refused "Channel not in Stasis application" (seen live,
            # on a loaded machine). The checks below start once the channel is in the app.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    while not (isinstance(event := await events.get(), StasisStart)
                               and event.channel.id == channel_id):
                        pass
            try:
                findings.append(await _play_probe(client, events, channel_id, settings, audio_dir))
                findings.append(await _amd_context(client, events, channel_id, settings.dial.amd_context, app))
            finally:
                silence.cancel()
                await asyncio.gather(silence, return_exceptions=True)
    finally:
        await _end_probe(settings, app, channel_id, events, reader)
    return findings


async def _end_probe(settings: Settings, app: str, channel_id: str, events, reader: asyncio.Task) -> None:
    """A check's test channel hung up (if Asterisk still answers) and its event reader stopped."""
    with contextlib.suppress(AriError, aiohttp.ClientError, OSError, TimeoutError):
        async with AriClient(_ari_config(settings, app)) as client:
            await client.hangup(channel_id)
    events.close()
    reader.cancel()
    await asyncio.gather(reader, return_exceptions=True)


def _no_channel() -> list[Finding]:
    return [Finding("Répertoire audio", SKIP, "non vérifié : pas de canal de test AudioSocket"),
            Finding("Contexte AMD", SKIP, "non vérifié : pas de canal de test AudioSocket")]


def _unreachable(target: str, why: str) -> list[Finding]:
    return [Finding("AudioSocket", FAIL, f"Asterisk ne joint pas MiniBot à {target} ({why})",
                    "MINIBOT_AUDIOSOCKET_ADDRESS doit être une adresse que la machine d'Asterisk atteint (pas "
                    "127.0.0.1 si Asterisk est ailleurs), sur le port où MiniBot écoute "
                    "(MINIBOT_AUDIOSOCKET_PORT) ; ouvrir ce port TCP dans le pare-feu"), *_no_channel()]


async def _send_silence(writer: asyncio.StreamWriter) -> None:
    """20 ms of slin16 silence every 20 ms: a caller's line is never empty, and AMD needs frames."""
    frame = encode_audio(bytes(640), 16000)
    with contextlib.suppress(OSError, ConnectionError):
        while True:
            writer.write(frame)
            await writer.drain()
            await asyncio.sleep(0.02)


def _write_probe(audio_dir: Path) -> Path:
    """A short silent 8 kHz WAV where the audio cache keeps its files; returns its path without extension."""
    folder = audio_dir / _PROBE_KEY[:2]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{_PROBE_KEY}.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(bytes(1600))  # 100 ms
    return path.with_suffix("")


async def _play_probe(client: AriClient, events, channel_id: str, settings: Settings, audio_dir: Path) -> Finding:
    name = "Répertoire audio"
    try:
        base = await asyncio.to_thread(_write_probe, audio_dir)
    except OSError as exc:
        return Finding(name, FAIL, f"impossible d'écrire dans {audio_dir} ({exc.strerror})",
                       "donner à MiniBot un répertoire audio où il écrit (MINIBOT_TTS__AUDIO_DIR)")
    http = settings.tts.http_url
    media = f"sound:{http.rstrip('/')}/audio/{_PROBE_KEY[:2]}/{_PROBE_KEY}.wav" if http else f"sound:{base}"
    where = http or str(audio_dir)
    playback_id = f"doctor-{uuid.uuid4().hex[:8]}"
    try:
        await client.play(channel_id, [media], playback_id=playback_id)
    except AriError as exc:
        return Finding(name, FAIL, f"lecture refusée ({_short(exc)})", "charger res_stasis_playback.so")
    try:
        async with asyncio.timeout(5):
            while True:
                event = await events.get()
                if isinstance(event, PlaybackFinished) and event.playback.id == playback_id:
                    break
    except TimeoutError:
        return Finding(name, FAIL, f"lecture de {where} sans fin en 5 s", "lire le journal d'Asterisk")
    if event.playback.state == "failed":
        fix = ("MINIBOT_TTS__HTTP_URL doit être joignable depuis Asterisk (res_http_media_cache chargé)" if http
               else "Asterisk doit lire les fichiers de MiniBot au même chemin : même machine ou dossier partagé "
                    "(MINIBOT_TTS__AUDIO_DIR), droits de lecture pour l'utilisateur d'Asterisk ; ou servir l'audio "
                    "en HTTP (MINIBOT_TTS__HTTP_PORT et MINIBOT_TTS__HTTP_URL)")
        return Finding(name, FAIL, f"Asterisk ne lit pas l'audio de MiniBot depuis {where}", fix)
    return Finding(name, OK, f"Asterisk lit l'audio de MiniBot depuis {where}")


async def _amd_context(client: AriClient, events, channel_id: str, context: str, app: str) -> Finding:
    name = "Contexte AMD"
    try:
        await client.set_variable(channel_id, "MINIBOT_APP", app)
        await client.continue_in_dialplan(channel_id, context, "s", 1)
    except AriError as exc:
        return Finding(name, FAIL, f"le canal de test n'entre pas dans [{context}] ({_short(exc)})",
                       "lire le journal d'Asterisk")
    try:
        async with asyncio.timeout(AMD_WAIT_S):
            left = False
            while True:
                event = await events.get()
                if isinstance(event, StasisEnd) and event.channel.id == channel_id:
                    left = True
                elif isinstance(event, StasisStart) and event.channel.id == channel_id and left:
                    if event.args[:1] == ("amd",):
                        verdict = "/".join(a for a in event.args[1:] if a) or "sans verdict"
                        return Finding(name, OK, f"[{context}] exécute AMD() et revient dans MiniBot ({verdict})")
                    return Finding(name, FAIL, f"[{context}] revient dans Stasis sans le verdict AMD "
                                   f"(arguments {list(event.args)})", _AMD_FIX)
                elif isinstance(event, ChannelDestroyed) and event.channel.id == channel_id:
                    return Finding(name, FAIL, f"le contexte [{context}] est absent ou incomplet : le canal de "
                                   "test a raccroché sans revenir", _AMD_FIX)
    except TimeoutError:
        return Finding(name, FAIL, f"[{context}] ne rend pas la main en {AMD_WAIT_S:g} s", _AMD_FIX)


_AMD_FIX = ("inclure asterisk/extensions.conf de MiniBot (#include) avec son contexte [minibot-amd] "
            "(AMD() puis Stasis(${MINIBOT_APP},amd,...)), charger app_amd.so, puis « dialplan reload » ; "
            "MINIBOT_DIAL__AMD_CONTEXT doit le nommer")


INBOUND_WAIT_S = 5.0  # the probe reaches Stasis at once on a sound dialplan (well under 1 s, live)
_INBOUND_PROBE = "0100000000"  # any digits: [minibot-inbound] matches _X. and _+X.


async def _inbound_context(settings: Settings, *, app_free: bool) -> Finding:
    """A Local call into the inbound context must reach MiniBot's Stasis application with the
    arguments ["inbound", caller, called], as a call from the trunk does."""
    name, context, app = "Contexte entrant", settings.dial.inbound_context, settings.ari.app
    serves = bool(settings.dialer.inbound_scenario)
    if not app_free:
        return Finding(name, SKIP, f"non vérifié : l'application « {app} » est prise (un MiniBot tourne) et "
                       "recevrait l'appel de test", "relancer « minibot doctor » MiniBot arrêté")
    number = national(caller_id_number(settings.dial.caller_id) or "") or _INBOUND_PROBE
    stream = EventStream(_ari_config(settings, app), give_up_after=10)
    events = stream.subscribe(everything=True)
    reader = asyncio.create_task(stream.run(), name="doctor-inbound-events")
    channel_id = f"doctor-in-{uuid.uuid4().hex[:12]}"
    try:
        async with AriClient(_ari_config(settings, app)) as client:
            await stream.wait_connected(5)
            try:
                await client.originate(f"Local/{number}@{context}", app=app, app_args=["doctor"], timeout=5,
                                       channel_id=channel_id, other_channel_id=f"{channel_id}-2",
                                       caller_id="doctor <0100000001>")
            except AriError as exc:
                return Finding(name, FAIL, f"appel de test vers [{context}] refusé ({_short(exc)})",
                               "lire le journal d'Asterisk")
            outcome = await _inbound_outcome(events, channel_id)
    except (AriError, aiohttp.ClientError, OSError, TimeoutError) as exc:
        return Finding(name, FAIL, f"ARI ne répond plus ({_short(exc)})", "lire le journal d'Asterisk")
    finally:
        await _end_probe(settings, app, channel_id, events, reader)
    if isinstance(outcome, tuple):  # the StasisStart's arguments
        if outcome[:1] == ("inbound",):
            return Finding(name, OK, f"[{context}] mène un appel vers {number} à MiniBot (« {app} », "
                           f"arguments {', '.join(outcome)})")
        return Finding(name, FAIL, f"[{context}] mène l'appel à « {app} » sans l'argument inbound "
                       f"(arguments {list(outcome)})", _INBOUND_FIX)
    status = FAIL if serves else WARN
    later = "" if serves else " (sans effet tant que MINIBOT_DIALER__INBOUND_SCENARIO n'est pas réglé)"
    if outcome == 34:  # the dialplan's Hangup(34) after Stasis() failed: no such application
        return Finding(name, status, f"[{context}] existe mais Stasis() n'y trouve pas l'application « {app} »{later}",
                       f"le nom d'application dans extensions.conf ([{context}], Stasis(...)) doit être "
                       "MINIBOT_ARI__APP")
    if outcome is None:
        return Finding(name, status, f"[{context}] ne rend pas l'appel de test en {INBOUND_WAIT_S:g} s{later}",
                       _INBOUND_FIX)
    return Finding(name, status, f"le contexte [{context}] est absent, ou n'accepte pas le numéro {number}{later}",
                   _INBOUND_FIX)


async def _inbound_outcome(events, channel_id: str) -> tuple[str, ...] | int | None:
    """The arguments the inbound half (;2) enters Stasis with; else the cause its originated half
    (;1) died with (0: no such extension, 34: Stasis() failed); None when neither came in time."""
    try:
        async with asyncio.timeout(INBOUND_WAIT_S):
            while True:
                event = await events.get()
                if isinstance(event, StasisStart) and event.channel.id == f"{channel_id}-2":
                    return tuple(event.args)
                if isinstance(event, ChannelDestroyed) and event.channel.id == channel_id:
                    return event.cause
    except TimeoutError:
        return None


_INBOUND_FIX = ("inclure asterisk/extensions.conf de MiniBot (#include) avec son contexte [minibot-inbound] "
                "(Stasis(<application>,inbound,...)), puis « dialplan reload » ; le endpoint du trunk dans "
                "pjsip.conf a context = ce contexte, que MINIBOT_DIAL__INBOUND_CONTEXT nomme")


# -- the rest of the installation ---------------------------------------------------------------------

async def check_database(settings: Settings) -> Finding:
    from ..store import Database

    name = "Base de données"
    try:
        db = await asyncio.wait_for(Database.open(settings.database_dsn, settings.data_dir), 60)
    except Exception as exc:  # noqa: BLE001 - any failure is this line's answer
        return Finding(name, FAIL, f"inaccessible ({_short(exc)})",
                       "vérifier DATABASE_URL (postgresql://utilisateur:motdepasse@hôte/base) ou, sans elle, "
                       "le dossier de la base intégrée (MINIBOT_DATA_DIR)")
    try:
        async with db.pool.acquire() as conn:
            version = await conn.fetchval("SELECT max(version) FROM schema_migrations")
            server = await conn.fetchval("SHOW server_version")
    finally:
        await db.close()
    where = "intégrée" if settings.database_dsn is None else "DATABASE_URL"
    return Finding(name, OK, f"PostgreSQL {server.split()[0]} ({where}), schéma version {version}")


async def check_recognizer(settings: Settings) -> Finding:
    from ..speech.asr import VOSK_ALIASES, installed_whisper

    name = "Reconnaissance vocale"
    if settings.asr == "wyoming":
        if not settings.wyoming_asr:
            return Finding(name, FAIL, "asr=wyoming sans serveur", "MINIBOT_WYOMING_ASR=tcp://hôte:10300,...")
        return Finding(name, OK, f"serveurs Wyoming {settings.wyoming_asr} (chacun sondé par /health)")
    if settings.asr == "vosk-server":
        if not settings.vosk_url:
            return Finding(name, FAIL, "asr=vosk-server sans adresse", "MINIBOT_VOSK_URL=ws://hôte:2700")
        from ..speech.asr.vosk_server import VoskServerRecognizer

        try:
            detail = await asyncio.wait_for(VoskServerRecognizer(settings.vosk_url).probe(), 5)
        except Exception as exc:  # noqa: BLE001
            return Finding(name, FAIL, f"vosk-server injoignable à {settings.vosk_url} ({_short(exc)})",
                           "démarrer vosk-server ou corriger MINIBOT_VOSK_URL")
        return Finding(name, OK, f"vosk-server : {detail}")
    if settings.asr == "whisper":
        try:
            path = await asyncio.to_thread(installed_whisper, settings.models_path, settings.cache_dir,
                                           settings.whisper.size)
        except Exception as exc:  # noqa: BLE001 - the packaged model is missing or damaged, or not pulled
            return Finding(name, FAIL, f"whisper {settings.whisper.size} : {_short(exc)}",
                           f"minibot models pull whisper-{settings.whisper.size}")
    else:
        path = settings.vosk_model or settings.models_path / VOSK_ALIASES["vosk-fr"]
    if not await asyncio.to_thread(path.exists):
        return Finding(name, FAIL, f"{settings.asr} : modèle absent ({path})", "minibot models pull")
    return Finding(name, OK, f"{settings.asr}, modèle {path}")


async def check_voice(settings: Settings) -> Finding:
    from ..voice.voice import voice_from_settings
    from . import health

    name = "Voix"
    try:
        voice = await asyncio.to_thread(voice_from_settings, settings)
        component = await health.tts(voice.engine, probe=True).fn()
    except Exception as exc:  # noqa: BLE001
        return Finding(name, FAIL, f"{settings.tts.engine} : {_short(exc)}",
                       "installer le moteur de voix (minibot voice list) ou choisir MINIBOT_TTS__ENGINE=espeak")
    if isinstance(component, str) or component.status == "ok":
        return Finding(name, OK, in_french(component if isinstance(component, str) else component.detail))
    return Finding(name, FAIL, in_french(component.detail), "minibot voice list")


async def check_llm(settings: Settings) -> Finding:
    from . import health

    name = "Ollama"
    component = await health.llm(settings.llm).fn()
    if isinstance(component, str):
        return Finding(name, OK, in_french(component))
    if component.status == "disabled":
        return Finding(name, SKIP, "désactivé (MINIBOT_LLM__ENABLED=false) : les réponses restent scriptées")
    if component.status == "ok":
        return Finding(name, OK, in_french(component.detail))
    return Finding(name, WARN, in_french(component.detail),
                   f"démarrer Ollama (ollama serve) et « ollama pull {settings.llm.model} », ou "
                   "MINIBOT_LLM__ENABLED=false ; sans lui les appels continuent, sans réponses libres")


# bot.ops.health words its details for /health (monitoring reads them, in English); the doctor
# reuses its checks and says the same in French.
_HEALTH_FR = [
    (re.compile(r"^(.+?), voice (\S+)(?:, renders in (\d+) ms)?$"),
     lambda m: f"{m[1]}, voix {m[2]}" + (f", phrase d'essai synthétisée en {m[3]} ms" if m[3] else "")),
    (re.compile(r"^(.+?): rendered no audio$"), lambda m: f"{in_french(m[1])} : aucun son produit"),
    (re.compile(r"^Ollama at (\S+): HTTP (\d+)$"), lambda m: f"Ollama à {m[1]} répond HTTP {m[2]}"),
    (re.compile(r"^Ollama at (\S+): no answer in (\S+) s$"), lambda m: f"Ollama à {m[1]} : pas de réponse en {m[2]} s"),
    (re.compile(r"^Ollama at (\S+) lacks (\S+) \(run: .*\)$"), lambda m: f"Ollama à {m[1]} n'a pas le modèle {m[2]}"),
    (re.compile(r"^Ollama at (\S+), model (\S+)$"), lambda m: f"Ollama à {m[1]}, modèle {m[2]}"),
    (re.compile(r"^Ollama at (\S+): (.*)$"), lambda m: f"Ollama injoignable à {m[1]} ({m[2]})"),
]


def in_french(detail: str) -> str:
    """A health detail as the doctor says it (unknown wordings as they are: a speech server's own)."""
    for pattern, french in _HEALTH_FR:
        m = pattern.match(detail)
        if m:
            return french(m)
    return detail


Step = Callable[[Settings], Awaitable[Finding | list[Finding]]]


async def run_doctor(settings: Settings, *, steps: list[Step] | None = None) -> list[Finding]:
    """Every check, in the order an operator fixes things."""
    async def caller_id(s: Settings) -> Finding:
        return check_caller_id(s.dial.caller_id)

    findings: list[Finding] = []
    for step in steps or [check_asterisk, check_database, check_recognizer, check_voice, check_llm, caller_id]:
        found = await step(settings)
        findings.extend(found if isinstance(found, list) else [found])
    return findings
