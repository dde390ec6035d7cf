"""`minibot demo`: a whole campaign on a fresh machine, offline.

An embedded PostgreSQL (throwaway), the simulated Asterisk, and MiniBot itself: a contact file
is imported (with a bad row and a duplicate, to show the report), a campaign runs over it with
the real dialer, compliance gate, call control, listen path, brain and voice, each conversation
is printed as it happens, and the campaign's figures close the show.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.markup import escape

from ari.client import AriConfig
from ari.simulator import Busy, Human, Machine, NoAnswer, Say, SimulatedAsterisk
from audiosocket import AudioSocketServer

from ..call.call import mask
from ..call.config import CallConfig
from ..call.controller import CallController
from ..campaign import control
from ..campaign.conversations import CampaignConversations
from ..campaign.dialer import Dialer, DialerConfig
from ..campaign.retries import attempt_reason
from ..campaign.summary import stats_table
from ..compliance.consent import import_consents
from ..compliance.hours import CallingHours
from ..config import Settings
from ..contacts.importer import import_contacts
from ..i18n import _, current_language, format_slot
from ..i18n.timeline import timeline_entry
from ..speech.asr import AsrUnavailable, load_recognizer
from ..speech.asr.executor import recognition_executor
from ..speech.tts import TtsError
from ..store import Database
from ..store.campaigns import campaign_stats, get_campaign
from ..voice.voice import voice_from_settings

PARIS = ZoneInfo("Europe/Paris")
_PASSWORD = "demo-only"
_CALLER_ID = "+33162000000"  # ARCEP's canvassing range 01 62


@dataclass(frozen=True)
class DemoCallee:
    first_name: str
    last_name: str
    phone: str  # national form, as in a French spreadsheet
    what: str
    callee: object


CALLEES = [
    DemoCallee("Marie", "Durand", "06 12 00 00 01", "interested", Human(
        utterances=[Say("allo", at=0.3), Say("oui_daccord", after_prompt=True), Say("interesse", after_prompt=True)],
        hangup_when_idle=5)),
    DemoCallee("Paul", "Martin", "06 12 00 00 02", "objections, then declines", Human(
        utterances=[Say("bonjour_oui", at=0.3), Say("robot", after_prompt=True), Say("oui_daccord", after_prompt=True),
                    Say("pas_le_temps", after_prompt=True), Say("non_merci", after_prompt=True),
                    Say("non_merci", after_prompt=True)], hangup_when_idle=5)),
    DemoCallee("Luc", "Bernard", "06 12 00 00 03", "talks over the greeting", Human(
        utterances=[Say("allo", at=0.4), Say("non_merci", at=1.2, over_prompt=True)],
        echo_db=-10, echo_delay_ms=150, hangup_when_idle=6)),
    DemoCallee("Anne", "Petit", "06 12 00 00 04", "asks not to be called again", Human(
        # "Oui" when the bot asks "Vous ne souhaitez plus être appelé ?" (Whisper may garble the request).
        utterances=[Say("allo", at=0.3), Say("ne_plus_appeler", after_prompt=True),
                    Say("oui_daccord", after_prompt=True)], hangup_when_idle=5)),
    DemoCallee("Julie", "Moreau", "06 12 00 00 05", "asks to be called back", Human(
        utterances=[Say("allo", at=0.3), Say("rappelez", after_prompt=True)], hangup_when_idle=5)),
    DemoCallee("Jean", "Leroy", "06 12 00 00 06", "answering machine", Machine()),
    DemoCallee("Sophie", "Richard", "06 12 00 00 07", "busy", Busy(ring=0.5)),
    DemoCallee("Marc", "Dubois", "06 12 00 00 08", "no answer", NoAnswer()),
]
_SHOWN = ("dial", "answered", "AMD", "say", "heard", "understood", "barge-in", "answering machine", "voicemail",
          "result", "outcome", "bot hangs up", "no beep")


def _contact_file(folder: Path) -> Path:
    """The operator's spreadsheet export: French headers, `;`, cp1252, one bad number, one duplicate."""
    rows = ["Prénom;Nom;Téléphone;Société"]
    rows += [f"{c.first_name};{c.last_name};{c.phone};Démo SARL" for c in CALLEES]
    rows += ["Paul;Martin;06 12 00 00 02;Démo SARL", "Zoé;Lambert;06 12;Démo SARL"]
    path = folder / "contacts.csv"
    path.write_text("\n".join(rows) + "\n", encoding="cp1252")
    return path


def _consent_file(folder: Path) -> Path:
    """The proof the law asks for since 11 August 2026 (L223-1 C. consom.): each person called agreed
    beforehand, on Démo SARL's web form, in these words, a month ago."""
    given = (datetime.now(PARIS) - timedelta(days=30)).strftime("%d/%m/%Y %H:%M")
    rows = ["Téléphone;Date du consentement;Mode;Pour le compte de;Finalités;Texte accepté;Preuve"]
    rows += [f"{c.phone};{given};formulaire web;Démo SARL;présentation de l'offre;J'accepte d'être appelé par "
             f"Démo SARL pour découvrir ses offres.;form-2026-{i:04d}" for i, c in enumerate(CALLEES, 1)]
    path = folder / "consentements.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _business_clock() -> tuple[callable, str]:
    """Now, when the French calling hours allow it; otherwise a simulated weekday morning that moves
    on with real time (the gate is the real one: it would refuse a Sunday or 21:00)."""
    now = datetime.now(UTC)
    if not CallingHours().reasons(now):
        return (lambda: datetime.now(UTC)), _("maintenant")
    day = CallingHours().next_allowed(now + timedelta(hours=1)).astimezone(PARIS)
    start, t0 = day.replace(hour=10, minute=30, second=0, microsecond=0), time.monotonic()
    return (lambda: start + timedelta(seconds=time.monotonic() - t0)), \
        _("{when} (simulé : l'heure actuelle est hors des horaires d'appel français)").format(
            when=format_slot(start, str(PARIS)))


class _Printer:
    """Prints each call's timeline as it grows."""

    def __init__(self, console: Console, controller: CallController) -> None:
        self.console, self.controller = console, controller
        self.names = {_e164(c.phone): c.first_name for c in CALLEES}
        self.seen: dict[str, int] = {}

    def flush(self) -> None:
        """Print what is new in the calls in progress and in those that just ended."""
        records = [c.record for c in list(self.controller.calls.values())] + list(self.controller.records)
        for record in records:
            entries = record.timeline.entries
            start = self.seen.get(record.call_id, 0)
            for t, what in entries[start:]:
                if what.startswith(_SHOWN):
                    name = self.names.get(record.number, mask(record.number))
                    self.console.print(f"[cyan]{name:>7}[/] [dim]{t:6.2f} s[/]  {_style(what)}", highlight=False)
            self.seen[record.call_id] = len(entries)

    async def run(self) -> None:
        while True:
            self.flush()
            await asyncio.sleep(0.1)


def _style(what: str) -> str:
    """An entry of the call's timeline (English, the journal's words) coloured by kind, shown in words."""
    text = escape(timeline_entry(what))
    if what.startswith("heard: "):
        return f"[green]{_('appelé')}[/] {escape(what[7:])}"
    if what.startswith("say"):
        return f"[magenta]bot[/] {escape(what[4:] if current_language() != 'fr' else timeline_entry(what)[4:])}"
    if what.startswith(("result", "outcome")):
        return f"[bold]{text}[/]"
    if what.startswith(("barge-in", "AMD", "answering machine", "voicemail")):
        return f"[yellow]{text}[/]"
    return text


def _e164(national: str) -> str:
    from ..contacts.phones import to_e164

    return to_e164(national)


async def run_campaign_demo(settings: Settings, console: Console) -> int:
    console.print(_("[bold]Démonstration MiniBot[/] : une campagne de {n} correspondants simulés (PostgreSQL "
                    "intégré, Asterisk simulé, reconnaissance : {asr})").format(
        n=len(CALLEES), asr=settings.asr) + "\n")
    work = Path(tempfile.mkdtemp(prefix="minibot-demo-"))
    try:
        return await _demo(settings, console, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


async def _demo(settings: Settings, console: Console, work: Path) -> int:
    with recognition_executor(settings.asr_threads, settings.asr_nice) as pool:
        try:
            with console.status(_("démarrage de PostgreSQL, chargement de la reconnaissance, du scénario et de la "
                                  "voix...")):
                db = await Database.open(None, work)
                recognizer = await asyncio.to_thread(
                    load_recognizer, settings.asr, cache_dir=settings.cache_dir, models_dir=settings.models_path,
                    vosk_model=settings.vosk_model, executor=pool, workers=settings.asr_threads,
                    nice=settings.asr_nice, vosk_url=settings.vosk_url)
                conversations = CampaignConversations(voice_from_settings(settings), settings.llm)
                await conversations.brain("demo")
        except (AsrUnavailable, TtsError) as exc:
            console.print(f"[red]{_('erreur :')}[/] {exc}")
            return 1
        try:
            return await _campaign(settings, console, db, recognizer, conversations, work)
        finally:
            await conversations.aclose()
            await db.close()


async def _campaign(settings, console, db, recognizer, conversations, work) -> int:
    # A lawful campaign: consumers who consented to Démo SARL for this purpose, and a caller ID of
    # ARCEP's canvassing ranges (01 62); the checks of `minibot campaign create` run on it.
    campaign = await control.new_campaign(db, "Démo", "demo", max_concurrent_calls=4, calls_per_second=2,
                                          variables={}, legal_basis="consent", advertiser="Démo SARL",
                                          purpose="présentation de l'offre", caller_id=_CALLER_ID)
    report = await import_contacts(db, _contact_file(work), campaign_id=campaign.id)
    console.print(_("contacts.csv : {rows} lignes, {imported} importés, {duplicates} doublon (ligne {dup_line}), "
                    "{invalid} invalide (ligne {bad_line} : {reason})").format(
        rows=report.rows, imported=report.imported, duplicates=len(report.duplicates),
        dup_line=report.duplicates[0].line, invalid=len(report.invalid), bad_line=report.invalid[0].line,
        reason=report.invalid[0].reason))
    consents = await import_consents(db, _consent_file(work))
    console.print(f"consentements.csv: {consents.imported} consentements avec preuve importés "
                  f"(base légale: consentement, numéro présenté {_CALLER_ID})")
    await control.start(db, campaign.id)
    clock, when = _business_clock()
    console.print(_("campagne {id} EN COURS à {when} ; jusqu'à 4 appels à la fois").format(id=campaign.id, when=when)
                  + "\n")

    async with SimulatedAsterisk(password=_PASSWORD) as sim, AudioSocketServer("127.0.0.1", 0) as server:
        for c in CALLEES:
            sim.add_callee(f"PJSIP/{_e164(c.phone)}@trunk", c.callee)
        ari = AriConfig(url=sim.url, username="minibot", password=_PASSWORD)
        config = CallConfig(audiosocket_address=server.address, caller_id=f"MiniBot <{_CALLER_ID}>", ring_timeout=6,
                            vad=settings.vad, barge_in=settings.barge_in)
        async with CallController(ari, config, server, recognizer) as controller:
            printer = _Printer(console, controller)
            dialer = Dialer(db, controller.place_call, conversations, DialerConfig(max_calls=4, poll_interval=0.1),
                            clock=clock)
            tasks = [asyncio.create_task(dialer.run()), asyncio.create_task(printer.run())]
            try:
                async with asyncio.timeout(240):
                    while await _first_attempts_left(db, campaign.id):  # noqa: ASYNC110 - the state is in the database
                        await asyncio.sleep(0.2)
            except TimeoutError:
                console.print("[red]" + _("les appels ne se sont pas tous terminés en 4 minutes") + "[/]")
            await dialer.drain(30)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            printer.flush()
        leftovers = len(sim.live_channels()) + len(sim.live_bridges())

    console.print()
    console.print(stats_table(await get_campaign(db.pool, campaign.id), await campaign_stats(db.pool, campaign.id)))
    for row in await db.pool.fetch(
            """SELECT k.first_name, a.reason, a.due_at FROM attempts a JOIN contacts k ON k.id = a.contact_id
               WHERE a.campaign_id = $1 AND a.status = 'SCHEDULED' ORDER BY a.due_at""", campaign.id):
        console.print(_("prochain : {name}, {reason}, le {when}").format(
            name=row['first_name'], reason=attempt_reason(row['reason']), when=format_slot(row['due_at'], str(PARIS))))
    for row in await db.pool.fetch("SELECT phone, evidence FROM opt_outs"):
        console.print(_("opposition gardée pour {phone} : « {evidence} »").format(
            phone=mask(row['phone']), evidence=row['evidence']))
    for row in await db.pool.fetch("SELECT phone, revoked_source FROM consents WHERE revoked_at IS NOT NULL"):
        console.print(f"consentement retiré pour {mask(row['phone'])} ({row['revoked_source']})")
    law = await db.pool.fetchrow(
        """SELECT (SELECT count(*) FROM gate_decisions WHERE campaign_id = $1) AS decisions,
                  (SELECT count(*) FROM gate_decisions WHERE campaign_id = $1 AND allowed) AS allowed,
                  count(*) AS calls, count(*) FILTER (WHERE caller_id = $2) AS presented,
                  count(*) FILTER (WHERE answered_at IS NOT NULL) AS answered,
                  count(*) FILTER (WHERE disclosure_done_ms IS NOT NULL) AS disclosed
           FROM calls WHERE campaign_id = $1""", campaign.id, _CALLER_ID)
    # What `minibot compliance audit` would show the authority: each dial judged and kept, the number
    # presented, the AI disclosure heard to its end (a callee who hangs up first does not hear it).
    console.print(f"conformité: {law['decisions']} décisions du contrôle gardées ({law['allowed']} autorisées), "
                  f"numéro présenté {_CALLER_ID} sur {law['presented']}/{law['calls']} appels, "
                  f"mention IA entendue en entier sur {law['disclosed']}/{law['answered']} appels décrochés",
                  soft_wrap=True, highlight=False)
    console.print(_("canaux ou ponts restés dans Asterisk : {n}").format(n=leftovers))
    done = await db.pool.fetchval("SELECT count(*) FROM calls WHERE campaign_id = $1 AND status = 'ENDED'", campaign.id)
    # Every callee's call ended (a retry that fell due meanwhile may add one more).
    return 0 if leftovers == 0 and done >= len(CALLEES) else 1


async def _first_attempts_left(db: Database, campaign_id: int) -> bool:
    return bool(await db.pool.fetchval(
        """SELECT count(*) FROM attempts WHERE campaign_id = $1 AND number = 1
           AND status IN ('SCHEDULED', 'CLAIMED', 'DIALING')""", campaign_id))

